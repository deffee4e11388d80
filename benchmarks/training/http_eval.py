"""Score a labelled CSV through a running model service, as a customer's messages meet it.

Usage: python -m benchmarks.training.http_eval --url http://127.0.0.1:8765 --task intent \
           --data FILE.csv [--data MORE.csv] [--out RESULTS.jsonl] [--batch 32]
Each row is sent as part of a `POST /v1/classify` (`texts`, `tasks: [TASK]`); the served label is
compared with the gold label (`unknown` counts wrong; for out-of-scope files, give `--ood` and the
figure is the share answered `unknown`). One JSON line per file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx

from models.data import load_rows
from models.metrics import UNKNOWN, classification_metrics


def served_labels(url: str, task: str, texts: list[str], batch: int) -> list[str]:
    """The service's label of `task` for each text, in order."""
    labels: list[str] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for start in range(0, len(texts), batch):
            body = {"texts": texts[start : start + batch], "tasks": [task]}
            response = client.post("/v1/classify", json=body)
            response.raise_for_status()
            labels += [r["predictions"][task]["label"] for r in response.json()["results"]]
    return labels


def score(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Figures of one file."""
    rows = load_rows(path, need_label=not args.ood)
    pred = served_labels(args.url, args.task, [r.text for r in rows], args.batch)
    if args.ood:
        flagged = pred.count(UNKNOWN) / len(rows)
        return {"file": path.name, "n": len(rows), "flagged_unknown": flagged}
    gold = [r.label or "" for r in rows]
    m = classification_metrics(gold, pred, sorted(set(gold)))
    keep = ("n", "accuracy", "macro_f1", "macro_recall", "unknown_rate")
    return {"file": path.name, "task": args.task, **{k: m[k] for k in keep}}


def main() -> None:
    """Score every file and print (and optionally append) one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--task", required=True)
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--ood", action="store_true", help="files hold out-of-scope texts only")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    for path in args.data:
        line = score(path, args)
        print(json.dumps(line), flush=True)
        if args.out:
            with args.out.open("a") as handle:
                handle.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
