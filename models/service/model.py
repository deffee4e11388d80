"""The served model: the classifier plus what the service reports and records about it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.classifier import Classifier
from models.encoder import load_tokenizer
from models.errors import ModelError
from models.paths import ADAPTERS_DIR
from models.service.settings import ServiceSettings
from models.store import CONFIG_FILE, METRICS_FILE, AdapterMeta, load_meta
from models.training_cost import adapter_version


@dataclass(frozen=True)
class Adapter:
    """One loaded adapter's description."""

    task: str
    meta: AdapterMeta
    version: str
    metrics: dict[str, Any]


@dataclass
class ServedModel:
    """A loaded classifier with its tokenizer, adapters and identity."""

    classifier: Classifier
    tokenizer: Any
    adapters: dict[str, Adapter]

    @property
    def model_name(self) -> str:
        """The base model id."""
        return next(iter(self.adapters.values())).meta.base_model

    @property
    def adapter_versions(self) -> str:
        """``task@version`` of every adapter, e.g. ``intent@1a2b3c,sentiment@4d5e6f``."""
        return ",".join(f"{a.task}@{a.version}" for a in self.adapters.values())

    @property
    def model_version(self) -> str:
        """A short hash naming this exact set of adapters."""
        return hashlib.sha256(self.adapter_versions.encode()).hexdigest()[:12]

    @property
    def device(self) -> str:
        """The device the forward pass runs on."""
        return str(self.classifier.device)

    @property
    def tasks(self) -> list[str]:
        """Loaded task names."""
        return list(self.adapters)

    def window(self, task: str) -> int:
        """The task's token window: longer texts are truncated."""
        return self.adapters[task].meta.max_length

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text before truncation (special tokens included)."""
        encoded = self.tokenizer(texts, add_special_tokens=True, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]


def adapter_dirs(settings: ServiceSettings) -> dict[str, Path]:
    """{task: directory} under ``service.adapters_dir`` (default: the shipped adapters)."""
    root = settings.adapters_dir or ADAPTERS_DIR
    found = (
        {d.name: d for d in sorted(root.iterdir()) if (d / CONFIG_FILE).is_file()}
        if root.is_dir()
        else {}
    )
    if not found:
        raise ModelError(f"{root}: no adapters found (expected {root}/<task>/{CONFIG_FILE})")
    return found


def load_served_model(settings: ServiceSettings) -> ServedModel:
    """Load every adapter under the configured directory onto the configured device."""
    dirs = adapter_dirs(settings)
    classifier = Classifier(dirs, device=settings.device, mode="merged")
    adapters = {task: _describe(task, path) for task, path in dirs.items()}
    base = next(iter(adapters.values())).meta.base_model
    return ServedModel(classifier, load_tokenizer(base), adapters)


def _describe(task: str, path: Path) -> Adapter:
    meta = load_meta(path)
    metrics_path = path / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Adapter(task, meta, _version(path), metrics)


def _version(path: Path) -> str:
    return adapter_version(path)
