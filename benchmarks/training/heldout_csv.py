"""Write the held-out part of every corpus of the support model's data plan to CSV files.

Usage: python -m benchmarks.training.heldout_csv OUT_DIR [--data-root ../shared/data]
Writes OUT_DIR/<corpus>.csv (`text,label`; out-of-domain corpora `text` only) with exactly the
rows `costbot train` held out, so `costbot eval --task T --data OUT_DIR/<corpus>.csv` reproduces
the model card's figures.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from models.corpora import OOD
from models.presets import support_corpora


def main() -> None:
    """Rebuild the corpora (same files, seed and splits) and write each held-out part."""
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for corpus in support_corpora(args.data_root):
        if not corpus.held:
            continue
        path = args.out / f"{corpus.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            labelled = corpus.role != OOD
            writer.writerow(["text", "label"] if labelled else ["text"])
            for row in corpus.held:
                writer.writerow([row.text, row.label] if labelled else [row.text])
        print(f"{path}: {len(corpus.held)} rows")


if __name__ == "__main__":
    main()
