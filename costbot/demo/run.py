"""`costbot demo`: the whole loop on one machine, no Discord token and no GPU needed.

Starts the model service with the shipped adapters, replays a scripted support day (customers,
their feedback, a re-contact, an agent's replies) through the console bot on a simulated, closed
day with fixed timestamps, records every inference's cost in a fresh SQLite database, runs the
aggregation job, and prints per message and in total what it cost and what it was worth. The
day is the one after the shipped model's training finished, and the report is made two days
later, when every conversation has settled: two runs print the same ROI, payback and break-even.

Then four weeks after that day are added (costbot.demo.month: synthesized from the day, seeded,
with simulated timestamps; an outage, a price change, a spike, a budget) and the alerts raised on
the way, the forecast, the month's ROI and the what-if are printed, with three more charts.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.console import support_action
from bot.conversations import ConversationStore
from bot.runtime import open_resources
from bot.settings import BotConfig
from bot.support import SupportContext, SupportReply, handle_support_message
from costbot.cli.tables import cost_components_table, roi_table
from costbot.demo.month_report import MonthResult, print_month, run_month
from costbot.demo.workdir import prepare_workdir
from costbot.settings import Settings
from costbot.up import service_process
from costing import figures
from costing.charts import cost_per_day_chart, value_vs_cost_chart
from costing.cost_report import CostReport, cost_report
from costing.figures import PER_MESSAGES
from costing.jobs import run_job
from costing.periods import Period
from costing.prices import PriceBook
from costing.roi_report import RoiReport, daily_value_and_cost, roi_report
from costing.settings import CostingSettings
from storage.db import SessionFactory, create_db_engine, session_factory, session_scope
from storage.migrate import upgrade
from storage.tables import InferenceRecord, SupportOutcome, TrainingRun

CONVERSATION = Path(__file__).with_name("conversation.txt")
LINE = re.compile(r"^(\d\d):(\d\d) (agent@)?([\w-]+): (.+)$")


@dataclass(frozen=True)
class ScriptLine:
    """One line of the scripted day: when, who (a customer, or an agent answering one), what."""

    minute: int
    customer: str
    text: str
    agent: bool = False


@dataclass(frozen=True)
class DemoStep:
    """What happened on one line: the bot's reply to a customer, or a button or agent action."""

    line: ScriptLine
    reply: SupportReply | None = None
    note: str = ""


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced, for the summary and for tests."""

    steps: tuple[DemoStep, ...]
    report: CostReport
    roi: RoiReport
    charts: tuple[Path, ...]
    month: MonthResult | None = None


def conversation_lines(path: Path = CONVERSATION) -> list[ScriptLine]:
    """The scripted day (comments and blanks skipped); a malformed line is a one-line error."""
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        found = LINE.match(raw.strip())
        if found is None:
            raise ValueError(f"{path.name}:{number}: expected 'HH:MM WHO: TEXT'")
        hour, minute, agent, who, text = found.groups()
        lines.append(ScriptLine(int(hour) * 60 + int(minute), who, text, agent is not None))
    return lines


def run_demo(base: Settings, *, workdir: Path, console: Console) -> DemoResult:
    """Run the demo in `workdir` (made and marked by the demo; its database is made anew) and
    print what happened; UsageError for a non-empty folder the demo did not make."""
    settings = _demo_settings(base, workdir)
    engine = create_db_engine(settings.database)
    upgrade(engine)
    sessions = session_factory(engine)
    service_log = workdir / "service.log"
    console.print(f"starting the model service with the shipped adapters (log: {service_log})")
    service = service_process(settings.service, log_path=service_log, ready=True)
    with _environment(settings), service:
        day = _simulated_day(sessions, timezone=settings.aggregation.timezone)
        steps = asyncio.run(_replay(settings.bot_config(), conversation_lines(), console, day))
    _date_records(engine)
    now = day + REPORT_AFTER
    with console.status("aggregating the cost records…"):
        run_job(sessions, now=now, timezone=settings.aggregation.timezone)
    result = _answers(settings.costing, sessions, now=now, day=day, steps=steps, workdir=workdir)
    print_summary(result, console)
    with console.status("adding the month after the support day…"):
        month = run_month(engine, sessions, settings=settings.costing, day=day, workdir=workdir)
    engine.dispose()
    print_month(month, console)
    return replace(result, month=month)


REPORT_AFTER = timedelta(days=3)  # after the day, its idle timeouts and the re-contact window


def _simulated_day(sessions: SessionFactory, *, timezone: str) -> datetime:
    """Local midnight of the day after the latest recorded training run finished (the day the
    model serves), or of a fixed day when none is recorded."""
    with session_scope(sessions) as session:
        finished = session.exec(select(func.max(col(TrainingRun.finished_at)))).one()
    zone = ZoneInfo(timezone)
    first = finished.astimezone(zone).date() if finished else date(2026, 11, 30)
    return datetime.combine(first + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def _date_records(engine: Engine) -> None:
    """Give each inference record its message's simulated time (the service stamped the
    wall clock); outcomes, conversations and events already carry the simulated times."""
    moment = (
        sa_select(SupportOutcome.created_at)  # type: ignore[call-overload]
        .where(col(SupportOutcome.request_id) == col(InferenceRecord.request_id))
        .scalar_subquery()
    )
    answered = sa_select(SupportOutcome.request_id).where(  # type: ignore[call-overload]
        col(SupportOutcome.request_id) != ""
    )
    with engine.begin() as connection:
        connection.execute(
            update(InferenceRecord)
            .where(col(InferenceRecord.request_id).in_(answered))
            .values(created_at=moment)
        )


def _demo_settings(base: Settings, workdir: Path) -> Settings:
    prepare_workdir(workdir)
    port = _free_port()
    database = base.database.model_copy(
        update={"url": f"sqlite:///{workdir / 'costbot.db'}", "spool_path": workdir / "spool.jsonl"}
    )
    service = base.service.model_copy(
        update={"host": "127.0.0.1", "port": port, "url": f"http://127.0.0.1:{port}"}
    )
    return base.model_copy(update={"database": database, "service": service})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _environment(settings: Settings) -> Iterator[None]:
    """Hand the demo's database and port to the service subprocess through its environment."""
    overrides = {
        "COSTBOT_DATABASE__URL": settings.database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(settings.database.spool_path),
        "COSTBOT_SERVICE__HOST": settings.service.host,
        "COSTBOT_SERVICE__PORT": str(settings.service.port),
    }
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def _replay(
    config: BotConfig, lines: list[ScriptLine], console: Console, day: datetime
) -> list[DemoStep]:
    steps: list[DemoStep] = []
    clock = [day]
    async with open_resources(config) as res:
        contexts: dict[str, SupportContext] = {}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("the support day", total=len(lines))
            for line in lines:
                clock[0] = day + timedelta(minutes=line.minute)
                if line.customer not in contexts:
                    contexts[line.customer] = res.support(
                        user_id=line.customer, salt=config.discord.salt(), clock=lambda: clock[0]
                    )
                steps.append(await _step(line, contexts[line.customer]))
                progress.advance(task)
        store = ConversationStore(res.session_factory, idle_timeout=config.support.idle_timeout)
        store.close_idle(now=day + timedelta(days=1))
    return steps


