"""Train recipe variants of the support model side by side and print their held-out figures.

Usage:
    python -m benchmarks.training.support_sweep --data-root ../shared/data --out RESULTS.jsonl \
        [--base PATH] [--device auto] [--variant '{"name": "r32", "lora_r": 32}' ...]

Each variant is the shipped recipe (`models.presets.support_recipe`) with the given fields
overridden; `per_epoch` overrides corpora sizes, e.g. `{"per_epoch": {"goemotions": 15000}}`.
One JSON line per variant: the recipe, wall time, device and the held-out metrics.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from models.presets import support_corpora, support_recipe
from models.report import EscalationCosts
from models.train import train

SUMMARY = (
    ("intent", "top1_accuracy"),
    ("intent", "served_accuracy"),
    ("intent", "unknown_rate"),
)


def run_variant(args: argparse.Namespace, variant: dict[str, Any]) -> dict[str, Any]:
    """Train one variant and return its result line."""
    variant = dict(variant)
    name = variant.pop("name", "default")
    sizes = variant.pop("per_epoch", {})
    corpora = support_corpora(args.data_root)
    for corpus in corpora:
        corpus.per_epoch = sizes.get(corpus.name, corpus.per_epoch)
    recipe = support_recipe()
    for key, value in variant.items():
        setattr(recipe, key, value)
    started = time.perf_counter()
    result = train(
        corpora,
        costs=EscalationCosts(escalate=args.escalation_cost, wrong=args.wrong_answer_cost),
        base=args.base,
        recipe=recipe,
        device=args.device,
        progress=False,
        out_dir=args.save / name if args.save else None,
    )
    return {
        "variant": name,
        "recipe": recipe.to_dict(),
        "per_epoch": {c.name: c.per_epoch for c in corpora},
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": platform.processor() or platform.machine(),
        "metrics": result.metrics,
    }


def summary(line: dict[str, Any]) -> str:
    """One readable line of the key figures."""
    m = line["metrics"]
    parts = [f"{line['variant']}: {line['wall_s']}s"]
    parts += [f"{task}.{key} {m[task][key]:.4f}" for task, key in SUMMARY]
    parts += [
        f"ood[{k}] {v['flagged_unknown']:.3f}/auc {v['auroc']}"
        for k, v in m["out_of_scope"].items()
    ]
    parts += [
        f"{k} acc {v['accuracy']:.4f} mF1 {v['macro_f1']:.3f} mR {v['macro_recall']:.3f}"
        for k, v in m["sentiment"].items()
    ]
    return " | ".join(parts)


def main() -> None:
    """Parse arguments, run every variant, append JSON lines to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save", type=Path, default=None, help="keep each variant's model here")
    parser.add_argument("--escalation-cost", type=float, default=6.0)
    parser.add_argument("--wrong-answer-cost", type=float, default=10.0)
    parser.add_argument("--variant", action="append", default=[], type=json.loads)
    args = parser.parse_args()
    for variant in args.variant or [{"name": "default"}]:
        line = run_variant(args, variant)
        with args.out.open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        print(summary(line), flush=True)


if __name__ == "__main__":
    main()
