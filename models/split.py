"""Seeded stratified train / held-out split."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

DEFAULT_FRACTION = 0.1
DEFAULT_SEED = 13


def stratified_split(
    keys: Sequence[Hashable], fraction: float = DEFAULT_FRACTION, seed: int = DEFAULT_SEED
) -> tuple[list[int], list[int]]:
    """Return (train indices, held-out indices): `fraction` of every stratum, seeded.

    Each stratum (e.g. label, or (source, label)) contributes round(fraction * size) rows to the
    held-out part, at least one when it has two or more rows; a singleton stays in train.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    held: list[int] = []
    for key in sorted(groups, key=repr):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        n_held = round(fraction * len(idx))
        if len(idx) >= 2:
            n_held = min(max(n_held, 1), len(idx) - 1)
        held.extend(int(i) for i in idx[:n_held])
    held_set = set(held)
    train = [i for i in range(len(keys)) if i not in held_set]
    return train, sorted(held)
