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
import hashlib
import logging
import os
import re
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.service.edge import UnprotectedServiceError, is_loopback
from models.service.settings import ServiceConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)
APP_NAME = "costbot"
DEPLOYMENT = "model-service"
DRAIN_GRACE_S = 5.0
RESCALE_TIMEOUT_S = 120.0  # a removed replica drains for up to request_timeout_s + 5 s


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


def code_version(config: ServiceConfig) -> str:
    """The deployment's version: a hash of the settings (not of N). Deploying again with the same
    settings and another N is then Ray Serve's in-place update: replicas are added, or removed
    gracefully, rather than all replaced. The Ray address is left out: the driver that rescales
    names the cluster the first one started."""
    same = dataclasses.replace(
        config, service=config.service.model_copy(update={"ray_address": ""})
    )
    return hashlib.sha256(repr(same).encode()).hexdigest()[:16]


def deployment(config: ServiceConfig, *, replicas: int) -> Any:
    """The Ray Serve application: one deployment of the model service, ingress `create_app`."""
    from ray import serve

    scaling = autoscaling(config, replicas=replicas)

    def build() -> FastAPI:  # runs on the replica, once
        from models.service.app import create_app

        replica = replica_id_of(serve.get_replica_context())
        # Replicas may share a host (always with a local Ray): estimate rather than overcharge.
        shared = scaling["max_replicas"] > 1
        return create_app(replica_config(config, replica_id=replica, shared_host=shared))

    @serve.deployment(
        name=DEPLOYMENT,
        autoscaling_config=scaling,
        max_ongoing_requests=config.service.max_ongoing_requests,
        graceful_shutdown_timeout_s=config.service.request_timeout_s + DRAIN_GRACE_S,
        ray_actor_options={"num_cpus": 0},
    )
    @serve.ingress(build)
    class ModelService:
        """A replica of the model service (the routes are create_app's)."""

    built: Any = ModelService  # a Ray Serve Deployment once decorated
    # `version` is how Serve's own config files mark "same code" (the public option is gone).
    return built.options(version=code_version(config), _internal=True).bind()


def run_replicas(
    config: ServiceConfig, *, replicas: int, host: str | None = None, port: int | None = None
) -> None:
    """Start Ray (local, or the cluster at ``service.ray_address``), run the replicas answering
    on host:port (default: the settings'), and block until Ctrl-C / SIGTERM. On a Ray cluster
    where the costbot application already runs, rescale it to N replicas instead and return
    (`rescale`). Raises RayMissingError without Ray Serve, UnprotectedServiceError beyond
    loopback without a token."""
    host, port = host or config.service.host, port or config.service.port
    if not is_loopback(host) and config.service_token() is None:
        raise UnprotectedServiceError(host)
    address = config.service.ray_address or None
    if address:
        use_saved_token()  # before Ray is imported: it reads its settings then
    try:
        import ray
        from ray import serve
    except ImportError:
        raise RayMissingError() from None
    context = ray.init(address=address, include_dashboard=False, log_to_driver=True)
    if address and APP_NAME in serve.status().applications:
        try:
            rescale(config, replicas=replicas)
        finally:
            ray.shutdown()  # this driver only: the application runs on
        return
    gcs = getattr(context, "address_info", {}).get("gcs_address", "")
    try:
        _serve_until_stopped(config, replicas=replicas, host=host, port=port, ray_at=gcs)
    finally:
        serve.shutdown()
        ray.shutdown()


def _serve_until_stopped(
    config: ServiceConfig, *, replicas: int, host: str, port: int, ray_at: str
) -> None:
    """Start Serve's proxy on host:port and run the application until Ctrl-C or SIGTERM."""
    from ray import serve

    # SIGTERM (docker stop, kill) stops the replicas like Ctrl-C: each drains and flushes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    serve.start(http_options={"host": host, "port": port})
    log.info("model service: %d Ray Serve replicas on http://%s:%d", replicas, host, port)
    log.info("Ray at %s (rescale: that service.ray_address, costbot serve --replicas N)", ray_at)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C / SIGTERM: stop, exit 0
        serve.run(deployment(config, replicas=replicas), name=APP_NAME, blocking=True)


def use_saved_token() -> None:
    """Joining a cluster by address: present the token Ray saved for this user when it started
    a local cluster (``~/.ray/auth_token``), as Ray itself does for ``address="auto"``, unless
    ``RAY_AUTH_MODE`` is set; without it a token-protected cluster refuses the driver."""
    if "RAY_AUTH_MODE" not in os.environ and (Path.home() / ".ray" / "auth_token").exists():
        os.environ["RAY_AUTH_MODE"] = "token"


def rescale(config: ServiceConfig, *, replicas: int, timeout_s: float = RESCALE_TIMEOUT_S) -> None:
    """Set the running application to N replicas (N to ``service.max_replicas`` while
    autoscaling) in place, and wait until every replica runs, none is starting or stopping, and
    their number is within those bounds: a removed replica drains its requests and flushes its
    record writer first. Needs a driver connected to the cluster; raises TimeoutError after
    `timeout_s` seconds."""
    from ray import serve

    scaling = autoscaling(config, replicas=replicas)
    low, high = scaling["min_replicas"], scaling["max_replicas"]
    serve.run(deployment(config, replicas=replicas), name=APP_NAME, blocking=False)
    deadline = time.monotonic() + timeout_s
    while not _settled(states := _replica_states(serve), low=low, high=high):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Ray Serve did not settle at {low} to {high} replicas: {states}")
        time.sleep(0.2)
    log.info("model service rescaled to %d Ray Serve replicas", states["RUNNING"])


def _settled(states: dict[str, int], *, low: int, high: int) -> bool:
    """Only running replicas, between `low` and `high` of them."""
    return set(states) == {"RUNNING"} and low <= states["RUNNING"] <= high


def _replica_states(serve: Any) -> dict[str, int]:
    """How many of the deployment's replicas are in each state, e.g. {"RUNNING": 2}."""
    deployments = serve.status().applications[APP_NAME].deployments
    states = deployments[DEPLOYMENT].replica_states
    return {str(getattr(state, "value", state)): n for state, n in states.items() if n}
