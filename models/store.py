"""Adapter directory layout: peft LoRA weights, head weights, labels, config and metrics."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.errors import ModelError
from models.network import Head

HEAD_FILE = "head.safetensors"
LABELS_FILE = "labels.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
PEFT_CONFIG_FILE = "adapter_config.json"


@dataclass
class AdapterMeta:
    """What a saved adapter needs besides its weights."""

    task: str
    base_model: str
    labels: list[str]
    pooling: str
    max_length: int
    normalize: bool
    threshold: float
    threshold_rule: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)


def save_adapter(
    out_dir: Path, peft_model: Any, head: Head, meta: AdapterMeta, metrics: dict[str, Any]
) -> None:
    """Write LoRA weights (peft), head weights, labels, config and metrics into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    _portable_peft_config(out_dir, meta.base_model)
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(out_dir / HEAD_FILE))
    (out_dir / LABELS_FILE).write_text(json.dumps(meta.labels, indent=1) + "\n")
    (out_dir / CONFIG_FILE).write_text(json.dumps(asdict(meta), indent=1) + "\n")
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=1) + "\n")


def _portable_peft_config(out_dir: Path, base_model: str) -> None:
    """Name the base by id (not this machine's path) and drop peft's generated README."""
    cfg_path = out_dir / PEFT_CONFIG_FILE
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = base_model
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    readme = out_dir / "README.md"
    if readme.is_file() and "peft" in readme.read_text().lower():
        readme.unlink()


def load_meta(adapter_dir: Path) -> AdapterMeta:
    """Read and check an adapter directory's config."""
    for name in (CONFIG_FILE, HEAD_FILE, PEFT_CONFIG_FILE):
        if not (adapter_dir / name).is_file():
            raise ModelError(f"{adapter_dir}: not an adapter directory (missing {name})")
    data = json.loads((adapter_dir / CONFIG_FILE).read_text())
    return AdapterMeta(**data)


def load_head(adapter_dir: Path, meta: AdapterMeta, device: torch.device) -> Head:
    """Build the head of a saved adapter and load its weights."""
    state = load_file(str(adapter_dir / HEAD_FILE))
    hidden = state["linear.weight"].shape[1]
    head = Head(hidden, len(meta.labels), meta.normalize)
    head.load_state_dict(state)
    return head.to(device).eval()
