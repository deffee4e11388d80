"""What `costbot serve --replicas N` is built from, without starting Ray: each replica's own
replica id (and so its own spool), the autoscaling on ongoing requests, and the one-line errors
when Ray Serve is missing or the address needs a token. The replicas themselves run in
tests/multiprocess/test_ray_replicas.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from costbot.cli import app as costbot_app
from models.service.replicas import autoscaling, replica_config, replica_id_of
from models.service.settings import ServiceConfig, ServiceSettings
from storage.settings import DatabaseSettings
from storage.spool import process_spool_path


def _config(**service: object) -> ServiceConfig:
    return ServiceConfig(
        database=DatabaseSettings(spool_path=Path("/data/spool.jsonl")),
        service=ServiceSettings(**service),  # type: ignore[arg-type]
    )


def test_each_replica_has_its_own_id_and_spool_and_the_rest_is_shared() -> None:
    config = _config(port=9000)
    ids = [replica_id_of(SimpleNamespace(rank=SimpleNamespace(rank=n))) for n in (0, 1)]
    assert ids == ["ray-0", "ray-1"]
    own = [replica_config(config, replica_id=i, shared_host=True) for i in ids]
    spools = {
        process_spool_path(c.database.spool_path, role="service", replica=i)
        for c, i in zip(own, ids, strict=True)
    }
    assert spools == {
        Path("/data/spool.p-service-ray-0.jsonl"),
        Path("/data/spool.p-service-ray-1.jsonl"),
    }
    assert all(c.service == config.service and c.database.url == config.database.url for c in own)
    assert all(c.meter.shared_host for c in own) and not config.meter.shared_host


def test_a_replica_without_a_rank_is_named_by_its_tag_within_the_setting_pattern() -> None:
    tag = SimpleNamespace(rank=None, replica_tag="model service#a.b/c" + "x" * 40)
    name = replica_id_of(tag)
    assert name.startswith("ray-model-service-a-b-c") and len(name) == 32
    DatabaseSettings(replica_id=name)  # valid as a replica id


def test_autoscaling_keeps_n_to_max_replicas_on_ongoing_requests() -> None:
    scaled = autoscaling(_config(max_replicas=6, target_ongoing_requests=8), replicas=2)
    assert scaled == {
        "min_replicas": 2,
        "initial_replicas": 2,
        "max_replicas": 6,
        "target_ongoing_requests": 8.0,
    }
    assert autoscaling(_config(), replicas=3)["max_replicas"] == 3  # never below N


def test_serve_with_replicas_says_what_to_install_when_ray_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if importlib.util.find_spec("ray") is not None:
        monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if not installed
    result = CliRunner().invoke(costbot_app, ["serve", "--replicas", "2", "--port", "9"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "costbot serve: Ray Serve is not installed: pip install 'costbot[scale]'"
    )


def test_serve_with_replicas_beyond_loopback_needs_a_token() -> None:
    result = CliRunner().invoke(costbot_app, ["serve", "--replicas", "2", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "0.0.0.0" in result.stderr and "token" in result.stderr.lower()


def test_the_deployment_version_follows_the_settings_but_not_the_ray_address() -> None:
    from models.service.replicas import code_version

    same = code_version(_config(port=9000))
    assert code_version(_config(port=9000, ray_address="10.0.0.1:6379")) == same
    assert code_version(_config(port=9001)) != same  # other settings: replicas replaced


def test_a_rescale_is_done_once_only_running_replicas_within_the_bounds_are_left() -> None:
    from models.service.replicas import _settled

    assert _settled({"RUNNING": 1}, low=1, high=1)
    assert _settled({"RUNNING": 3}, low=1, high=4)  # the autoscaler may keep more than N
    assert not _settled({"RUNNING": 1, "STOPPING": 1}, low=1, high=1)  # still draining
    assert not _settled({"RUNNING": 2}, low=1, high=1)
