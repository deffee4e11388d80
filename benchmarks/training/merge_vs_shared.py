"""Inference on CPU: each adapter merged into its own base copy vs one shared peft base.

Usage: python -m benchmarks.training.merge_vs_shared [--intent DIR] [--sentiment DIR]
           [--data CSV] [--n 500] [--threads 2]
Prints one JSON object: load time, resident memory added, batched throughput and single-text
latency for both tasks, per mode.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time
from pathlib import Path

import torch

from models.classifier import Classifier
from models.data import load_rows
from models.paths import default_adapter_dir


def rss_mb() -> float:
    """Current resident set size in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(mode: str, adapters: dict[str, Path], texts: list[str]) -> dict[str, float]:
    """Load in `mode`, then time a batched pass and single-text calls over both tasks."""
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    clf = Classifier(adapters, device="cpu", mode=mode)
    load_s = time.perf_counter() - t0
    clf.predict(texts[:64])  # warm-up
    t0 = time.perf_counter()
    batched = clf.predict(texts)
    batch_s = time.perf_counter() - t0
    singles = []
    for text in texts[:50]:
        t1 = time.perf_counter()
        clf.predict([text])
        singles.append(time.perf_counter() - t1)
    labels = [tuple(a.label for a in p.tasks.values()) for p in batched]
    out = {
        "load_s": round(load_s, 2),
        "rss_added_mb": round(rss_mb() - before, 1),
        "batched_texts_per_s": round(len(texts) / batch_s, 1),
        "single_text_ms_median": round(1000 * statistics.median(singles), 1),
        "labels_hash": hash(tuple(labels)),
    }
    del clf
    return out


def main() -> None:
    """Run both modes (each twice, alternating) and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--intent", type=Path, default=default_adapter_dir("intent"))
    ap.add_argument("--sentiment", type=Path, default=default_adapter_dir("sentiment"))
    ap.add_argument("--data", default="../shared/data/banking77/train.csv")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    texts = [r.text for r in load_rows(args.data, need_label=False)][: args.n]
    adapters = {"intent": args.intent, "sentiment": args.sentiment}
    runs: dict[str, list[dict[str, float]]] = {"merged": [], "shared": []}
    for _ in range(2):
        for mode in runs:
            runs[mode].append(measure(mode, adapters, texts))
    same = runs["merged"][0]["labels_hash"] == runs["shared"][0]["labels_hash"]
    print(
        json.dumps(
            {"n_texts": len(texts), "threads": args.threads, "same_labels": same, "runs": runs},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
