"""compose.yaml scales the model service: no fixed host port or container name (either would
stop `--scale service=N`), a health check on /readyz, energy estimated per process on a shared
host, and spools on a volume where each replica names its own (storage.writer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def _service() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]["service"]


def test_the_service_can_be_scaled_and_is_healthy_only_when_ready() -> None:
    service = _service()
    assert "ports" not in service and "container_name" not in service
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["environment"]["COSTBOT_METER__SHARED_HOST"] == "true"
    assert any(volume.endswith(":/data") for volume in service["volumes"])
    assert "COSTBOT_DATABASE__REPLICA_ID" not in service["environment"]  # would be one for all
