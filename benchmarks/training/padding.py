"""How many computed tokens are padding, per batching scheme (no model run; exact counts).

Usage: python -m benchmarks.training.padding CSV [--max-length 64] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from models.batching import inference_batches, training_batches
from models.data import load_rows
from models.encoder import load_tokenizer, tokenize


def computed(lengths: list[int], batches: list[list[int]]) -> int:
    """Tokens computed when every batch is padded to its longest member."""
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def main() -> None:
    """Print real vs computed tokens for fixed-length, random, bucketed and sorted batches."""
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    texts = [r.text for r in load_rows(args.data, need_label=False)]
    enc = tokenize(load_tokenizer(None), texts, args.max_length)
    lengths = [len(x) for x in enc.ids]
    real = sum(lengths)
    rng = np.random.default_rng(0)
    random_batches = training_batches([0] * len(lengths), args.batch_size, rng)
    schemes = {
        "pad_to_max_length": len(lengths) * args.max_length,
        "random_batches": computed(lengths, random_batches),
        "bucketed_training": computed(lengths, training_batches(lengths, args.batch_size, rng)),
        "sorted_inference": computed(lengths, inference_batches(lengths, args.batch_size)),
    }
    print(
        json.dumps(
            {
                "rows": len(lengths),
                "real_tokens": real,
                "truncated_rows": sum(enc.truncated),
                "computed_tokens": schemes,
                "padding_share": {k: round(1 - real / v, 3) for k, v in schemes.items()},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
