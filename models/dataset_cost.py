"""What the data sets a training run used cost: annotation is a cost of a dataset version.

A public data set cost the team nothing to label (provenance "public dataset", zero). The team's
own data sets in `models/datasets/` carry their labels × the configured price per label, once per
version: a run lists the versions it used, and reports charge each version once however many runs
used it (`costing/roi_one_offs.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costing.cost_model import training_data_cost
from costing.prices import Prices
from models.presets import DATASETS_DIR

PUBLIC = "public dataset"
OWN = "own annotation (labels × configured price per label)"


@dataclass(frozen=True)
class OwnDataset:
    """A data set the team made: its folder and the CSV files whose rows are its labels/items."""

    folder: str
    label_files: tuple[str, ...]

    def files(self, root: Path) -> list[Path]:
        return [root / self.folder / name for name in self.label_files]


# Corpus name (as in models/presets.py) -> the team's data set behind it; see each DATASHEET.md.
OWN_DATASETS = {
    # 2,999 first-pass labels + the 300 of the blind second pass (both were made).
    "banking77-sentiment": OwnDataset(
        "banking77_sentiment", ("annotations.csv", "second_pass.csv")
    ),
    # 400 training + 250 held-out written queries.
    "out-of-scope": OwnDataset("out_of_scope", ("train.csv", "heldout.csv")),
}


def dataset_version(files: list[Path]) -> str:
    """A content hash of a data set's files: a new version whenever a label changes."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def count_labels(files: list[Path]) -> int:
    """Data rows (lines after each CSV's header) of the files: the labels or items made."""
    return sum(max(len(path.read_text().splitlines()) - 1, 0) for path in files)


def dataset_entries(
    corpora: list[str], prices: Prices, *, root: Path = DATASETS_DIR
) -> list[dict[str, Any]]:
    """One entry per corpus name for TrainingRun.datasets: {name, version, provenance, labels,
    annotation_pico (integer pico-units of ``currency``), currency}; public data sets are zero."""
    return [_entry(name, prices, root=root) for name in sorted(corpora)]


def _entry(name: str, prices: Prices, *, root: Path) -> dict[str, Any]:
    own = OWN_DATASETS.get(name)
    if own is None:
        return _row(name, "", PUBLIC, labels=0, pico=0, currency=prices.currency)
    files = own.files(root)
    labels = count_labels(files)
    cost = training_data_cost(prices, items=labels, labels=labels)
    return _row(
        name, dataset_version(files), OWN, labels=labels, pico=cost.pico, currency=prices.currency
    )


def _row(
    name: str, version: str, provenance: str, *, labels: int, pico: int, currency: str
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "provenance": provenance,
        "labels": labels,
        "annotation_pico": pico,
        "currency": currency,
    }
