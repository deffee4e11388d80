"""Four weeks after the demo's support day: synthesized records with simulated timestamps.

The support day itself is replayed through the real service and bot (costbot.demo.run) and is
left as it is; its costs are measured, so they differ a little between runs. The 28 days after
it are synthesized from it, seeded, in the support channel DEMO_CHANNEL, so two runs print the
same month (its reports read those days and that channel only):
each day repeats the day's conversations, outcomes and feedback events (new ids, new customers)
as often as its weekday asks, each conversation kept with a seeded chance; every answered
message gets an inference record with a fixed per-message time (see WALL_US) and no cost, which
the aggregation job then prices with the price version valid at its time (costing.repricing),
as it does for any record. On the way: a service outage (conversations then go to a person), a
price change, a flood of calls from one integration (a spike), and a monthly budget.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy import select as sa_select

from costing.budgets import make_scope, set_budget
from costing.jobs import run_job
from costing.prices import set_price
from costing.readers import read_totals
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory
from storage.tables import (
    InferenceRecord,
    PriceSheet,
    SupportConversation,
    SupportEvent,
    SupportOutcome,
    new_uid,
)

SEED = 21
DAYS = 28  # the days after the support day: four weeks
DEMO_CHANNEL = 777  # the support channel of the synthesized weeks
COPIES_BY_WEEKDAY = (3, 3, 3, 3, 2, 1, 1)  # Monday..Sunday: how often a day repeats the script
KEEP = Decimal("0.85")  # the seeded chance that a repeated conversation happens
COPY_GAP = timedelta(minutes=3)
OUTAGE_DAY, OUTAGE_FROM, OUTAGE_TO = 9, time(10), time(15)
OUTAGE_REASON = "model service unavailable"
PRICE_DAY, PRICE_KEY, PRICE_VALUE = 14, "cpu_core_hour", "0.06"  # from 0.045: a new instance
SPIKE_DAY, SPIKE_CALLS, SPIKE_CHANNEL = 20, 300, 4242  # an integration stuck in a loop
BUDGET_SET_DAY, BUDGET_MARGIN = 1, Decimal("1.25")
BUDGET_SCOPE = make_scope("channel", str(DEMO_CHANNEL))
# Per-message time: benchmarks/results/batching.jsonl, config "batching" at concurrency 1
# (batches of one): compute_ms_per_batch 17.2 on a 2-core CPU; ±15 % seeded jitter.
WALL_US, JITTER = 17_200, 0.15


@dataclass(frozen=True)
class Bundle:
    """The support day's rows, read by column name: what each synthesized day repeats."""

    conversations: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    events: list[dict[str, Any]]
    record: dict[str, Any]  # one real inference record: model, tasks, device, …


def _table(model: Any) -> Any:
    return model.__table__


def _rows(engine: Engine, table: Any, column: Any, start: datetime, end: datetime) -> list[dict]:
    query = sa_select(table).where(column >= start, column < end).order_by(table.c.id)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def read_bundle(engine: Engine, *, day: datetime) -> Bundle:
    """The rows of the support day [day, day + 1 day)."""
    end = day + timedelta(days=1)
    conv, out, event, record = (
        _table(t) for t in (SupportConversation, SupportOutcome, SupportEvent, InferenceRecord)
    )
    conversations = _rows(engine, conv, conv.c.opened_at, day, end)
    outcomes = _rows(engine, out, out.c.created_at, day, end)
    events = _rows(engine, event, event.c.created_at, day, end)
    records = _rows(engine, record, record.c.created_at, day, end)
    return Bundle(conversations, outcomes, events, records[0])


@dataclass
class _Copy:
    """One repetition of the script on one day: its time shift and its new ids."""

    shift: timedelta
    salt: str
    outage: tuple[datetime, datetime] | None
    uids: dict[str, str]
    requests: dict[str, str]

    def uid(self, old: str) -> str:
        return self.uids.setdefault(old, new_uid())

    def request(self, old: str) -> str:
        return "" if not old else self.requests.setdefault(old, new_uid())

    def customer(self, user_hash: str | None) -> str | None:
        if user_hash is None:
            return None
        digest = hashlib.sha256(f"{user_hash}:{self.salt}".encode()).hexdigest()
        return digest[: len(user_hash)]

    def down(self, moment: datetime) -> bool:
        return self.outage is not None and self.outage[0] <= moment < self.outage[1]


