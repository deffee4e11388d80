"""Padding-free batches: several texts packed into one sequence, kept apart by the attention mask.

A padded batch computes every row at the width of its longest text; on short customer messages
(BANKING77: 15 tokens on average, up to 79) a batch of 8 is 61 % real tokens, and the encoder's
cost grows with the tokens it computes. Packing concatenates texts into sequences of at most
`PACK_TOKENS` tokens; a block-diagonal attention bias keeps each text attending to itself only,
position ids restart at 0 for each text, and a pooling matrix averages each text's own tokens
(or takes its first token for `cls` pooling). The logits equal the padded forward's up to float
reassociation (benchmarks/service/packing.py measures both; tests/service/test_engine.py checks
that a text answers packed as it does alone, tests/models/test_packing.py the feed itself).
The same idea as "padding-free" training collators (position ids restarting per text, e.g.
transformers' DataCollatorWithFlattening), here with an explicit mask so any attention kernel
gives the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Tokens per packed sequence: attention inside a pack grows with its square, so a pack stays
# short. On batches of 32 and 64 messages, 128 served 1.22x and 1.15x the padded buckets' texts/s,
# 256 1.11x and 1.09x, 512 0.98x and 0.91x; up to 8 messages (one pack) all three were alike
# (benchmarks/results/packing.jsonl, the run at 2026-12-01 14:06, AVX2-only EPYC).
PACK_TOKENS = 128
MASKED = float(np.finfo(np.float32).min)  # additive bias: attention weight 0 after softmax


@dataclass(frozen=True)
class PackedFeed:
    """The inputs of a packed forward, for P packs of width T and n texts.

    input_ids, position_ids: int64 (P, T); attention_bias: float32 (P, 1, T, T), 0 where a
    token may attend and MASKED elsewhere; pool: float32 (n, P*T), text i's pooling weights
    over the flattened tokens."""

    input_ids: np.ndarray
    position_ids: np.ndarray
    attention_bias: np.ndarray
    pool: np.ndarray

    def as_inputs(self) -> dict[str, np.ndarray]:
        """The ONNX graph's feed, by input name."""
        return {
            "input_ids": self.input_ids,
            "position_ids": self.position_ids,
            "attention_bias": self.attention_bias,
            "pool": self.pool,
        }


def packs(lengths: Sequence[int], limit: int = PACK_TOKENS) -> list[list[int]]:
    """Text indices grouped into as few packs as the total needs at `limit` tokens each, longest
    text first into the emptiest pack (LPT), so packs come out of even length: no two differ by
    more than the longest text, and a pack may pass `limit` by less than that. Raises ValueError
    on an empty text."""
    if any(length <= 0 for length in lengths):
        raise ValueError("every text needs at least one token")
    count = max(1, math.ceil(sum(lengths) / limit)) if lengths else 0
    groups: list[list[int]] = [[] for _ in range(count)]
    filled = [0] * count
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        emptiest = min(range(count), key=filled.__getitem__)
        groups[emptiest].append(index)
        filled[emptiest] += lengths[index]
    return [sorted(group) for group in groups if group]


def packed_feed(
    rows: Sequence[Sequence[int]], *, pooling: str, pad_id: int, limit: int = PACK_TOKENS
) -> PackedFeed:
    """The packed inputs for `rows` (each text's token ids, special tokens included) under
    `pooling` ("mean" or "cls"); ValueError for another pooling or an empty row."""
    if pooling not in ("mean", "cls"):
        raise ValueError(f"unknown pooling {pooling!r} (use 'mean' or 'cls')")
    groups = packs([len(row) for row in rows], limit)
    width = max(sum(len(rows[i]) for i in group) for group in groups)
    ids = np.full((len(groups), width), pad_id, dtype=np.int64)
    positions = np.zeros((len(groups), width), dtype=np.int64)
    segment = np.full((len(groups), width), -1, dtype=np.int64)  # -1: padding after a pack
    pool = np.zeros((len(rows), len(groups) * width), dtype=np.float32)
    for pack, group in enumerate(groups):
        start = 0
        for index in group:
            length = len(rows[index])
            ids[pack, start : start + length] = rows[index]
            positions[pack, start : start + length] = np.arange(length)
            segment[pack, start : start + length] = index
            flat = pack * width + start
            if pooling == "mean":
                pool[index, flat : flat + length] = 1.0 / length
            else:
                pool[index, flat] = 1.0
            start += length
    same = segment[:, :, None] == segment[:, None, :]
    bias = np.where(same, np.float32(0.0), np.float32(MASKED))[:, None, :, :]
    return PackedFeed(ids, positions, bias.astype(np.float32, copy=False), pool)
