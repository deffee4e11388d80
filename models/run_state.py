"""What the training steps hand each other: the prepared labels and tokenizer, the built network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from models.network import Head


@dataclass
class Prepared:
    """Labels per task and the tokenizer, shared by every later step."""

    labels: dict[str, list[str]]
    tokenizer: Any
    pad_id: int


@dataclass
class Built:
    """The trainable network and its optimiser."""

    model: Any
    heads: dict[str, Head]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    device: torch.device
