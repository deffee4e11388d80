"""Length-bucketed batching: similar lengths share a batch, so little padding is computed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def inference_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Split indices sorted by length into consecutive batches."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def fitted_batches(
    lengths: Sequence[int], max_rows: int, max_padding: float, forward_tokens: float = 0.0
) -> list[list[int]]:
    """Indices sorted by length, cut into batches of at most `max_rows` whose padding stays
    within `max_padding` of the tokens each computes (a batch is as wide as its longest row).
    A cut for padding is made only where it saves more than `forward_tokens` padded tokens
    (the rows already in the batch times the width the next row adds): a forward has a fixed
    cost, so a small batch is cheaper kept whole. A row is never split off alone to save
    padding it does not waste. max_padding >= 1: cut by rows only, as `inference_batches`."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    found: list[list[int]] = []
    current: list[int] = []
    real = 0
    for index in order:
        rows, width = len(current) + 1, lengths[index]
        padding = 1 - (real + width) / (rows * width) if width else 0.0
        saved = (rows - 1) * (width - lengths[current[-1]]) if current else 0
        if current and (rows > max_rows or (padding > max_padding and saved > forward_tokens)):
            found.append(current)
            current, real = [], 0
        current.append(index)
        real += width
    return [*found, current] if current else found


def training_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, pool_batches: int = 50
) -> list[list[int]]:
    """Shuffle, sort by length inside pools of `pool_batches` batches, then shuffle batch order."""
    idx = rng.permutation(len(lengths))
    pool_size = batch_size * pool_batches
    batches: list[list[int]] = []
    for start in range(0, len(idx), pool_size):
        chunk = sorted(idx[start : start + pool_size].tolist(), key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def collate(
    ids: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists into (input_ids, attention_mask) tensors on `device`."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.tensor(list(seq), dtype=torch.long)
        mask[row, : len(seq)] = 1
    return input_ids.to(device), mask.to(device)
