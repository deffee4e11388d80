"""The served model: the support classifier plus what the service reports and records about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from models.classifier import Classifier
from models.encoder import normalize
from models.paths import default_model_dir
from models.service.engine import EngineChoice, attach_engine, choose_engine, cpu_flags
from models.service.settings import ServiceSettings
from models.store import load_metrics
from models.training_cost import adapter_version

MODEL_NAME = "support"
# Below this many texts one `encode` a text beats `encode_batch`, which wakes the tokenizer's
# rayon threads (benchmarks/service/tokenize_idle.py: each call after 2 ms idle, as between
# requests; results in benchmarks/results/tokenize_idle.jsonl).
PARALLEL_TOKENIZE_FROM = 32


@dataclass
class ServedModel:
    """A loaded support model (one encoder, one head per task) with its identity and figures."""

    classifier: Classifier
    path: Path
    version: str
    metrics: dict[str, Any] = field(default_factory=dict)
    engine: EngineChoice = field(default_factory=lambda: EngineChoice("torch", "fp32", "given"))

    @property
    def model_name(self) -> str:
        """The base model id."""
        return self.classifier.meta.base_model

    @property
    def adapter_versions(self) -> str:
        """``support@<weights hash>``: the one adapter every task is answered with."""
        return f"{MODEL_NAME}@{self.version}"

    @property
    def model_version(self) -> str:
        """A short hash naming these exact weights."""
        return self.version

    @property
    def device(self) -> str:
        """The device the forward pass runs on."""
        return str(self.classifier.device)

    @property
    def tasks(self) -> list[str]:
        """Task names answered by the model."""
        return self.classifier.tasks

    def window(self, task: str) -> int:
        """The model's token window (every task shares it): longer texts are truncated."""
        return self.classifier.meta.max_length

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text before truncation (special tokens included), counted as the
        classifier tokenizes it (after the same text normalisation)."""
        return [len(ids) for ids in self.encode(texts)]

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Each text's untruncated token ids (normalized, special tokens included), as the
        classifier's tokenizer gives them: `Classifier.predict(full_ids=...)` takes them."""
        counter = self._counter
        if counter is None:  # a tokenizer without a fast backend
            tokenizer = self.classifier.tokenizer
            found = tokenizer([normalize(t) for t in texts], add_special_tokens=True, verbose=False)
            return [list(ids) for ids in found["input_ids"]]
        if len(texts) < PARALLEL_TOKENIZE_FROM:  # a few texts: no rayon thread to wake
            return [counter.encode(normalize(text)).ids for text in texts]
        return [found.ids for found in counter.encode_batch([normalize(t) for t in texts])]

    @cached_property
    def _counter(self) -> Tokenizer | None:
        """The classifier's tokenizer for counting (see `counting_tokenizer`)."""
        return counting_tokenizer(self.classifier.tokenizer)


def counting_tokenizer(tokenizer: Any) -> Tokenizer | None:
    """A copy of a transformers tokenizer's fast backend that never truncates or pads (None
    without one): called directly it counts in half the time transformers' wrapper takes (18 vs
    33 µs a short text, measured), and being its own object it is never reconfigured by the
    forward thread's calls."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


def model_dir(settings: ServiceSettings) -> Path:
    """The configured model directory (``service.adapters_dir``), or the shipped one."""
    return settings.adapters_dir or default_model_dir()


def load_served_model(settings: ServiceSettings) -> ServedModel:
    """Load the configured model onto the configured device, answering with the engine chosen
    for this machine (ModelError if it is not a model, or the settings cannot run here)."""
    path = model_dir(settings)
    classifier = Classifier(path, device=settings.device)
    version = adapter_version(path)
    choice = choose_engine(settings, device_type=classifier.device.type, flags=cpu_flags())
    choice = attach_engine(classifier, choice, version=version, settings=settings)
    return ServedModel(classifier, path, version, load_metrics(path), engine=choice)