def _copies(day: datetime, rng: random.Random) -> Iterator[_Copy]:
    for offset in range(1, DAYS + 1):
        start = day + timedelta(days=offset)
        outage = None
        if offset == OUTAGE_DAY:
            outage = (start + _hours(OUTAGE_FROM), start + _hours(OUTAGE_TO))
        for copy in range(COPIES_BY_WEEKDAY[start.weekday()]):
            shift = timedelta(days=offset) + copy * COPY_GAP
            yield _Copy(shift, f"{offset}:{copy}:{rng.random()}", outage, {}, {})


def _hours(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute)


def synthesize(bundle: Bundle, *, day: datetime) -> dict[Any, list[dict[str, Any]]]:
    """Rows for the 28 days after the support day, per table (seeded: the same every run)."""
    rng = random.Random(SEED)
    tables: dict[Any, list[dict[str, Any]]] = {
        SupportConversation: [],
        SupportOutcome: [],
        SupportEvent: [],
        InferenceRecord: [],
    }
    for copy in _copies(day, rng):
        kept = {c["uid"] for c in bundle.conversations if rng.random() < float(KEEP)}
        for row in bundle.conversations:
            if row["uid"] in kept:
                tables[SupportConversation].append(_conversation(row, copy))
        for row in bundle.outcomes:
            if row["conversation_uid"] in kept:
                outcome = _outcome(row, copy)
                tables[SupportOutcome].append(outcome)
                if outcome["request_id"]:
                    tables[InferenceRecord].append(_record(bundle.record, outcome, rng))
        for row in bundle.events:
            if row["conversation_uid"] in kept and not copy.down(row["created_at"] + copy.shift):
                tables[SupportEvent].append(_event(row, copy))
    tables[InferenceRecord].extend(_spike(bundle.record, day=day, rng=rng))
    return tables


def _moved(row: dict[str, Any], copy: _Copy, *names: str) -> dict[str, Any]:
    new = {k: v for k, v in row.items() if k != "id"}
    for name in names:
        if new[name] is not None:
            new[name] = new[name] + copy.shift
    return new


def _conversation(row: dict[str, Any], copy: _Copy) -> dict[str, Any]:
    new = _moved(row, copy, "opened_at", "last_message_at", "closed_at")
    new.update(
        uid=copy.uid(row["uid"]),
        user_hash=copy.customer(row["user_hash"]),
        thread_id=None,
        channel_id=DEMO_CHANNEL,
    )
    if copy.down(new["opened_at"]):
        new.update(
            answers=0,
            fallbacks=0,
            solved=False,
            escalation_reason=OUTAGE_REASON,
            person_requested_after_answer=False,
            closed_by="agent" if new["closed_at"] else new["closed_by"],
        )
    return new


def _outcome(row: dict[str, Any], copy: _Copy) -> dict[str, Any]:
    new = _moved(row, copy, "created_at")
    new.update(
        uid=new_uid(),
        conversation_uid=copy.uid(row["conversation_uid"]),
        user_hash=copy.customer(row["user_hash"]),
        request_id=copy.request(row["request_id"]),
        channel_id=DEMO_CHANNEL,
    )
    if copy.down(new["created_at"]):
        new.update(outcome="escalated", reason=OUTAGE_REASON, request_id="", intent="")
    return new


def _event(row: dict[str, Any], copy: _Copy) -> dict[str, Any]:
    new = _moved(row, copy, "created_at")
    new.update(
        uid=new_uid(),
        conversation_uid=copy.uid(row["conversation_uid"]),
        request_id=copy.request(row["request_id"]),
        message_id=None,
    )
    return new


