"""The forecast and the what-if as lines (figure, value, where it came from): one list that the
CLI, the chat and the demo all show, so every surface says the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from costing.figures import money
from costing.forecast import Forecast
from costing.roi_lines import RoiLine
from costing.units import Money
from costing.whatif import WhatIf


def _money(amount: Decimal | str, currency: str) -> str:
    return money(Money.from_decimal(Decimal(amount)), currency)


def forecast_lines(answer: Forecast) -> list[RoiLine]:
    """Spent, projected with its interval, the method and its backtest error, each budget."""
    data, cur = answer.to_json(), answer.currency
    low, high = data["interval"]["low"], data["interval"]["high"]
    mape = data["backtest_mape"]
    lines = [
        RoiLine("period", f"{data['from']} .. {data['to']}", f"forecast period {answer.period}"),
        RoiLine("spent so far", _money(data["spent_so_far"], cur), "measured"),
        RoiLine("projected cost", _money(data["projected_cost"], cur), "forecast"),
        RoiLine(
            f"{answer.interval_pct}% interval",
            f"{_money(low, cur)} .. {_money(high, cur)}",
            "simulated futures of the method",
            indent=True,
        ),
        RoiLine("method", data["method"], data["method_description"]),
        RoiLine(
            "backtest MAPE",
            "n/a (under 3 weeks of history)" if mape is None else f"{mape:.1f}%",
            f"7-day-ahead daily forecasts over {answer.history_days} days of history",
        ),
    ]
    return lines + [_budget_line(b, cur) for b in data["budgets"]]


def _budget_line(budget: dict[str, Any], currency: str) -> RoiLine:
    when = budget["exhaustion_date"]
    limit = _money(str(budget["limit"]), currency)
    value = f"runs out on {when}" if when else "not projected to run out this month"
    if budget["exceeded"]:
        value = f"already exceeded ({_money(str(budget['spent']), currency)} spent)"
    return RoiLine(f"budget {budget['scope']}", value, f"limit {limit} per month")


def whatif_lines(answer: WhatIf) -> list[RoiLine]:
    """Cost per 1,000 messages on each option, and its break-even against this deployment."""
    data, cur = answer.to_json(), answer.workload.currency
    lines = [
        RoiLine(
            "workload",
            f"{data['messages']:,} messages "
            f"({Decimal(data['messages_per_month']):,.0f} a month at this pace)",
            "measured",
        )
    ]
    for option in data["options"]:
        value = f"{_money(option['cost_per_1000_messages'], cur)} per 1,000 messages"
        lines.append(RoiLine(option["name"], value, option["provenance"]))
        crossing = option["break_even_messages_per_month"]
        if option["name"] != "this deployment":
            text = (
                f"{int(crossing):,} messages a month"
                if crossing
                else f"none: {option['cheaper_at_every_volume']} is cheaper at every volume"
            )
            lines.append(RoiLine("break-even", text, "same monthly cost", indent=True))
    return lines
