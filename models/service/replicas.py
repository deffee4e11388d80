"""`costbot serve --replicas N`: the model service as N Ray Serve replicas behind Ray's proxy.

Each replica runs the very app of the single process (`create_app`, through Ray Serve's FastAPI
ingress, built on the replica so nothing large is pickled): the same routes, edge guard,
micro-batcher, meter and record writer. Each replica has its own replica id, taken from its Ray
Serve rank (``ray-0``, ``ray-1``, ...): it names the replica's spool and is stored with every
record it serves. Ray Serve's autoscaler keeps between N and ``service.max_replicas`` replicas,
aiming at ``service.target_ongoing_requests`` requests queued or running per replica.

Ray is an optional extra (``pip install 'costbot[scale]'``); it is imported only here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import signal
from typing import TYPE_CHECKING, Any

from models.service.edge import UnprotectedServiceError, is_loopback
from models.service.settings import ServiceConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)
APP_NAME = "costbot"
DEPLOYMENT = "model-service"
DRAIN_GRACE_S = 5.0


class RayMissingError(ImportError):
    """Ray Serve is not installed."""

    def __init__(self) -> None:
        super().__init__("Ray Serve is not installed: pip install 'costbot[scale]'")


def replica_config(config: ServiceConfig, *, replica_id: str, shared_host: bool) -> ServiceConfig:
    """The settings of one replica: the same, but its own replica id (and so its own spool),
    and with `shared_host` energy estimated from its own seconds (device counters are shared)."""
    database = config.database.model_copy(update={"replica_id": replica_id})
    meter = config.meter.model_copy(update={"shared_host": shared_host or config.meter.shared_host})
    return dataclasses.replace(config, database=database, meter=meter)


def replica_id_of(context: Any) -> str:
    """``ray-<rank>`` from a Ray Serve replica context; its unique tag when it has no rank."""
    rank = getattr(getattr(context, "rank", None), "rank", None)
    raw = f"ray-{rank}" if isinstance(rank, int) else f"ray-{context.replica_tag}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)[:32]


def autoscaling(config: ServiceConfig, *, replicas: int) -> dict[str, Any]:
    """Ray Serve's autoscaling config: N to max replicas, on requests queued or running."""
    service = config.service
    return {
        "min_replicas": replicas,
        "initial_replicas": replicas,
        "max_replicas": max(replicas, service.max_replicas),
        "target_ongoing_requests": service.target_ongoing_requests,
    }


def deployment(config: ServiceConfig, *, replicas: int) -> Any:
    """The Ray Serve application: one deployment of the model service, ingress `create_app`."""
    from ray import serve

    def build() -> FastAPI:  # runs on the replica, once
        from models.service.app import create_app

        replica = replica_id_of(serve.get_replica_context())
        # Replicas may share a host (always with a local Ray): estimate rather than overcharge.
        return create_app(replica_config(config, replica_id=replica, shared_host=replicas > 1))

    @serve.deployment(
        name=DEPLOYMENT,
        autoscaling_config=autoscaling(config, replicas=replicas),
        max_ongoing_requests=config.service.max_ongoing_requests,
        graceful_shutdown_timeout_s=config.service.request_timeout_s + DRAIN_GRACE_S,
        ray_actor_options={"num_cpus": 0},
    )
    @serve.ingress(build)
    class ModelService:
        """A replica of the model service (the routes are create_app's)."""

    built: Any = ModelService  # a Ray Serve Deployment once decorated
    return built.bind()


def run_replicas(
    config: ServiceConfig, *, replicas: int, host: str | None = None, port: int | None = None
) -> None:
    """Start Ray (local, or the cluster at ``service.ray_address``), run the replicas answering
    on host:port (default: the settings'), and block until Ctrl-C / SIGTERM. Raises
    RayMissingError without Ray Serve, UnprotectedServiceError beyond loopback without a token."""
    host, port = host or config.service.host, port or config.service.port
    if not is_loopback(host) and config.service_token() is None:
        raise UnprotectedServiceError(host)
    try:
        import ray
        from ray import serve
    except ImportError:
        raise RayMissingError() from None
    address = config.service.ray_address or None
    ray.init(address=address, include_dashboard=False, log_to_driver=True)
    # SIGTERM (docker stop, kill) stops the replicas like Ctrl-C: each drains and flushes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    serve.start(http_options={"host": host, "port": port})
    log.info("model service: %d Ray Serve replicas on http://%s:%d", replicas, host, port)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C / SIGTERM: stop, exit 0
            serve.run(deployment(config, replicas=replicas), name=APP_NAME, blocking=True)
    finally:
        serve.shutdown()
        ray.shutdown()
