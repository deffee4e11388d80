"""The ROI answer as lines (figure, value, where it came from): one list that the CLI table,
the chat reply and the demo all show, so every surface says the same."""

from __future__ import annotations

from dataclasses import dataclass

from costing import figures
from costing.figures import money
from costing.roi_report import RoiReport


@dataclass(frozen=True)
class RoiLine:
    """One figure of the ROI answer; ``indent`` marks a part of the line above."""

    name: str
    value: str
    source: str
    indent: bool = False


def _rate(value: float | None) -> str:
    return "n/a (nothing settled)" if value is None else figures.share(value)


def _count(report: RoiReport, name: str) -> str:
    return f"{report.outcomes.counts[name]:,}"


def outcome_lines(report: RoiReport) -> list[RoiLine]:
    """Conversations, their outcomes and the rates."""
    reasons = ", ".join(f"{r} {n}" for r, n in _reasons(report).items()) or "none"
    window = f"{report.inputs.recontact_window_h} h" if report.inputs else "the window"
    return [
        RoiLine("conversations", f"{report.outcomes.conversations:,}", "measured"),
        RoiLine(
            "contained",
            _count(report, "contained"),
            f"measured: no person, no re-contact within {window}",
            indent=True,
        ),
        RoiLine(
            "confirmed",
            _count(report, "confirmed"),
            "measured: the customer said solved",
            indent=True,
        ),
        RoiLine(
            "reopened",
            _count(report, "reopened"),
            "measured: re-contact, or a person asked for after an answer",
            indent=True,
        ),
        RoiLine(
            "escalated", _count(report, "escalated"), "measured: handed to a person", indent=True
        ),
        RoiLine(
            "not settled yet", _count(report, "pending"), "open, or within the window", indent=True
        ),
        RoiLine(
            "fallback only",
            _count(report, "unanswered"),
            "measured: never a resolution",
            indent=True,
        ),
        RoiLine(
            "containment rate",
            _rate(report.containment_rate),
            "measured: (contained + confirmed) / settled",
        ),
        RoiLine("confirmed share", _rate(report.confirmed_share), "measured: confirmed / settled"),
        RoiLine("re-contact rate", _rate(report.recontact_rate), "measured: reopened / settled"),
        RoiLine("escalation rate", _rate(report.escalation_rate), f"measured; reasons: {reasons}"),
    ]


def money_lines(report: RoiReport) -> list[RoiLine]:
    """Value, cost and the derived figures."""
    return [
        *_value_lines(report),
        *_cost_lines(report),
        *_derived_lines(report),
        *_beside_roi_lines(report),
    ]


def _value_lines(report: RoiReport) -> list[RoiLine]:
    cur = report.currency
    ticket = " then ".join(f"{t} {cur}" for t in report.ticket_costs) or "no"
    rate = report.inputs.unconfirmed_answer_rate if report.inputs else "?"
    return [
        RoiLine(
            "value, measured",
            money(report.value, cur),
            f"confirmed + contained (measured) × {ticket} per ticket on the price sheet "
            "(configured)",
        ),
        RoiLine(
            "value resting on assumptions",
            money(report.value_assumed, cur),
            f"configured: unsettled answers × ticket × {rate}; not in the ROI",
        ),
    ]


def _cost_lines(report: RoiReport) -> list[RoiLine]:
    """The cost and its parts (indented)."""
    cur = report.currency
    penalty = report.inputs.wrong_answer_penalty if report.inputs else "?"
    fixed = "pro-rated to the period so far" if report.projection else "whole period"
    return [
        RoiLine("cost", money(report.cost, cur), "inference + idle + training + wrong answers"),
        RoiLine(
            "inference",
            figures.per_thousand(report.inference_cost, report.calls, cur),
            f"inference records ({money(report.inference_cost, cur)} for {report.calls:,})",
            indent=True,
        ),
        RoiLine("idle hardware", money(report.idle, cur), f"configured; {fixed}", indent=True),
        RoiLine(
            "training, amortised",
            money(report.training_amortised, cur),
            f"deployed model ({_deployed(report)}) and its data, from first deployment, "
            f"over {report.amortisation_months} months; {fixed}",
            indent=True,
        ),
        RoiLine(
            "wrong answers",
            money(report.wrong_answers, cur),
            f"reopened × (ticket + {penalty} {cur} penalty, configured)",
            indent=True,
        ),
    ]


def _derived_lines(report: RoiReport) -> list[RoiLine]:
    """ROI, payback and break-even."""
    return [
        RoiLine("ROI", figures.percent(report.roi), "(measured value − cost) / cost"),
        RoiLine(
            "payback",
            figures.days(report.payback_days),
            f"{money(report.unamortised, report.currency)} not yet amortised ÷ net value per "
            f"day over {_window(report)}",
        ),
        RoiLine(
            "break-even",
            _conversations(report.break_even_messages),
            "contained conversations whose margin covers the unamortised training cost",
        ),
        RoiLine(
            "break-even volume",
            _per_month(report.break_even_per_month),
            "contained conversations a month covering a month of fixed cost",
        ),
    ]


def _beside_roi_lines(report: RoiReport) -> list[RoiLine]:
    """R&D spend, the projection's whole-period fixed cost and revenue: not in the ROI."""
    cur = report.currency
    lines = [
        RoiLine(
            "R&D spend",
            money(report.rnd_spend, cur),
            f"training runs never deployed, in the period ({money(report.rnd_to_date, cur)} "
            "to date); not in the ROI",
        )
    ]
    if report.projection is not None:
        whole = figures.moment(report.projection.end, report.timezone)
        lines.append(
            RoiLine(
                "fixed cost, whole period",
                money(report.projection.idle + report.projection.training_amortised, cur),
                f"projection: idle + training to {whole}",
            )
        )
    if report.revenue is not None:
        lines.append(RoiLine("revenue", money(report.revenue, cur), "calls × price per call"))
    return lines


def roi_lines(report: RoiReport) -> list[RoiLine]:
    """Every line of the ROI answer, in the order people read them."""
    return [*outcome_lines(report), *money_lines(report)]


def _reasons(report: RoiReport) -> dict[str, int]:
    """Escalation reasons, the policy's intents counted together (the JSON keeps each)."""
    merged: dict[str, int] = {}
    for reason, count in report.outcomes.reasons.items():
        key = reason.split(":")[0]
        merged[key] = merged.get(key, 0) + count
    return dict(sorted(merged.items(), key=lambda item: -item[1]))


def _deployed(report: RoiReport) -> str:
    return ", ".join(report.deployed) or "none yet"


def _window(report: RoiReport) -> str:
    if report.rate_window is None:
        return "the period"
    window = report.rate_window
    return figures.period(window.start, window.end, window.timezone)


def _conversations(count: int | None) -> str:
    return "n/a (no margin yet)" if count is None else f"{count:,} conversations"


def _per_month(count: int | None) -> str:
    return "n/a (no margin yet)" if count is None else f"{count:,} conversations/month"
