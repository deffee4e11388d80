"""The tables. Created and changed only through the Alembic migrations in storage/migrations.

Money is stored as integer pico-units of the price sheet's currency, energy as microjoules,
CO2 as nanograms (see costing.units): exact sums on every backend.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utc_now


def new_uid() -> str:
    """A fresh idempotency key: replaying a record with the same uid never duplicates it.

    32 hex digits: 128 bits from the operating system's CSPRNG, as uuid4 draws them, without
    building a UUID object (callers draw one per row written, on hot paths)."""
    return os.urandom(16).hex()


def _time(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(
        default_factory=utc_now if not nullable else None,
        sa_type=UTCDateTime,
        index=index,
        nullable=nullable,
    )


def _big(default: int = 0) -> Any:
    return Field(default=default, sa_type=BigInteger)


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InferenceRecord(SQLModel, table=True):
    """One served inference: one text classified for one or more tasks, with its cost."""

    __tablename__ = "inference_record"
    __table_args__ = (Index("ix_inference_record_channel_time", "channel_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=32, unique=True)
    created_at: datetime = _time(index=True)
    ingested_at: datetime = _time()
    request_id: str = Field(max_length=32)
    batch_id: str = Field(max_length=32)
    model_name: str = Field(max_length=200)
    model_version: str = Field(max_length=64)
    adapter_versions: str = Field(default="", max_length=200)
    tasks: str = Field(max_length=100)
    source_kind: str = Field(default="http", max_length=16)
    command: str = Field(default="", max_length=32)
    guild_id: int | None = Field(default=None, sa_type=BigInteger)
    channel_id: int | None = Field(default=None, sa_type=BigInteger)
    user_hash: str | None = Field(default=None, max_length=64)
    input_chars: int = 0
    input_tokens: int = 0
    truncated: bool = False
    predictions: dict[str, Any] = _json()
    queue_ms: float = 0.0
    compute_ms: float = 0.0
    batch_size: int = 1
    device: str = Field(default="cpu", max_length=32)
    energy_uj: int = _big()
    energy_method: str = Field(default="cpu-time-estimate", max_length=32)
    cost_compute_pico: int = _big()
    cost_energy_pico: int = _big()
    cost_hardware_pico: int = _big()
    cost_data_pico: int = _big()
    co2_ng: int = _big()
    price_sheet_id: int | None = None
    text: str | None = Field(default=None, max_length=100_000)
    # The service replica that served it (also names that replica's spool).
    replica_id: str = Field(default="", max_length=64)
    # Its share of the batch's times (µs), to price it again by the version valid at created_at.
    wall_us: int = _big()
    cpu_us: int = _big()
    gpu_us: int = _big()


class TrainingRun(SQLModel, table=True):
    """One training run of an adapter, with its measured cost (a one-off, amortised into ROI)."""

    __tablename__ = "training_run"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=32, unique=True)
    started_at: datetime = _time(index=True)
    finished_at: datetime = _time()
    task: str = Field(max_length=64)
    base_model: str = Field(max_length=300)
    adapter_version: str = Field(default="", max_length=64)
    adapter_path: str = Field(default="", max_length=500)
    data_path: str = Field(default="", max_length=500)
    data_rows: int = 0
    labels_count: int = 0
    epochs: int = 0
    lora_r: int = 0
    device: str = Field(default="cpu", max_length=32)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    gpu_s: float = 0.0
    energy_uj: int = _big()
    energy_method: str = Field(default="cpu-time-estimate", max_length=32)
    cost_compute_pico: int = _big()
    cost_energy_pico: int = _big()
    cost_hardware_pico: int = _big()
    cost_data_pico: int = _big()
    co2_ng: int = _big()
    price_sheet_id: int | None = None
    metrics: dict[str, Any] = _json()
    recipe: dict[str, Any] = _json()
    # The currency of its money (the price sheet it was priced with).
    currency: str = Field(default="USD", max_length=3)
    # The dataset versions it was trained on, each {name, version, provenance, labels,
    # annotation_pico, currency}: a version's annotation is charged once, not per run.
    datasets: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class SupportOutcome(SQLModel, table=True):
    """What the bot did with one customer message: resolved it, or escalated it to a person."""

    __tablename__ = "support_outcome"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=32, unique=True)
    created_at: datetime = _time(index=True)
    request_id: str = Field(default="", max_length=32)
    source_kind: str = Field(default="discord", max_length=16)
    guild_id: int | None = Field(default=None, sa_type=BigInteger)
    channel_id: int | None = Field(default=None, sa_type=BigInteger)
    user_hash: str | None = Field(default=None, max_length=64)
    intent: str = Field(default="", max_length=100)
    sentiment: str = Field(default="", max_length=32)
    outcome: str = Field(max_length=16)
    reason: str = Field(default="", max_length=200)
    conversation_uid: str = Field(default="", max_length=32, index=True)


class SupportConversation(SQLModel, table=True):
    """Messages from one (hashed) customer in one support channel until it is closed.

    Its outcome (contained, confirmed, reopened, escalated) is derived when read, from these
    facts and from whether the same customer came back within the re-contact window.
    """

    __tablename__ = "support_conversation"
    __table_args__ = (
        Index("ix_support_conversation_customer", "source_kind", "channel_id", "user_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=32, unique=True)
    opened_at: datetime = _time(index=True)
    last_message_at: datetime = _time()
    closed_at: datetime | None = _time(nullable=True)
    source_kind: str = Field(default="discord", max_length=16)
    guild_id: int | None = Field(default=None, sa_type=BigInteger)
    channel_id: int | None = Field(default=None, sa_type=BigInteger)
    user_hash: str | None = Field(default=None, max_length=64)
    state: str = Field(default="open", max_length=16)
    closed_by: str = Field(default="", max_length=16)
    messages: int = 0
    answers: int = 0
    fallbacks: int = 0
    escalation_reason: str = Field(default="", max_length=200)
    person_requested_after_answer: bool = False
    solved: bool = False
    thread_id: int | None = Field(default=None, sa_type=BigInteger)


class SupportEvent(SQLModel, table=True):
    """Something that happened in a conversation: customer feedback, a handoff, an agent's
    reply or close, a timeout; linked to the inference it answers (request_id) when there is one."""

    __tablename__ = "support_event"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=32, unique=True)
    created_at: datetime = _time(index=True)
    conversation_uid: str = Field(max_length=32, index=True)
    request_id: str = Field(default="", max_length=32)
    kind: str = Field(max_length=32)
    actor: str = Field(default="customer", max_length=16)
    detail: str = Field(default="", max_length=200)
    # A customer message (kind "message"): its platform id (for a link), what the classifier
    # said, and its text only where storing text is on.
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    intent: str = Field(default="", max_length=100)
    confidence: float | None = None
    text: str | None = Field(default=None, max_length=4000)


class CostRollup(SQLModel, table=True):
    """Inference records summed per hour × model × tasks × source (command, channel).

    Support outcomes are rolled up in the same table, in rows with an empty model_name and
    count 0 that carry only ``resolved`` and ``escalated`` (per hour × source kind × channel).
    """

    __tablename__ = "cost_rollup"
    __table_args__ = (
        UniqueConstraint(
            "hour",
            "model_name",
            "model_version",
            "tasks",
            "source_kind",
            "command",
            "channel_id",
            name="uq_cost_rollup_key",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    hour: datetime = _time(index=True)
    model_name: str = Field(max_length=200)
    model_version: str = Field(max_length=64)
    tasks: str = Field(max_length=100)
    source_kind: str = Field(max_length=16)
    command: str = Field(default="", max_length=32)
    channel_id: int = Field(default=0, sa_type=BigInteger)
    count: int = _big()
    input_tokens: int = _big()
    input_chars: int = _big()
    truncated: int = _big()
    latency_ms_sum: float = 0.0
    latency_histogram: dict[str, Any] = _json()
    energy_uj: int = _big()
    energy_measured_uj: int = _big()
    cost_compute_pico: int = _big()
    cost_energy_pico: int = _big()
    cost_energy_counter_pico: int = _big()
    cost_energy_power_time_pico: int = _big()
    cost_hardware_pico: int = _big()
    cost_data_pico: int = _big()
    co2_ng: int = _big()
    resolved: int = _big()
    escalated: int = _big()
    updated_at: datetime = _time()


class JobState(SQLModel, table=True):
    """Small persistent state of scheduled jobs, e.g. the aggregation watermark."""

    __tablename__ = "job_state"

    name: str = Field(primary_key=True, max_length=64)
    watermark: int = _big()
    updated_at: datetime = _time()


class PriceSheet(SQLModel, table=True):
    """One version of the prices; a cost is computed with the version valid at its time."""

    __tablename__ = "price_sheet"

    id: int | None = Field(default=None, primary_key=True)
    valid_from: datetime = _time(index=True)
    currency: str = Field(default="USD", max_length=3)
    prices: dict[str, Any] = _json()
    changed_by: str = Field(default="settings", max_length=100)
    created_at: datetime = _time()


class Budget(SQLModel, table=True):
    """A monthly spending limit for a scope: everything, one model, or one channel."""

    __tablename__ = "budget"
    __table_args__ = (UniqueConstraint("scope_kind", "scope_value", name="uq_budget_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    scope_kind: str = Field(max_length=16)
    scope_value: str = Field(default="", max_length=200)
    monthly_limit_pico: int = _big()
    currency: str = Field(default="USD", max_length=3)
    changed_by: str = Field(default="", max_length=100)
    updated_at: datetime = _time()


class Alert(SQLModel, table=True):
    """A budget threshold crossed in a month; created once, posted once."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("budget_id", "month", "threshold_pct", name="uq_alert_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    budget_id: int = Field(foreign_key="budget.id", index=True)
    month: str = Field(max_length=7)
    threshold_pct: int
    spent_pico: int = _big()
    limit_pico: int = _big()
    created_at: datetime = _time()
    posted_at: datetime | None = _time(nullable=True)


class ScheduledPost(SQLModel, table=True):
    """A summary that was posted, so a restart never posts the same one twice."""

    __tablename__ = "scheduled_post"
    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "period_key", name="uq_scheduled_post_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=16)
    period_key: str = Field(max_length=32)
    posted_at: datetime = _time()
    message_id: int | None = Field(default=None, sa_type=BigInteger)


SPOOLABLE_TABLES: dict[str, type[SQLModel]] = {
    "inference_record": InferenceRecord,
    "training_run": TrainingRun,
    "support_outcome": SupportOutcome,
}
