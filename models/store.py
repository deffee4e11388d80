"""Support model directory layout: one peft LoRA adapter, one head per task, config and metrics.

Files in a model directory:
- ``adapter_model.safetensors`` + ``adapter_config.json``: the LoRA weights, in peft's format;
- ``heads.safetensors``: every task head, keys ``<task>.linear.weight`` / ``<task>.linear.bias``;
- ``config.json``: base model, pooling, window, and per task its labels and `unknown` rule;
- ``metrics.json``: held-out figures; ``training_run.json``: the measured training cost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.errors import ModelError
from models.network import Head

HEADS_FILE = "heads.safetensors"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
PEFT_CONFIG_FILE = "adapter_config.json"
PEFT_WEIGHTS_FILE = "adapter_model.safetensors"


@dataclass
class TaskMeta:
    """One task's head: its labels and the rule that turns scores into `unknown`.

    `threshold`: below this max-softmax score the answer is `unknown` (0 = never);
    `margin`: below this gap between the two best scores the answer is `unknown` (0 = never).
    """

    labels: list[str]
    threshold: float = 0.0
    margin: float = 0.0
    rule: str = ""


@dataclass
class ModelMeta:
    """What a saved support model needs besides its weights."""

    base_model: str
    pooling: str
    max_length: int
    normalize: bool
    tasks: dict[str, TaskMeta]
    recipe: dict[str, Any] = field(default_factory=dict)
    operating_point: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        """Build from a config.json dict (raises KeyError/TypeError on a malformed one)."""
        tasks = {name: TaskMeta(**spec) for name, spec in data["tasks"].items()}
        return cls(**{**data, "tasks": tasks})


def save_model(
    out_dir: Path,
    peft_model: Any,
    heads: dict[str, Head],
    meta: ModelMeta,
    metrics: dict[str, Any],
) -> None:
    """Write LoRA weights (peft), every head, the config and the metrics into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    _portable_peft_config(out_dir, meta.base_model)
    state = {
        f"{task}.{key}": value.detach().cpu().contiguous()
        for task, head in heads.items()
        for key, value in head.state_dict().items()
    }
    save_file(state, str(out_dir / HEADS_FILE))
    write_meta(out_dir, meta)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=1) + "\n")


def write_meta(out_dir: Path, meta: ModelMeta) -> None:
    """(Re)write config.json, e.g. after choosing the operating point."""
    (out_dir / CONFIG_FILE).write_text(json.dumps(meta.to_dict(), indent=1) + "\n")


def _portable_peft_config(out_dir: Path, base_model: str) -> None:
    """Name the base by id (not this machine's path) and drop peft's generated README."""
    cfg_path = out_dir / PEFT_CONFIG_FILE
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = base_model
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    readme = out_dir / "README.md"
    if readme.is_file() and "peft" in readme.read_text().lower():
        readme.unlink()


def load_meta(model_dir: Path) -> ModelMeta:
    """Read and check a model directory's config; ModelError when it is not one."""
    for name in (CONFIG_FILE, HEADS_FILE, PEFT_CONFIG_FILE):
        if not (model_dir / name).is_file():
            raise ModelError(f"{model_dir}: not a support model directory (missing {name})")
    try:
        return ModelMeta.from_dict(json.loads((model_dir / CONFIG_FILE).read_text()))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{model_dir / CONFIG_FILE}: malformed config ({exc})") from exc


def load_metrics(model_dir: Path) -> dict[str, Any]:
    """The model's metrics.json, or {} when it has none."""
    path = model_dir / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def load_heads(model_dir: Path, meta: ModelMeta, device: torch.device) -> dict[str, Head]:
    """Build every task head of a saved model and load its weights."""
    state = load_file(str(model_dir / HEADS_FILE))
    heads: dict[str, Head] = {}
    for task, spec in meta.tasks.items():
        part = {k.split(".", 1)[1]: v for k, v in state.items() if k.split(".", 1)[0] == task}
        if not part:
            raise ModelError(f"{model_dir / HEADS_FILE}: no weights for task {task!r}")
        head = Head(part["linear.weight"].shape[1], len(spec.labels), meta.normalize)
        head.load_state_dict(part)
        heads[task] = head.to(device).eval()
    return heads
