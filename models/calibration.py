"""Out-of-scope threshold: calibrated on held-out max-softmax scores of correct predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def calibrate_threshold(
    scores: Sequence[float], correct: Sequence[bool], keep_fraction: float = 0.95
) -> float:
    """Return the score below which predictions become `unknown`.

    Rule: the (1 - keep_fraction) quantile of the max-softmax scores of the correct held-out
    predictions, so that `keep_fraction` of correct in-scope answers stay above it.
    """
    ok = np.array([s for s, c in zip(scores, correct, strict=True) if c], dtype=float)
    if ok.size == 0:
        return 0.0
    return float(np.quantile(ok, 1.0 - keep_fraction, method="lower"))
