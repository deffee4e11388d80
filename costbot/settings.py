"""The composed settings: each package's section, read once from a TOML file and ``COSTBOT_*``.

Precedence, highest first: keyword arguments, environment, the TOML file, defaults.
Nested keys use ``__`` in the environment, e.g. ``COSTBOT_DATABASE__URL``.
Secrets come only from the environment (``DISCORD_TOKEN``); a file that holds one is refused.
Each section belongs to the package that uses it; this module only puts them together.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.settings import BotConfig, DiscordSettings, ServiceEndpoint, SupportSettings
from costbot.errors import SettingsError
from costing.settings import (
    AggregationSettings,
    CostingSettings,
    ForecastSettings,
    MeterSettings,
    PriceSettings,
    RoiSettings,
    WhatIfSettings,
)
from models.service.settings import ServiceConfig, ServiceSettings
from storage.settings import (
    DATA_DIR_SHOWN,
    DATABASE_FILE,
    SPOOL_FILE,
    DatabaseSettings,
    default_data_dir,
    sqlite_url,
)
from storage.urls import mask_url

CONFIG_PATH_VARIABLE = "COSTBOT_CONFIG"
DEFAULT_CONFIG_PATH = Path("costbot.toml")
SECRET_KEYS = frozenset({"token", "discord_token", "password"})
# Variables read outside the settings sections (e.g. by the test and benchmark harnesses).
EXTRA_ENVIRONMENT: tuple[str, ...] = ("COSTBOT_SERVICE_TOKEN",)


class Settings(BaseSettings):
    """Everything costbot can be configured with, section by owning package."""

    model_config = SettingsConfigDict(
        env_prefix="COSTBOT_", env_nested_delimiter="__", extra="forbid"
    )

    # Per-install state: the default database, spools and the user-hash salt (COSTBOT_DATA_DIR).
    data_dir: Path = Field(
        default_factory=default_data_dir, json_schema_extra={"shown_default": DATA_DIR_SHOWN}
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    prices: PriceSettings = Field(default_factory=PriceSettings)
    roi: RoiSettings = Field(default_factory=RoiSettings)
    aggregation: AggregationSettings = Field(default_factory=AggregationSettings)
    meter: MeterSettings = Field(default_factory=MeterSettings)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)
    whatif: WhatIfSettings = Field(default_factory=WhatIfSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    support: SupportSettings = Field(default_factory=SupportSettings)

    @model_validator(mode="after")
    def _state_in_data_dir(self) -> Settings:
        """The database and spool not configured explicitly live in `data_dir`."""
        database, given = self.database, self.database.model_fields_set
        if "url" not in given:
            database.url = sqlite_url(self.data_dir / DATABASE_FILE)
        if "spool_path" not in given:
            database.spool_path = self.data_dir / SPOOL_FILE
        return self

    @property
    def costing(self) -> CostingSettings:
        """What reports, ROI, budgets and the price book are built from."""
        return CostingSettings(self.prices, self.roi, self.aggregation, self.forecast, self.whatif)

    def service_config(self) -> ServiceConfig:
        """What the model service is built from."""
        return ServiceConfig(
            database=self.database,
            service=self.service,
            prices=self.prices,
            meter=self.meter,
            user_hash_salt=self.discord.salt() or None,
        )

    def bot_config(self) -> BotConfig:
        """What the bot is built from (it reaches the service over HTTP only)."""
        endpoint = ServiceEndpoint(self.service.url, self.service.request_timeout_s)
        return BotConfig(
            self.database,
            endpoint,
            self.costing,
            self.discord,
            self.support,
            store_text=self.service.store_text,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SecretFreeToml(settings_cls, config_path()))


class _SecretFreeToml(TomlConfigSettingsSource):
    """The TOML source, refusing secrets: they belong in the environment."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        found = sorted(_secret_paths(data))
        if found:
            raise SettingsError(
                f"{', '.join(found)} in {config_path()}: secrets are read only from the "
                "environment (DISCORD_TOKEN, COSTBOT_DISCORD__USER_HASH_SALT)"
            )
        return data


