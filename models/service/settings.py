"""The model service's settings: its own section, and what it is built from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from costing.settings import MeterSettings, PriceSettings
from storage.settings import DatabaseSettings, Section


class ServiceSettings(Section):
    """The model service: where it listens, how it batches, what it loads."""

    url: str = "http://127.0.0.1:8765"
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    base_model: str = ""
    adapters_dir: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # auto: ONNX Runtime on the CPU when onnxruntime is installed, torch on a GPU; the choice and
    # its reason are logged at start and shown by GET /v1/models.
    engine: Literal["auto", "torch", "onnx"] = "auto"
    # auto: int8 on the ONNX engine where int8 was adopted (docs/benchmarks.md), else fp32.
    # bf16 runs on torch, only where the device computes it natively (refused otherwise).
    precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    # Where ONNX exports are cached, one folder per model version; None: the user cache dir.
    engine_cache_dir: Path | None = None
    # ONNX fp32: batches packed into shared sequences without padding (models/packing.py; same
    # answers, fewer tokens computed); false: padded length buckets.
    packed_batches: bool = True
    max_batch_size: int = Field(default=32, ge=1, le=1024)
    max_batch_tokens: int = Field(default=4096, ge=16)
    # 0: a text that finds the worker idle runs at once (batches still grow under load).
    max_wait_ms: float = Field(default=0.0, ge=0, le=1000)
    # After a batch of k >= 2 texts, the next batch waits up to this long (from the end of the
    # last) for k more texts: under steady load the callers just answered send their next texts
    # within a few milliseconds. 0: off. After a batch of one nothing waits. 12 against 2 at
    # concurrency 8: 204.5 vs 195.9 req/s (paired runs 0.91-1.22x), p99 78.8 vs 93.1 ms
    # (benchmarks/results/peers.jsonl, the run at 2026-12-01 14:52, docs/benchmarks.md).
    batch_linger_ms: float = Field(default=12.0, ge=0, le=100)
    queue_limit: int = Field(default=1024, ge=1)
    max_text_chars: int = Field(default=2000, ge=1, le=100_000)
    max_texts_per_request: int = Field(default=64, ge=1, le=4096)
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)
    store_text: bool = False
    # Price sheets are reloaded in the background this often; batches use the last one loaded.
    price_refresh_s: float = Field(default=60.0, gt=0, le=86_400)
    unknown_threshold: float | None = Field(default=None, ge=0, le=1)
    # `costbot serve --replicas N` (Ray Serve): the Ray cluster to join ("": start a local one),
    # the most replicas the autoscaler may add, the requests queued or running per replica it
    # aims at (half a default batch), and the most one replica takes before Ray queues them.
    ray_address: str = ""
    max_replicas: int = Field(default=1, ge=1, le=256)
    target_ongoing_requests: float = Field(default=16.0, gt=0, le=10_000)
    max_ongoing_requests: int = Field(default=64, ge=1, le=100_000)


@dataclass(frozen=True)
class ServiceConfig:
    """What ``create_app`` is built from: the service's section and those it borrows."""

    database: DatabaseSettings
    service: ServiceSettings = field(default_factory=ServiceSettings)
    prices: PriceSettings = field(default_factory=PriceSettings)
    meter: MeterSettings = field(default_factory=MeterSettings)
    # Salt of the stored user hashes; None: a per-install salt kept beside the spool file.
    user_hash_salt: str | None = field(default=None, repr=False)
    # Bearer token every request but /healthz and /readyz must carry; None: the environment's
    # COSTBOT_SERVICE_TOKEN, if set. Required when the service listens beyond loopback.
    token: SecretStr | None = None

    def service_token(self) -> str | None:
        """The bearer token: given here, else from COSTBOT_SERVICE_TOKEN (never from a file)."""
        if self.token is not None:
            return self.token.get_secret_value() or None
        return os.environ.get(TOKEN_VARIABLE) or None


TOKEN_VARIABLE = "COSTBOT_SERVICE_TOKEN"
