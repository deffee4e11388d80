"""The model service: HTTP API, dynamic micro-batching, per-batch metering and recording."""

from models.service.app import ServeOptions, create_app

__all__ = ["ServeOptions", "create_app"]
