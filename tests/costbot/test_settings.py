from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from costbot.errors import SettingsError
from costbot.reference import render_reference
from costbot.settings import Settings, load_settings, mask_url, masked_dump
from tests.costbot.conftest import load_error

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_file_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSTBOT_DATA_DIR")
    settings = load_settings()
    data = Path(os.environ["XDG_DATA_HOME"]) / "costbot"  # the platform's user data folder
    assert settings.data_dir == data
    assert settings.database.url == f"sqlite:///{data / 'costbot.db'}"
    assert settings.database.spool_path == data / "costbot-spool.jsonl"
    assert settings.discord.token is None


def test_toml_file_then_environment_override(
    use_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config('[service]\nport = 9001\n[prices]\nelectricity_kwh = "0.31"\n')
    monkeypatch.setenv("COSTBOT_SERVICE__PORT", "9002")
    settings = load_settings()
    assert settings.service.port == 9002
    assert settings.prices.electricity_kwh == Decimal("0.31")


def test_bad_value_names_key_value_and_expectation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTBOT_SERVICE__MAX_WAIT_MS", "soon")
    message = load_error()
    assert "service.max_wait_ms" in message
    assert "'soon'" in message
    assert "valid number" in message


def test_unknown_key_in_file_is_refused(use_config: Callable[[str], Path]) -> None:
    use_config("[database]\nurll = 'sqlite://'\n")
    with pytest.raises(SettingsError, match=r"database\.urll"):
        load_settings()


def test_database_url_must_be_a_known_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTBOT_DATABASE__URL", "mysql://x")
    with pytest.raises(SettingsError, match="sqlite:/// or postgresql://"):
        load_settings()


def test_token_comes_from_environment_and_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "very-secret-token")
    settings = load_settings()
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "very-secret-token"
    assert "very-secret-token" not in str(masked_dump(settings))
    assert "very-secret-token" not in repr(settings)


def test_token_in_file_is_refused(use_config: Callable[[str], Path]) -> None:
    use_config('[discord]\ntoken = "leaked"\n')
    with pytest.raises(SettingsError, match="only from the environment"):
        load_settings()


def test_database_password_is_masked() -> None:
    assert (
        mask_url("postgresql://bot:hunter2@db:5432/costbot")
        == "postgresql://bot:***@db:5432/costbot"
    )
    assert mask_url("sqlite:///./costbot.db") == "sqlite:///./costbot.db"


def test_the_configuration_reference_in_docs_is_current() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == render_reference()


def test_each_section_is_owned_by_the_package_that_uses_it() -> None:
    owners = {
        name: field.annotation.__module__  # type: ignore[union-attr]
        for name, field in Settings.model_fields.items()
        if name != "data_dir"  # the one top-level key: per-install state, not a package's section
    }
    assert owners == {
        "database": "storage.settings",
        "prices": "costing.settings",
        "roi": "costing.settings",
        "aggregation": "costing.settings",
        "meter": "costing.settings",
        "forecast": "costing.settings",
        "whatif": "costing.settings",
        "service": "models.service.settings",
        "discord": "bot.settings",
        "support": "bot.settings",
    }


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("COSTBOT_DATABASE_URL", "COSTBOT_DATABASE__URL"),  # one underscore
        ("COSTBOT_SERVICE__PROT", "COSTBOT_SERVICE__PORT"),
        ("costbot_prices__electricity_kw", "COSTBOT_PRICES__ELECTRICITY_KWH"),
    ],
)
def test_an_unknown_variable_is_an_error_naming_the_closest(
    monkeypatch: pytest.MonkeyPatch, name: str, closest: str
) -> None:
    monkeypatch.setenv(name, "x")
    with pytest.raises(
        SettingsError, match=f"unknown setting variable {name}; did you mean {closest}"
    ):
        load_settings()


def test_a_config_variable_naming_no_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTBOT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match=r"missing\.toml: no such file"):
        load_settings()


def test_every_known_variable_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTBOT_SERVICE__PORT", "9003")
    monkeypatch.setenv("COSTBOT_AGGREGATION__TIMEZONE", "Europe/London")
    settings = load_settings()
    assert (settings.service.port, settings.aggregation.timezone) == (9003, "Europe/London")