def _secret_paths(data: dict[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            paths.extend(_secret_paths(value, f"{path}."))
        elif key in SECRET_KEYS or key.endswith("_salt"):
            paths.append(path)
    return paths


def config_path() -> Path:
    """The TOML file read: ``$COSTBOT_CONFIG``, else ``./costbot.toml`` (optional)."""
    return Path(os.environ.get(CONFIG_PATH_VARIABLE, str(DEFAULT_CONFIG_PATH)))


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from file and environment; raise SettingsError naming the bad key,
    an unknown ``COSTBOT_*`` variable (with the closest valid name) or a missing config file."""
    _check_config_path()
    _check_environment()
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    token = os.environ.get("DISCORD_TOKEN")
    if token:
        settings.discord.token = SecretStr(token)
    return settings


def _check_config_path() -> None:
    """``COSTBOT_CONFIG`` must name an existing file (the default ./costbot.toml is optional)."""
    named = os.environ.get(CONFIG_PATH_VARIABLE)
    if named is not None and not Path(named).is_file():
        raise SettingsError(
            f"{CONFIG_PATH_VARIABLE}={named}: no such file; create it or unset the variable"
        )


def environment_names() -> list[str]:
    """Every ``COSTBOT_*`` variable costbot reads, e.g. ``COSTBOT_DATABASE__URL``."""
    names = [CONFIG_PATH_VARIABLE, *EXTRA_ENVIRONMENT]
    for section, field in Settings.model_fields.items():
        annotation = field.annotation
        if not hasattr(annotation, "model_fields"):
            names.append(f"COSTBOT_{section}".upper())
        for key in getattr(annotation, "model_fields", {}):
            names.append(f"COSTBOT_{section}__{key}".upper())
    return names


def _check_environment() -> None:
    """An unknown ``COSTBOT_*`` variable is an error naming the closest valid one."""
    import difflib

    valid = environment_names()
    for name in sorted(os.environ):
        upper = name.upper()
        if upper.startswith("COSTBOT_") and upper not in valid:
            close = difflib.get_close_matches(upper, valid, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else "; see `costbot config reference`"
            raise SettingsError(f"unknown setting variable {name}{hint}")


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        loc = [str(part) for part in problem["loc"]]
        key = ".".join(loc)
        if problem["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key}{_closest_key(loc)}")
            continue
        lines.append(f"setting {key} = {_shown(key, problem.get('input'))}: {problem['msg']}")
    if len(lines) == 1:
        return f"invalid configuration: {lines[0]}"
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _shown(key: str, value: Any) -> str:
    """The offending value as an error may show it: secrets masked, URLs without passwords."""
    if any(secret in key for secret in SECRET_KEYS) or key.endswith("_salt"):
        return "***"
    return repr(mask_url(value)) if isinstance(value, str) else repr(value)


def _closest_key(loc: list[str]) -> str:
    """'; did you mean service.port?' for a misspelt key (in a section or at the top)."""
    import difflib

    model: Any = Settings
    for part in loc[:-1]:
        if part.isdigit():  # an item of a list of sections, e.g. discord.summaries.0
            continue
        model = _section_model(getattr(model.model_fields.get(part), "annotation", None))
        if model is None:
            return "; see `costbot config reference`"
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.6)
    if not close:
        return "; see `costbot config reference` for the valid keys"
    return f"; did you mean {'.'.join([*loc[:-1], close[0]])}?"


def _section_model(annotation: Any) -> Any:
    """The settings model a key's annotation holds (itself, or the item of a list), or None."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if hasattr(candidate, "model_fields"):
            return candidate
    return None


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with every secret masked."""
    data = settings.model_dump(mode="json")
    data["database"]["url"] = mask_url(settings.database.url)
    return data
