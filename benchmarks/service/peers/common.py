"""What every peer server shares: the same weights, labels and answer shape as costbot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

try:  # the faster codec where installed, as a skilled deployer would use
    from orjson import dumps as _dumps
except ImportError:

    def _dumps(value: Any) -> bytes:
        return json.dumps(value).encode()


from models.encoder import normalize
from models.store import load_meta

WINDOW = 64


def labels(model_dir: Path) -> dict[str, list[str]]:
    """{task: labels} of the support model."""
    return {task: list(spec.labels) for task, spec in load_meta(model_dir).tasks.items()}


def answer(probabilities: dict[str, np.ndarray], names: dict[str, list[str]]) -> bytes:
    """One text's answer: each task's top label and score, as JSON bytes."""
    body: dict[str, Any] = {}
    for task, row in probabilities.items():
        best = int(row.argmax())
        body[task] = {"label": names[task][best], "score": round(float(row[best]), 6)}
    return _dumps({"results": [{"predictions": body}]})


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def text_of(body: bytes) -> str:
    """The `text` of a costbot-shaped request body, normalised as costbot normalises it."""
    return normalize(json.loads(body)["text"])
