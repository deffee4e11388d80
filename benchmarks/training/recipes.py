"""Run one training recipe and append its figures as a JSON line (the recipe table's source).

Usage: python -m benchmarks.training.recipes --task intent --data CSV [--data CSV2]
           --log /tmp/recipes.jsonl [--out DIR] [key=value ...]   (keys: fields of Recipe)
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields

import torch

from models.recipe import Recipe
from models.train import train


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """Turn key=value strings into typed Recipe overrides."""
    types = {f.name: f.type for f in fields(Recipe)}
    out: dict[str, object] = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        kind = str(types[key])
        if value == "None":
            out[key] = None
        elif "bool" in kind:
            out[key] = value.lower() in ("1", "true", "yes")
        elif "int" in kind:
            out[key] = int(value)
        elif "float" in kind:
            out[key] = float(value)
        else:
            out[key] = value
    return out


def main() -> None:
    """Parse arguments, train, log one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", required=True)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--name", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    overrides = parse_overrides(args.overrides)
    recipe = Recipe.from_dict({**Recipe().to_dict(), **overrides})
    started = time.strftime("%H:%M:%S")
    res = train(args.task, args.data, args.out, recipe=recipe)
    m = res.metrics
    line = {
        "name": args.name,
        "started": started,
        "overrides": overrides,
        "accuracy": round(m["accuracy"], 4),
        "macro_f1": round(m["macro_f1"], 4),
        "by_source": m.get("by_source"),
        "best_epoch": res.best_epoch,
        "history": m["history"],
        "time_per_epoch_s": m["time_per_epoch_s"],
        "wall_s": round(res.wall_time_s, 1),
        "n_train": res.n_train,
        "threshold": res.threshold,
    }
    with open(args.log, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    print(json.dumps(line))


if __name__ == "__main__":
    main()
