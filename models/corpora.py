"""Training corpora of the multi-task model and how each epoch draws from them.

A `Corpus` is one data set in one role: it teaches the `intent` head, the `sentiment` head, or is
`ood` text (off-topic for a bank) used for outlier exposure of the intent head. Large corpora are
drawn `per_epoch` rows at a time, walking a seeded permutation, so successive epochs see new rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.data import Row

INTENT, SENTIMENT, OOD = "intent", "sentiment", "ood"
ROLES = (INTENT, SENTIMENT, OOD)


@dataclass
class Corpus:
    """One data set in one role, with its training rows and its held-out rows."""

    name: str
    role: str
    train: list[Row]
    held: list[Row] = field(default_factory=list)
    per_epoch: int | None = None
    own_data: bool = False  # written or labelled by the team (priced), not a public data set

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"corpus {self.name}: role must be one of {ROLES}, got {self.role!r}")

    def draw(self, epoch: int, seed: int) -> list[Row]:
        """The rows of 0-based `epoch`: all of them, or the epoch's slice of a seeded permutation
        repeated end to end (so `per_epoch` above the corpus size over-samples it)."""
        if self.per_epoch is None or not self.train:
            return list(self.train)
        n = len(self.train)
        order = np.random.default_rng(seed).permutation(n)
        start = (epoch * self.per_epoch) % n
        tiled = np.tile(order, (start + self.per_epoch) // n + 1)
        return [self.train[int(i)] for i in tiled[start : start + self.per_epoch]]


@dataclass(frozen=True)
class Example:
    """One training example: its text, the role it plays, and its label (None for ood)."""

    text: str
    role: str
    label: str | None


def epoch_examples(corpora: list[Corpus], epoch: int, seed: int) -> list[Example]:
    """Every corpus's draw for `epoch`, as examples."""
    return [
        Example(row.text, corpus.role, row.label)
        for k, corpus in enumerate(corpora)
        for row in corpus.draw(epoch, seed + 1000 * k)
    ]


def task_labels(corpora: list[Corpus], role: str) -> list[str]:
    """The sorted label set taught by the corpora of one role."""
    return sorted({r.label for c in corpora if c.role == role for r in c.train if r.label})
