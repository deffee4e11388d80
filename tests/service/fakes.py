"""Fakes for the service tests: a real classifier made slow, to fill the queue on purpose."""

from __future__ import annotations

import time
from typing import Any

from models.service.model import ServedModel


class SlowClassifier:
    """The real classifier, but every forward pass takes at least `delay_s` longer."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self._inner = inner
        self._delay_s = delay_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self._delay_s)
        return self._inner.predict(*args, **kwargs)


def slowed(model: ServedModel, delay_s: float) -> ServedModel:
    """A copy of the served model whose batches are slow."""
    return ServedModel(
        SlowClassifier(model.classifier, delay_s),  # type: ignore[arg-type]
        model.path,
        model.version,
        model.metrics,
    )