def _record(template: dict[str, Any], outcome: dict[str, Any], rng: random.Random) -> dict:
    """An inference record at the outcome's time, with a seeded time share and no cost yet:
    the aggregation job prices it by the version valid then."""
    wall = round(WALL_US * (1 + rng.uniform(-JITTER, JITTER)))
    new = {k: v for k, v in template.items() if k != "id"}
    new.update(
        uid=new_uid(),
        request_id=outcome["request_id"],
        batch_id=new_uid(),
        created_at=outcome["created_at"],
        source_kind=outcome["source_kind"],
        channel_id=outcome["channel_id"],
        guild_id=outcome["guild_id"],
        user_hash=outcome["user_hash"],
        queue_ms=0.0,
        compute_ms=wall / 1000,
        wall_us=wall,
        cpu_us=wall,
        gpu_us=0,
        energy_uj=wall * 10,  # meter.cpu_watts_per_core (10 W) × CPU time: an estimate
        energy_method="cpu-time-estimate",
        cost_compute_pico=0,
        cost_energy_pico=0,
        cost_hardware_pico=0,
        cost_data_pico=0,
        co2_ng=0,
        price_sheet_id=None,
        text=None,
    )
    return new


def _spike(template: dict[str, Any], *, day: datetime, rng: random.Random) -> list[dict]:
    """An integration calling /classify in a loop for an hour on the spike day."""
    start = day + timedelta(days=SPIKE_DAY, hours=13)
    rows = []
    for index in range(SPIKE_CALLS):
        moment = start + timedelta(seconds=index * 3600 / SPIKE_CALLS)
        outcome = {
            "request_id": new_uid(),
            "created_at": moment,
            "source_kind": "http",
            "channel_id": SPIKE_CHANNEL,
            "guild_id": None,
            "user_hash": None,
        }
        row = _record(template, outcome, rng)
        row["command"] = "classify"
        rows.append(row)
    return rows


def insert_month(engine: Engine, tables: dict[Any, list[dict[str, Any]]]) -> None:
    """Write the synthesized rows (one transaction)."""
    with engine.begin() as connection:
        for table, rows in tables.items():
            if rows:
                connection.execute(insert(table), rows)


def date_price_sheets(engine: Engine, *, day: datetime) -> None:
    """The price versions the service stored at its (wall-clock) start were in force from the
    simulated day on: the demo's clock is simulated, so its prices are too."""
    with engine.begin() as connection:
        connection.execute(update(PriceSheet).values(valid_from=day))


@dataclass(frozen=True)
class MonthEvents:
    """When the month's events happened (for the printout)."""

    outage: tuple[datetime, datetime]
    price_change: datetime
    spike: datetime
    budget_limit: Money
    end: datetime


def add_month(
    engine: Engine, sessions: SessionFactory, *, settings: CostingSettings, day: datetime
) -> MonthEvents:
    """Synthesize and store the month after the support day, change a price on its day, set a
    budget, and fold everything with the aggregation job at the month's end."""
    date_price_sheets(engine, day=day)
    insert_month(engine, synthesize(read_bundle(engine, day=day), day=day))
    change = day + timedelta(days=PRICE_DAY)
    set_price(
        sessions,
        key=PRICE_KEY,
        value=PRICE_VALUE,
        now=change,
        changed_by="demo",
        defaults=settings.prices,
    )
    end = day + timedelta(days=DAYS + 1)
    run_job(sessions, now=end, timezone=settings.timezone)  # prices the records, folds them
    limit = _budget_limit(sessions, day=day)
    set_budget(
        sessions,
        scope=BUDGET_SCOPE,
        limit=limit,
        now=day + timedelta(days=BUDGET_SET_DAY),
        currency=settings.prices.currency,
        changed_by="demo",
    )
    outage_day = day + timedelta(days=OUTAGE_DAY)
    return MonthEvents(
        (outage_day + _hours(OUTAGE_FROM), outage_day + _hours(OUTAGE_TO)),
        change,
        day + timedelta(days=SPIKE_DAY, hours=13),
        limit,
        end,
    )


def _budget_limit(sessions: SessionFactory, *, day: datetime) -> Money:
    """A monthly limit the month's spend crosses in its last week: the spend of the first three
    weeks × 1.25, rounded up at its second significant digit."""
    from costing.periods import Period

    weeks = Period(day + timedelta(days=1), day + timedelta(days=22))
    sums = read_totals(sessions, period=weeks, scope=BUDGET_SCOPE)
    spent = sum(t.total_pico for t in sums.values())
    amount = Money(spent).amount * BUDGET_MARGIN
    step = Decimal(1).scaleb(amount.adjusted() - 1)
    return Money.from_decimal((amount / step).to_integral_value(rounding=ROUND_UP) * step)
