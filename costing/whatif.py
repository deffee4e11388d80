"""What the measured workload would cost elsewhere: this deployment, a GPU instance, a hosted model
priced per token, human agents; per 1,000 messages, each figure labelled, with the monthly volume
at which this deployment and each alternative cost the same.

Every option is a line: cost per month = fixed per month + variable per message × messages per
month. The workload's volume is the period's messages scaled to a month (365.25 / 12 days).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from costing.errors import CostingError
from costing.prices import Prices
from costing.roi import DAYS_PER_MONTH
from costing.settings import WhatIfSettings

Provenance = Literal["measured", "configured", "estimated"]
PER = 1000  # messages
MONTH_DAYS = Decimal(str(DAYS_PER_MONTH))
ROOT = Path(__file__).resolve().parents[1]


class WhatIfError(CostingError):
    """The what-if cannot be priced (no messages, an unreadable benchmark)."""


@dataclass(frozen=True)
class Workload:
    """The measured work of a period: messages, their characters, what they cost here."""

    messages: int
    input_chars: int
    days: Decimal
    variable_cost: Decimal  # inference records' cost (measured)
    fixed_cost: Decimal  # idle instance + amortised training over the period
    currency: str

    @property
    def per_month(self) -> Decimal:
        """Messages a month at the period's pace."""
        return Decimal(self.messages) * MONTH_DAYS / self.days


@dataclass(frozen=True)
class Throughput:
    """Messages per second from a recorded benchmark, and what the figure is."""

    per_second: Decimal
    source: str
    provenance: Provenance


@dataclass(frozen=True)
class Option:
    """One way to serve the workload, as a cost line over monthly volume."""

    name: str
    provenance: Provenance
    fixed_per_month: Decimal
    variable_per_message: Decimal
    inputs: tuple[str, ...]
    # Messages a month its fixed cost covers (a GPU instance's throughput); None: no limit.
    capacity_per_month: Decimal | None = None

    def per_month_at(self, volume: Decimal) -> Decimal:
        """Cost of a month at `volume` messages."""
        return self.fixed_per_month + self.variable_per_message * volume

    def per_thousand_at(self, volume: Decimal) -> Decimal:
        """Cost per 1,000 messages at `volume` messages a month."""
        return self.per_month_at(volume) / volume * PER


def break_even(here: Option, other: Option) -> Decimal | None:
    """Monthly messages at which both cost the same; None when the lines never cross at a
    positive volume within the instances' capacity (one is cheaper at every volume)."""
    slope = other.variable_per_message - here.variable_per_message
    if slope == 0:
        return None
    volume = (here.fixed_per_month - other.fixed_per_month) / slope
    capacity = min(
        (c for c in (here.capacity_per_month, other.capacity_per_month) if c is not None),
        default=None,
    )
    if capacity is not None and volume > capacity:
        return None  # beyond what the fixed cost covers: the lines no longer hold
    return volume if volume > 0 else None


def this_deployment(work: Workload) -> Option:
    """The measured costs: records' cost per message, idle and amortisation per month."""
    return Option(
        "this deployment",
        "measured",
        work.fixed_cost * MONTH_DAYS / work.days,
        work.variable_cost / work.messages,
        (
            f"{work.messages} messages in {work.days:g} days (measured)",
            f"{work.variable_cost:.6g} {work.currency} inference cost (measured)",
            f"{work.fixed_cost:.6g} {work.currency} idle + amortised training (configured prices)",
        ),
    )


def gpu_instance(work: Workload, *, hourly: Decimal, throughput: Throughput) -> Option:
    """Whole GPU instances paid by the hour, as many as the monthly volume needs at the
    benchmark's throughput (at least one)."""
    capacity = throughput.per_second * 3600 * 24 * MONTH_DAYS
    count = max(1, math.ceil(work.per_month / capacity))
    return Option(
        "GPU instance",
        "configured",
        hourly * 24 * MONTH_DAYS * count,
        Decimal(0),
        (
            f"{count} instance(s) at {hourly} {work.currency}/h (configured: prices.gpu_hour)",
            f"{throughput.per_second:.4g} messages/s "
            f"({throughput.provenance}: {throughput.source})",
        ),
        capacity * count,
    )


