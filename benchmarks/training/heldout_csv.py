"""Write the seeded held-out part of one or more labelled CSVs to a new CSV (for `eval`).

Usage: python -m benchmarks.training.heldout_csv OUT.csv DATA.csv [DATA2.csv ...]
       [--source-filter NAME]   (keep held-out rows from files whose path contains NAME)
"""

from __future__ import annotations

import argparse
import csv

from models.data import load_many
from models.recipe import Recipe
from models.split import stratified_split


def main() -> None:
    """Recreate the training split (same strata, fraction and seed) and write its held-out rows."""
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("data", nargs="+")
    ap.add_argument("--source-filter", default="")
    args = ap.parse_args()
    rows = load_many(args.data)
    recipe = Recipe()
    _, held = stratified_split(
        [(r.source, r.label) for r in rows], recipe.held_out_fraction, recipe.seed
    )
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in held:
            if args.source_filter in rows[i].source:
                writer.writerow([rows[i].text, rows[i].label])


if __name__ == "__main__":
    main()
