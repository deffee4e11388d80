"""The classification network: (LoRA-adapted) encoder, pooling, optional L2 norm, linear head."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.encoder import pool


class Head(nn.Module):
    """Linear head over pooled features, optionally L2-normalised first (a cosine classifier)."""

    def __init__(self, hidden: int, n_labels: int, normalize: bool) -> None:
        """Create a zero-initialised head of shape (n_labels, hidden)."""
        super().__init__()
        self.normalize = normalize
        self.linear = nn.Linear(hidden, n_labels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return logits for pooled features."""
        if self.normalize:
            features = F.normalize(features, dim=-1)
        return self.linear(features)


def hidden_size(encoder: Any) -> int:
    """Return the encoder's hidden width from its config."""
    config = encoder.config
    for name in ("hidden_size", "dim", "d_model"):
        if hasattr(config, name):
            return int(getattr(config, name))
    raise ValueError("cannot find the hidden size in the encoder config")


def embed(encoder: Any, input_ids: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Run the encoder and pool its last hidden states."""
    out = encoder(input_ids=input_ids, attention_mask=mask)
    return pool(out.last_hidden_state, mask, pooling)


def task_logits(
    encoder: Any,
    heads: dict[str, Head],
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    pooling: str,
) -> dict[str, torch.Tensor]:
    """One encoder forward, then every head: {task: logits (batch, labels)}."""
    features = embed(encoder, input_ids, mask, pooling)
    return {task: head(features) for task, head in heads.items()}