def hosted_model(work: Workload, *, settings: WhatIfSettings) -> Option:
    """A hosted model paid per token; tokens estimated from characters."""
    chars_in = Decimal(work.input_chars) / work.messages + settings.prompt_chars
    tokens_in = chars_in / settings.chars_per_token
    tokens_out = Decimal(settings.reply_chars) / settings.chars_per_token
    per_message = (
        tokens_in * settings.hosted_input_per_mtok + tokens_out * settings.hosted_output_per_mtok
    ) / 1_000_000
    return Option(
        f"hosted model ({settings.hosted_model})",
        "estimated",
        Decimal(0),
        per_message,
        (
            f"{tokens_in:.4g} input + {tokens_out:.4g} output tokens per message (estimated: "
            f"characters / {settings.chars_per_token})",
            f"{settings.hosted_input_per_mtok} / {settings.hosted_output_per_mtok} {work.currency} "
            "per 1M input / output tokens (configured)",
        ),
    )


def human_agents(work: Workload, *, ticket_cost: Decimal, settings: WhatIfSettings) -> Option:
    """People: a ticket's cost per `human_messages_per_ticket` messages."""
    return Option(
        "human agents",
        "configured",
        Decimal(0),
        ticket_cost / settings.human_messages_per_ticket,
        (
            f"{ticket_cost} {work.currency} per ticket (configured: prices.human_ticket_cost)",
            f"{settings.human_messages_per_ticket} messages per ticket (configured)",
        ),
    )


def benchmark_throughput(path: str) -> Throughput:
    """Messages per second from a recorded benchmark (JSONL): the best `throughput_rps` of a
    serving benchmark (measured), or a training sweep's examples per second, a lower bound on
    serving (estimated). WhatIfError names the file when it holds neither."""
    file = Path(path) if Path(path).is_absolute() else ROOT / path
    try:
        rows = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise WhatIfError(
            f"cannot read benchmark {path}: {error}; set whatif.gpu_benchmark"
        ) from None
    served = [row["throughput_rps"] for row in rows if "throughput_rps" in row]
    if served:
        return Throughput(Decimal(str(max(served))), f"{path}, best throughput_rps", "measured")
    trained = [r for r in rows if "wall_s" in r and "corpora" in r.get("metrics", {})]
    if not trained:
        raise WhatIfError(f"benchmark {path} has no throughput_rps nor a training sweep's rows")
    return _training_rate(trained[0], path)


def _training_rate(row: dict[str, Any], path: str) -> Throughput:
    """Training examples per second: each is a forward and a backward pass, so serving (forward
    only) is at least as fast."""
    metrics = row["metrics"]
    per_epoch = sum(c["per_epoch"] or c["train_rows"] for c in metrics["corpora"].values())
    rate = Decimal(per_epoch * metrics["epochs_run"]) / Decimal(str(row["wall_s"]))
    note = f"{path}: {row.get('variant', 'first')} run's training examples/s, a lower bound"
    return Throughput(rate, note, "estimated")


@dataclass(frozen=True)
class WhatIf:
    """The options priced at the measured volume, with break-even volumes against this one."""

    workload: Workload
    options: tuple[Option, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: `options` with name, cost_per_1000_messages, provenance."""
        volume, here = self.workload.per_month, self.options[0]
        return {
            "currency": self.workload.currency,
            "messages": self.workload.messages,
            "messages_per_month": _text(volume, 1),
            "options": [_option_json(o, here, volume) for o in self.options],
        }


def _option_json(option: Option, here: Option, volume: Decimal) -> dict[str, Any]:
    crossing = None if option is here else break_even(here, option)
    cheaper = None
    if option is not here and crossing is None:
        cheaper = min((here, option), key=lambda o: o.per_thousand_at(volume)).name
    return {
        "name": option.name,
        "cost_per_1000_messages": _text(option.per_thousand_at(volume), 6),
        "provenance": option.provenance,
        "fixed_per_month": _text(option.fixed_per_month, 6),
        "variable_per_1000_messages": _text(option.variable_per_message * PER, 6),
        "break_even_messages_per_month": None if crossing is None else _text(crossing, 0),
        "cheaper_at_every_volume": cheaper,
        "inputs": list(option.inputs),
    }


def _text(value: Decimal, places: int) -> str:
    if not places:
        return str(round(value))
    return format(round(value, places).normalize(), "f")


def what_if(
    work: Workload, *, prices: Prices, settings: WhatIfSettings, throughput: Throughput
) -> WhatIf:
    """Price the workload on every option; WhatIfError when the period has no messages."""
    if work.messages <= 0 or work.days <= 0:
        raise WhatIfError("no messages in this period to price; pick a period with traffic")
    return WhatIf(
        work,
        (
            this_deployment(work),
            gpu_instance(work, hourly=prices.gpu_hour, throughput=throughput),
            hosted_model(work, settings=settings),
            human_agents(work, ticket_cost=prices.human_ticket_cost, settings=settings),
        ),
    )
