"""One-off costs of the ROI: training runs and dataset versions, amortised only once deployed.

A run is *deployed* from its first inference record carrying its adapter (``task@version`` in
``adapter_versions``); only deployed runs are amortised into ROI, from that moment. A run not
deployed by the period's end is R&D spend. A dataset version's annotation is charged once however
many runs used it: amortised from the first deployment of any run that used it, else R&D spend
when the first run using it finished. Every amount must be in the report's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from costing.aggregation import read_watermark
from costing.errors import CurrencyMixError
from costing.roi import OneOff
from costing.units import Money
from storage.db import SessionFactory, session_scope
from storage.tables import CostRollup, InferenceRecord, TrainingRun


@dataclass(frozen=True)
class RunFacts:
    """What the ROI needs of one training run."""

    task: str
    adapter_version: str
    finished_at: datetime
    cost: Money
    currency: str
    datasets: tuple[dict[str, Any], ...]

    @property
    def adapter(self) -> str:
        """How inference records name the adapter: ``task@version``."""
        return f"{self.task}@{self.adapter_version}"


@dataclass(frozen=True)
class Spend:
    """An R&D cost (a run never deployed, or a dataset version only such runs used)."""

    what: str
    cost: Money
    at: datetime


@dataclass(frozen=True)
class OneOffs:
    """The period's one-off costs: what is amortised into ROI and what is R&D spend."""

    amortised: tuple[OneOff, ...]
    rnd: tuple[Spend, ...]
    deployed: tuple[str, ...]

    def rnd_between(self, start: datetime, end: datetime) -> Money:
        """R&D spend that fell in [start, end)."""
        return sum((s.cost for s in self.rnd if start <= s.at < end), Money(0))

    @property
    def rnd_total(self) -> Money:
        return sum((s.cost for s in self.rnd), Money(0))


def one_offs(session_factory: SessionFactory, *, before: datetime, currency: str) -> OneOffs:
    """Training runs finished and deployments made before `before`, split into amortised
    one-offs and R&D spend; CurrencyMixError if any is not in `currency`."""
    with session_scope(session_factory) as session:
        runs = read_runs(session, before=before)
        check_currency(runs, currency=currency)
        deployed = {r.adapter: first_deployed(session, r) for r in runs if r.adapter_version}
    live = {k: t for k, t in deployed.items() if t is not None and t < before}
    return split_one_offs(runs, deployed=live)


def read_runs(session: Session, *, before: datetime) -> list[RunFacts]:
    """Every training run finished before a moment, with its whole recorded cost."""
    run = TrainingRun
    total = (
        col(run.cost_compute_pico)
        + col(run.cost_energy_pico)
        + col(run.cost_hardware_pico)
        + col(run.cost_data_pico)
    )
    query = sa_select(
        col(run.task),
        col(run.adapter_version),
        col(run.finished_at),
        total,
        col(run.currency),
        col(run.datasets),
    ).where(col(run.finished_at) < before)
    rows = cast(list[Any], session.execute(query.order_by(col(run.finished_at))).all())
    return [RunFacts(t, v, f, Money(int(c)), cur, tuple(d or ())) for t, v, f, c, cur, d in rows]


def check_currency(runs: list[RunFacts], *, currency: str) -> None:
    """CurrencyMixError naming the first run or dataset version not in `currency`."""
    for run in runs:
        found = {run.currency, *(d.get("currency", run.currency) for d in run.datasets)}
        other = sorted(found - {currency})
        if other:
            raise CurrencyMixError(
                f"training run {run.adapter} is in {other[0]} but the prices are in {currency}: "
                "a report never sums two currencies; convert that run's record"
            )


def first_deployed(session: Session, run: RunFacts) -> datetime | None:
    """The first inference record carrying the run's adapter: from the first roll-up hour of
    its version (then exact in that hour), or from the live tail."""
    adapter = col(InferenceRecord.adapter_versions).contains(run.adapter)
    first = col(InferenceRecord.created_at)
    hour = session.execute(
        sa_select(func.min(col(CostRollup.hour))).where(
            col(CostRollup.model_version) == run.adapter_version, col(CostRollup.model_name) != ""
        )
    ).scalar()
    found: list[datetime | None] = []
    if hour is not None:
        in_hour = (first >= hour) & (first < hour + timedelta(hours=1))
        found += [session.execute(sa_select(func.min(first)).where(adapter, in_hour)).scalar()]
    tail = col(InferenceRecord.id) > read_watermark(session)
    found += [session.execute(sa_select(func.min(first)).where(adapter, tail)).scalar()]
    moments = [t for t in found if t is not None]
    return min(moments) if moments else None


def split_one_offs(runs: list[RunFacts], *, deployed: dict[str, datetime]) -> OneOffs:
    """Deployed runs amortised from deployment, the rest R&D; each dataset version once."""
    amortised: list[OneOff] = []
    rnd: list[Spend] = []
    for run in runs:
        when = deployed.get(run.adapter)
        if when is not None:
            amortised.append(OneOff(run.cost, when))
        else:
            rnd.append(Spend(f"training run {run.adapter}", run.cost, run.finished_at))
    for key, cost, when, rnd_at in _dataset_versions(runs, deployed=deployed):
        if when is not None:
            amortised.append(OneOff(cost, when))
        else:
            rnd.append(Spend(f"dataset {key}", cost, rnd_at))
    return OneOffs(tuple(amortised), tuple(rnd), tuple(sorted(deployed)))


def _dataset_versions(
    runs: list[RunFacts], *, deployed: dict[str, datetime]
) -> list[tuple[str, Money, datetime | None, datetime]]:
    """(name@version, annotation cost, first deployment of a run using it, first use) per
    priced dataset version, each once."""
    versions: dict[str, tuple[Money, datetime | None, datetime]] = {}
    for run in runs:  # in order of finished_at: the first use comes first
        when = deployed.get(run.adapter)
        for data in run.datasets:
            cost = Money(int(data.get("annotation_pico", 0)))
            if not cost.pico:
                continue
            key = f"{data['name']}@{data.get('version', '')}"
            _, used, first = versions.get(key, (cost, None, run.finished_at))
            earliest = min((t for t in (used, when) if t is not None), default=None)
            versions[key] = (cost, earliest, first)
    return [(key, cost, used, first) for key, (cost, used, first) in versions.items()]