async def _step(line: ScriptLine, context: SupportContext) -> DemoStep:
    store = context.conversations
    assert store is not None
    now = context.clock()
    if line.agent and line.text == "/close":
        found = store.open_for(context.customer())
        if found is not None:
            store.close(found.uid, now=now, by="agent")
        return DemoStep(line, note="closed by the agent")
    if line.agent:
        store.agent_message(context.customer(), now=now)
        return DemoStep(line, note="an agent replied")
    if line.text in ("/solved", "/person"):
        support_action(line.text[1:], context=context)
        return DemoStep(
            line, note="said solved" if line.text == "/solved" else "asked for a person"
        )
    return DemoStep(line, reply=await handle_support_message(line.text, context=context))


def _answers(
    settings: CostingSettings,
    sessions: SessionFactory,
    *,
    now: datetime,
    day: datetime,
    steps: list[DemoStep],
    workdir: Path,
) -> DemoResult:
    book = PriceBook(sessions, defaults=settings.prices)
    zone = settings.timezone
    period = day.astimezone(ZoneInfo(zone)).date().isoformat()
    window = f"{period}..{period}"
    report = cost_report(
        sessions, period=window, group_by="day", now=now, prices=book, timezone=zone
    )
    roi = roi_report(
        sessions, period=window, now=now, prices=book, roi_settings=settings.roi, timezone=zone
    )
    points = daily_value_and_cost(
        sessions,
        period=Period(roi.start, roi.end, roi.timezone),
        now=now,
        prices=book,
        roi_settings=settings.roi,
    )
    charts = (workdir / "cost-per-day.png", workdir / "value-vs-cost.png")
    cost_per_day_chart(report, path=charts[0])
    value_vs_cost_chart(points, currency=report.currency, path=charts[1])
    return DemoResult(tuple(steps), report, roi, charts)


