"""Training hyper-parameters (the recipe), serialisable to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# LoRA on the attention projections and both feed-forward layers of a BERT block.
BERT_TARGETS = r".*\.(query|key|value|attention\.output\.dense|intermediate\.dense|output\.dense)$"


@dataclass
class Recipe:
    """Everything that decides a training run besides the data."""

    pooling: str = "mean"
    max_length: int = 64
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: str = BERT_TARGETS
    lr: float = 1e-3
    head_lr: float = 1e-2
    weight_decay: float = 0.01
    epochs: int = 3
    batch_size: int = 32
    ood_weight: float = 0.5
    # After the joint epochs: the intent head alone, on frozen features of the final encoder.
    head_refit_epochs: int = 0
    head_refit_lr: float = 1e-3
    warmup_ratio: float = 0.06
    schedule: str = "linear"
    label_smoothing: float = 0.1
    head_init: str = "centroid"
    normalize: bool = True
    head_scale: float = 20.0
    patience: int = 2
    bucket: bool = True
    seed: int = 13

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Build a recipe from a dict, ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
