"""One `encode` a text against one `encode_batch` call, each after 2 ms idle, as between requests.

    python -m benchmarks.service.tokenize_idle [--calls 150] \
        [--out benchmarks/results/tokenize_idle.jsonl]

The served model's fast tokenizer without truncation or padding (`ServedModel._counter`, as the
request handler counts tokens) on BANKING77 texts in arrival order, 1 to 64 texts a call. Before
every call the process sleeps 2 ms, so the tokenizer's rayon threads and the caches are as cold
as they are when a request arrives at an idle service. One JSON line per size: the median wall
microseconds of each way over `--calls` interleaved calls (this sets
`models.service.model.PARALLEL_TOKENIZE_FROM`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.record import machine, write_lines
from benchmarks.service.harness import banking_texts
from models.encoder import load_tokenizer
from models.paths import default_model_dir
from models.service.model import counting_tokenizer
from models.store import load_meta

SIZES = (1, 2, 4, 8, 16, 32, 64)
IDLE_S = 0.002


def median_us(sizes: tuple[int, ...], calls: int) -> list[dict[str, object]]:
    """Per size, the median µs of `encode` a text and of one `encode_batch`, interleaved."""
    tokenizer = counting_tokenizer(load_tokenizer(load_meta(default_model_dir()).base_model))
    assert tokenizer is not None, "the shipped tokenizer has a fast backend"
    texts = banking_texts(512)
    lines = []
    for size in sizes:
        each, batch = [], []
        for call in range(calls):
            chunk = [texts[(call * size + i) % len(texts)] for i in range(size)]
            time.sleep(IDLE_S)
            started = time.perf_counter()
            [tokenizer.encode(text) for text in chunk]
            each.append(time.perf_counter() - started)
            time.sleep(IDLE_S)
            started = time.perf_counter()
            tokenizer.encode_batch(chunk)
            batch.append(time.perf_counter() - started)
        lines.append(
            {
                "bench": "tokenize_idle",
                "texts_per_call": size,
                "encode_each_us": round(statistics.median(each) * 1e6, 1),
                "encode_batch_us": round(statistics.median(batch) * 1e6, 1),
                "calls": calls,
            }
        )
    return lines


def main() -> None:
    """Measure and print/append the lines."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started_on = machine()
    write_lines(args.out, median_us(SIZES, args.calls), started_on)


if __name__ == "__main__":
    main()
