"""The one typed settings object: a TOML file plus ``COSTBOT_*`` environment variables.

Precedence, highest first: keyword arguments, environment, the TOML file, defaults.
Nested keys use ``__`` in the environment, e.g. ``COSTBOT_DATABASE__URL``.
Secrets come only from the environment (``DISCORD_TOKEN``); a file that holds one is refused.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from storage.errors import SettingsError

CONFIG_PATH_VARIABLE = "COSTBOT_CONFIG"
DEFAULT_CONFIG_PATH = Path("costbot.toml")
SECRET_KEYS = frozenset({"token", "discord_token", "password"})


class _Section(BaseModel):
    """A settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    """Where records go and how the write path batches them."""

    url: str = "sqlite:///./costbot.db"
    spool_path: Path = Path("./costbot-spool.jsonl")
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    flush_interval_s: float = Field(default=0.25, gt=0, le=60)
    # Queue items, each one submission (a row, or a service batch of rows).
    max_queue: int = Field(default=200_000, ge=1)
    enqueue_timeout_s: float = Field(default=5.0, ge=0, le=600)
    retry_attempts: int = Field(default=4, ge=0, le=20)
    retry_base_s: float = Field(default=0.2, gt=0, le=30)
    replay_interval_s: float = Field(default=5.0, gt=0, le=3600)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value


class ServiceSettings(_Section):
    """The model service: where it listens, how it batches, what it loads."""

    url: str = "http://127.0.0.1:8765"
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    base_model: str = ""
    adapters_dir: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # bf16 ran 1.8-2.7x faster than fp32 at the same held-out accuracy on an AVX-512 bf16 CPU
    # (docs/benchmarks.md); fp32 stays the default because older CPUs emulate bf16 slowly.
    precision: Literal["fp32", "bf16"] = "fp32"
    max_batch_size: int = Field(default=32, ge=1, le=1024)
    max_batch_tokens: int = Field(default=4096, ge=16)
    max_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    queue_limit: int = Field(default=1024, ge=1)
    max_text_chars: int = Field(default=2000, ge=1, le=100_000)
    max_texts_per_request: int = Field(default=64, ge=1, le=4096)
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)
    store_text: bool = False
    unknown_threshold: float | None = Field(default=None, ge=0, le=1)


class PriceSettings(_Section):
    """Prices that turn measurements into money; each change becomes a PriceSheet version."""

    currency: str = Field(default="USD", min_length=3, max_length=3)
    hardware: Literal["cloud", "owned"] = "cloud"
    # Cloud compute. CPU: AWS c7i.large (2 vCPU) on-demand us-east-1 was $0.08925/h in 2024,
    # i.e. about $0.045 per vCPU-hour. GPU: AWS p5 H100 on-demand ≈ $98.32/h for 8 GPUs in 2024,
    # i.e. about $12.29 per GPU-hour (source: aws.amazon.com/ec2/pricing/on-demand).
    cpu_core_hour: Decimal = Decimal("0.045")
    gpu_hour: Decimal = Decimal("12.29")
    # Owned hardware, amortised: purchase price / (lifetime hours × expected utilisation).
    purchase_price: Decimal = Decimal("3000")
    lifetime_years: Decimal = Field(default=Decimal("4"), gt=0)
    expected_utilisation: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    # Electricity: US average commercial price 2024 ≈ $0.13/kWh (EIA Electric Power Monthly).
    electricity_kwh: Decimal = Decimal("0.13")
    # Power usage effectiveness: Uptime Institute 2024 global average data-centre PUE ≈ 1.56.
    pue: Decimal = Field(default=Decimal("1.56"), ge=1, le=5)
    # Grid carbon intensity: world average 2023 ≈ 481 gCO2/kWh
    # (Ember, Global Electricity Review 2024).
    grid_gco2_kwh: Decimal = Field(default=Decimal("481"), ge=0)
    # Power used for estimates where no counter is readable (per busy CPU core, per GPU).
    cpu_watts_per_core: Decimal = Field(default=Decimal("10"), gt=0)
    gpu_watts: Decimal = Field(default=Decimal("350"), gt=0)
    # Data: collection per item, annotation per label, storage per GB-month
    # (annotation: ~$0.05 per simple text label, typical crowd-sourcing rate; storage: AWS S3
    # standard $0.023/GB-month).
    data_collection_per_item: Decimal = Decimal("0.0")
    data_annotation_per_label: Decimal = Decimal("0.05")
    data_storage_gb_month: Decimal = Decimal("0.023")


class RoiSettings(_Section):
    """What the bot's work is worth."""

    # Human cost of one support ticket: HDI/MetricNet put the average North-American service-desk
    # cost per ticket at about $15.56 (MetricNet, 2017 benchmark); we default to $6 per simple
    # chat ticket handled by a person, a deliberately conservative figure. Configure your own.
    human_ticket_cost: Decimal = Field(default=Decimal("6.00"), ge=0)
    price_per_call: Decimal | None = Field(default=None, ge=0)
    training_amortisation_months: int = Field(default=12, ge=1, le=120)


class SummarySchedule(_Section):
    """One scheduled summary post."""

    channel_id: int
    kind: Literal["daily", "weekly"] = "daily"
    hour: int = Field(default=9, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)
    day_of_week: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"


class ScheduleSettings(_Section):
    """The aggregation job and the summary posts."""

    aggregation_interval_s: int = Field(default=300, ge=5, le=86_400)
    timezone: str = "UTC"
    summaries: list[SummarySchedule] = Field(default_factory=list)


class DiscordSettings(_Section):
    """Discord wiring; the token is read from ``DISCORD_TOKEN`` only."""

    token: SecretStr | None = None
    sync_guild_id: int | None = None
    support_channel_ids: list[int] = Field(default_factory=list)
    cooldown_s: float = Field(default=3.0, ge=0, le=3600)
    user_hash_salt: SecretStr | None = None


class Settings(BaseSettings):
    """Everything costbot can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="COSTBOT_", env_nested_delimiter="__", extra="forbid"
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    prices: PriceSettings = Field(default_factory=PriceSettings)
    roi: RoiSettings = Field(default_factory=RoiSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SecretFreeToml(settings_cls, _config_path()))


class _SecretFreeToml(TomlConfigSettingsSource):
    """The TOML source, refusing secrets: they belong in the environment."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        found = sorted(_secret_paths(data))
        if found:
            raise SettingsError(
                f"{', '.join(found)} in {_config_path()}: secrets are read only from the "
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


def _config_path() -> Path:
    return Path(os.environ.get(CONFIG_PATH_VARIABLE, str(DEFAULT_CONFIG_PATH)))


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from file and environment; raise SettingsError naming the bad key."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    token = os.environ.get("DISCORD_TOKEN")
    if token:
        settings.discord.token = SecretStr(token)
    return settings


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        value = problem.get("input")
        shown = "***" if any(s in key for s in SECRET_KEYS) else repr(value)
        lines.append(f"setting {key} = {shown}: {problem['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with every secret masked."""
    data = settings.model_dump(mode="json")
    data["database"]["url"] = mask_url(settings.database.url)
    return data


def mask_url(url: str) -> str:
    """Hide the password part of a database URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
