"""The model service: HTTP API, dynamic micro-batching, per-batch metering and recording.

`create_app` and `ServeOptions` are imported on first use, so that importing the service's
settings (as the command line does for every command) does not import torch and the model code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.service.app import ServeOptions, create_app

__all__ = ["ServeOptions", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from models.service import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
