"""`costbot demo`: the whole loop on one machine, no Discord token and no GPU needed.

Starts the model service with the shipped adapters, replays a scripted support conversation
through the console bot, records every inference's cost in a fresh SQLite database, runs the
aggregation job, and prints per message and in total what it cost and what it was worth.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bot.runtime import open_resources
from bot.settings import BotConfig
from bot.support import SupportReply, handle_support_message
from costbot.cli.tables import cost_components_table, roi_table
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
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.migrate import upgrade
from storage.types import utc_now

CONVERSATION = Path(__file__).with_name("conversation.txt")


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced, for the summary and for tests."""

    replies: tuple[SupportReply, ...]
    report: CostReport
    roi: RoiReport
    charts: tuple[Path, ...]


def conversation_lines(path: Path = CONVERSATION) -> list[str]:
    """The customer messages of the scripted conversation (comments and blanks skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def run_demo(base: Settings, *, workdir: Path, console: Console) -> DemoResult:
    """Run the demo in `workdir` (its database is made anew) and print what happened."""
    settings = _demo_settings(base, workdir)
    engine = create_db_engine(settings.database)
    upgrade(engine)
    sessions = session_factory(engine)
    service_log = workdir / "service.log"
    console.print(f"starting the model service with the shipped adapters (log: {service_log})")
    service = service_process(settings.service, log_path=service_log, ready=True)
    with _environment(settings), service:
        replies = asyncio.run(_replay(settings.bot_config(), conversation_lines(), console))
    now = utc_now()
    with console.status("aggregating the cost records…"):
        run_job(sessions, now=now, timezone=settings.aggregation.timezone)
    result = _answers(settings.costing, sessions, now=now, replies=replies, workdir=workdir)
    engine.dispose()
    print_summary(result, console)
    return result


def _demo_settings(base: Settings, workdir: Path) -> Settings:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
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


async def _replay(config: BotConfig, lines: list[str], console: Console) -> list[SupportReply]:
    replies: list[SupportReply] = []
    async with open_resources(config) as res:
        context = res.support(user_id="demo-customer", salt="costbot-demo")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("customer messages", total=len(lines))
            for line in lines:
                replies.append(await handle_support_message(line, context=context))
                progress.advance(task)
    return replies


def _answers(
    settings: CostingSettings,
    sessions: SessionFactory,
    *,
    now: datetime,
    replies: list[SupportReply],
    workdir: Path,
) -> DemoResult:
    book = PriceBook(sessions, defaults=settings.prices)
    zone = settings.timezone
    report = cost_report(
        sessions, period="today", group_by="day", now=now, prices=book, timezone=zone
    )
    roi = roi_report(
        sessions, period="today", now=now, prices=book, roi_settings=settings.roi, timezone=zone
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
    return DemoResult(tuple(replies), report, roi, charts)


def print_summary(result: DemoResult, console: Console) -> None:
    """Per-message table, totals by component, ROI and the chart paths."""
    console.print(_message_table(result.replies))
    title = f"Inference cost today, by component ({result.report.currency})"
    console.print(cost_components_table(result.report, title=title))
    console.print(roi_table(result.roi, title="Is the bot cheaper than human agents? (today)"))
    for chart in result.charts:
        console.print(f"chart: {chart}")


def _message_table(replies: tuple[SupportReply, ...]) -> Table:
    costs = [r.cost for r in replies if r.cost is not None]
    currency = costs[0].currency if costs else "USD"
    measured = "measured" if costs and all(c.energy_measured for c in costs) else "estimated"
    table = Table(
        title=f"Support conversation (cost per 1,000 such messages, {currency}; energy {measured})"
    )
    for column in ("#", "intent", "conf.", "sentiment", "outcome", "cost", "energy"):
        right = column in ("#", "conf.", "cost", "energy")
        if column == "intent":
            table.add_column(column, min_width=14, overflow="fold")
        else:
            table.add_column(column, justify="right" if right else "left", no_wrap=right)
    for number, reply in enumerate(replies, start=1):
        cost = reply.cost
        table.add_row(
            str(number),
            reply.intent,
            f"{reply.confidence:.0%}",
            reply.sentiment or "-",
            _outcome(reply),
            figures.number(cost.total.amount * PER_MESSAGES) if cost else "-",
            figures.energy(cost.energy) if cost else "-",
        )
    return table


def _outcome(reply: SupportReply) -> str:
    if reply.outcome == "resolved":
        return "resolved"
    return "escalated: " + reply.reason.replace(" sentiment", "").replace("intent ", "")
