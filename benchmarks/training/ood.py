"""Share of out-of-scope texts answered `unknown` by a task's calibrated threshold.

Usage: python -m benchmarks.training.ood --task intent CSV [CSV ...] [--n 500] [--adapter DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from models.classifier import Classifier
from models.data import load_rows
from models.paths import default_adapter_dir


def main() -> None:
    """Print the unknown rate over the first --n texts of each file."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", required=True)
    ap.add_argument("--adapter", type=Path, default=None)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("data", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    clf = Classifier({args.task: args.adapter or default_adapter_dir(args.task)}, device="cpu")
    out: dict[str, object] = {"task": args.task, "threshold": clf.threshold(args.task)}
    for path in args.data:
        texts = [r.text for r in load_rows(path, need_label=False)][: args.n]
        preds = clf.predict(texts, [args.task])
        unknown = sum(p.tasks[args.task].label == "unknown" for p in preds)
        out[Path(path).parent.name] = {
            "n": len(texts),
            "unknown_rate": round(unknown / len(texts), 3),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
