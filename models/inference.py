"""Batched, length-bucketed forward passes that return class probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from models.batching import collate, inference_batches
from models.network import embed


@torch.inference_mode()
def embed_all(
    encoder: Any,
    ids: Sequence[Sequence[int]],
    pad_id: int,
    pooling: str,
    device: torch.device,
    batch_size: int = 64,
) -> torch.Tensor:
    """Return pooled embeddings (n, hidden) for token id lists, in input order."""
    was_training = encoder.training
    encoder.eval()
    out: list[torch.Tensor | None] = [None] * len(ids)
    for batch in inference_batches([len(x) for x in ids], batch_size):
        input_ids, mask = collate([ids[i] for i in batch], pad_id, device)
        vecs = embed(encoder, input_ids, mask, pooling).float().cpu()
        for row, i in enumerate(batch):
            out[i] = vecs[row]
    encoder.train(was_training)
    return torch.stack([v for v in out if v is not None])