def print_summary(result: DemoResult, console: Console) -> None:
    """Per-message table, totals by component, outcomes and ROI, and the chart paths."""
    day = figures.period(result.roi.start, result.roi.end, result.roi.timezone)
    console.print(_message_table(result.steps))
    title = f"Inference cost on the simulated day, by component ({result.report.currency})"
    console.print(cost_components_table(result.report, title=title))
    console.print(roi_table(result.roi, title="Does the bot pay? (a closed, simulated day)"))
    console.print(f"simulated day: {day}; reported {REPORT_AFTER.days} days later")
    for chart in result.charts:
        console.print(f"chart: {chart}")


def _message_table(steps: tuple[DemoStep, ...]) -> Table:
    costs = [s.reply.cost for s in steps if s.reply is not None and s.reply.cost is not None]
    currency = costs[0].currency if costs else "USD"
    measured = "measured" if costs and all(c.energy_measured for c in costs) else "estimated"
    table = Table(title=f"The support day (cost per 1,000 such messages, {currency}; {measured})")
    table.add_column("time", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("intent", min_width=14, overflow="fold")
    table.add_column("conf.", justify="right", no_wrap=True)
    table.add_column("bot", overflow="fold")
    table.add_column("cost", justify="right", no_wrap=True)
    for step in steps:
        line, reply = step.line, step.reply
        who = f"agent@{line.customer}" if line.agent else line.customer
        time_ = f"{line.minute // 60:02d}:{line.minute % 60:02d}"
        if reply is None:
            table.add_row(time_, who, "", "", step.note, "")
            continue
        cost = reply.cost
        shown = reply.outcome != "paused" and reply.reason != "model service unavailable"
        table.add_row(
            time_,
            who,
            reply.intent if shown else "",
            f"{reply.confidence:.0%}" if shown else "",
            _outcome(reply),
            figures.number(cost.total.amount * PER_MESSAGES) if cost else "-",
        )
    return table


SHORT_REASONS = {
    "strongly negative sentiment": "very negative",
    "intent unknown": "unknown",
    "asked for a person": "asked",
    "ambiguous intent": "ambiguous",
}


def _outcome(reply: SupportReply) -> str:
    if reply.outcome == "resolved":
        return "answered"
    if reply.outcome == "fallback":
        return "fallback"
    if reply.outcome == "paused":
        return "quiet (agent)"
    if reply.reason.startswith("intent needs a person"):
        return "to a person: policy"
    return "to a person: " + SHORT_REASONS.get(reply.reason, reply.reason)
