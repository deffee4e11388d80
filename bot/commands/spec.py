"""What each command is called and accepts: one table for the console, Discord and /help."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.errors import OptionError
from costing.periods import DEFAULT_PERIOD, PERIOD_SHORT
from costing.prices import PRICE_KEYS
from costing.readers import DEFAULT_GROUP, GROUPS, SCOPES

OptionKind = Literal["string", "integer", "number"]

MAX_TEXT_CHARS = 2000
MIN_BUDGET = 0.01
MAX_BUDGET = 1_000_000.0
MAX_PRICE = 1_000_000.0
MAX_PERIOD_CHARS = 40
FORECAST_PERIOD_CHOICES = ("month", "7d", "30d")  # costing.forecast.FORECAST_PERIODS


@dataclass(frozen=True)
class Option:
    """One option of a command, with the bounds our code enforces too."""

    name: str
    description: str
    kind: OptionKind = "string"
    required: bool = True
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    default: Any = None


@dataclass(frozen=True)
class CommandSpec:
    """One command (a subcommand is named 'group sub')."""

    name: str
    description: str
    options: tuple[Option, ...] = ()
    manage: bool = False
    slow: bool = False

    @property
    def usage(self) -> str:
        """How to type it, e.g. `/cost [period] [group_by]`."""
        parts = [f"{o.name}" if o.required else f"[{o.name}]" for o in self.options]
        return " ".join([f"/{self.name}", *parts])


_PERIOD = Option(
    "period",
    f"Which period: {PERIOD_SHORT}.",
    required=False,
    max_length=MAX_PERIOD_CHARS,
    default=DEFAULT_PERIOD,
)
_SCOPE_VALUE = Option(
    "value",
    "The model name or channel id (for scope model/channel).",
    required=False,
    max_length=200,
    default="",
)

SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "classify",
        "Classify a customer message: intent, sentiment, and what it cost.",
        (Option("text", "The message to classify.", max_length=MAX_TEXT_CHARS),),
        slow=True,
    ),
    CommandSpec(
        "cost",
        "What inference and training cost in a period, grouped.",
        (
            _PERIOD,
            Option(
                "group_by",
                "Group the costs by this.",
                required=False,
                choices=GROUPS,
                default=DEFAULT_GROUP,
            ),
        ),
        slow=True,
    ),
    CommandSpec("roi", "Value created versus cost in a period.", (_PERIOD,), slow=True),
    CommandSpec(
        "forecast",
        "Projected cost with an interval, and when each budget runs out.",
        (
            Option(
                "period",
                "month (this calendar month), 7d or 30d (the next 7 or 30 days).",
                required=False,
                choices=FORECAST_PERIOD_CHOICES,
                default="month",
            ),
        ),
        slow=True,
    ),
    CommandSpec(
        "whatif",
        "Cost per 1,000 messages here, on a GPU instance, a hosted model and with people.",
        (replace(_PERIOD, default="month"),),
        slow=True,
    ),
    CommandSpec("budget show", "Monthly budgets and how much of each is spent."),
    CommandSpec(
        "budget set",
        "Set a monthly budget (needs Manage Server).",
        (
            Option(
                "limit",
                "Monthly limit in the price sheet's currency.",
                kind="number",
                min_value=MIN_BUDGET,
                max_value=MAX_BUDGET,
            ),
            Option(
                "scope",
                "What the budget covers.",
                required=False,
                choices=SCOPES,
                default="all",
            ),
            _SCOPE_VALUE,
        ),
        manage=True,
    ),
    CommandSpec(
        "budget delete",
        "Delete a monthly budget and its alerts (needs Manage Server).",
        (
            Option("scope", "What the budget covers.", choices=SCOPES),
            _SCOPE_VALUE,
        ),
        manage=True,
    ),
    CommandSpec("prices show", "The prices in force, their version and where they came from."),
    CommandSpec(
        "prices set",
        "Change one price from now on, as a new version (Manage Server).",
        (
            Option("key", "Which price.", choices=PRICE_KEYS),
            Option("value", "The new value.", kind="number", min_value=0, max_value=MAX_PRICE),
        ),
        manage=True,
    ),
    CommandSpec("report now", "Post today's cost and ROI summary with a chart now.", slow=True),
    CommandSpec("models", "Loaded adapters: versions, metrics and training cost.", slow=True),
    CommandSpec("health", "Is the model service, the database and the scheduler up?", slow=True),
    CommandSpec("help", "What costbot can do."),
    # Answered by the support adapters themselves (Discord's handoff thread, the console).
    CommandSpec("close", "Close the support conversation of this handoff thread (agents)."),
)

SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


def validate(spec: CommandSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """Options converted and checked against the spec; OptionError says what is wrong."""
    unknown = sorted(set(raw) - {o.name for o in spec.options})
    if unknown:
        raise OptionError(f"`/{spec.name}` has no option `{unknown[0]}`. Usage: `{spec.usage}`")
    return {o.name: _check(spec, o, raw.get(o.name)) for o in spec.options}


def _check(spec: CommandSpec, option: Option, value: Any) -> Any:
    if value is None or value == "":
        if option.required:
            raise OptionError(f"`/{spec.name}` needs `{option.name}`. Usage: `{spec.usage}`")
        return option.default
    value = _convert(option, value)
    if option.choices and value not in option.choices:
        raise OptionError(f"`{option.name}` must be one of: {', '.join(option.choices)}.")
    if option.max_length is not None and len(value) > option.max_length:
        raise OptionError(
            f"`{option.name}` is too long ({len(value)} characters; at most {option.max_length})."
        )
    _check_range(option, value)
    return value


def _convert(option: Option, value: Any) -> Any:
    if option.kind == "string":
        return str(value).strip()
    try:
        number = float(value) if option.kind == "number" else int(value)
    except (TypeError, ValueError):
        raise OptionError(f"`{option.name}` must be a number, not {str(value)[:40]!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise OptionError(f"`{option.name}` must be a finite number.")
    return number


def _check_range(option: Option, value: Any) -> None:
    low, high = option.min_value, option.max_value
    if isinstance(value, str):
        return
    if (low is not None and value < low) or (high is not None and value > high):
        raise OptionError(
            f"`{option.name}` = {value:g} is out of range: it must be between {low:g} and {high:g}."
        )
