"""The escalation policy: when a customer message goes to a person, read from a TOML file
that is validated at start (unknown intents or bad thresholds are one-line errors)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

UNKNOWN = "unknown"
NEGATIVE = "negative"
DEFAULT_POLICY = "data/escalation_policy.toml"
KEYS = frozenset(
    {
        "always_escalate",
        "escalate_unknown",
        "ambiguity_margin",
        "negative_threshold",
        "person_phrases",
    }
)


class PolicyError(ValueError):
    """The escalation policy file is unreadable or invalid; the message names file and key."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"escalation policy {source}: {problem}")


@dataclass(frozen=True)
class MessageSignals:
    """What the classifier said about one message, as the policy reads it."""

    intent: str
    intent_score: float = 0.0
    runner_up_score: float = 0.0
    sentiment: str = ""
    sentiment_score: float = 0.0
    text: str = ""


@dataclass(frozen=True)
class EscalationPolicy:
    """Rules that send a message to a person; each returns its reason."""

    always_escalate: frozenset[str] = frozenset()
    escalate_unknown: bool = True
    ambiguity_margin: float = 0.0
    negative_threshold: float = 1.0
    person_phrases: tuple[str, ...] = ()

    def reason(self, signals: MessageSignals) -> str | None:
        """Why this message needs a person, or None when the bot may answer."""
        lowered = signals.text.lower()
        if any(phrase in lowered for phrase in self.person_phrases):
            return "asked for a person"
        if signals.intent == UNKNOWN:
            return "intent unknown" if self.escalate_unknown else None
        if signals.intent in self.always_escalate:
            return f"intent needs a person: {signals.intent}"
        if signals.intent_score - signals.runner_up_score < self.ambiguity_margin:
            return "ambiguous intent"
        if signals.sentiment == NEGATIVE and signals.sentiment_score >= self.negative_threshold:
            return "strongly negative sentiment"
        return None


def load_policy(path: Path | None, *, intents: frozenset[str]) -> EscalationPolicy:
    """The policy at ``path`` (the shipped one when None), checked against the known intents."""
    if path is None:
        source = f"bot/{DEFAULT_POLICY}"
        text = resources.files("bot").joinpath(DEFAULT_POLICY).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyError(source, f"cannot be read ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(source, f"is not valid TOML ({error})") from None
    return parse_policy(data, source=source, intents=intents)


def parse_policy(data: dict[str, Any], *, source: str, intents: frozenset[str]) -> EscalationPolicy:
    """Validate the policy's keys, intent names and thresholds."""
    unknown_keys = sorted(set(data) - KEYS)
    if unknown_keys:
        raise PolicyError(
            source, f"unknown key {unknown_keys[0]!r} (known: {', '.join(sorted(KEYS))})"
        )
    always = _names(data.get("always_escalate", []), source=source, intents=intents)
    return EscalationPolicy(
        always_escalate=always,
        escalate_unknown=_flag(data.get("escalate_unknown", True), "escalate_unknown", source),
        ambiguity_margin=_share(data.get("ambiguity_margin", 0.0), "ambiguity_margin", source),
        negative_threshold=_share(
            data.get("negative_threshold", 1.0), "negative_threshold", source
        ),
        person_phrases=_phrases(data.get("person_phrases", []), source),
    )


def _names(value: Any, *, source: str, intents: frozenset[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(source, "always_escalate must be a list of intent names")
    for name in value:
        if name not in intents:
            raise PolicyError(source, f"unknown intent {name!r} in always_escalate")
    return frozenset(value)


def _flag(value: Any, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(source, f"{key} must be true or false, not {value!r}")
    return value


def _share(value: Any, key: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PolicyError(source, f"{key} must be a number from 0 to 1, not {value!r}")
    return float(value)


def _phrases(value: Any, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(source, "person_phrases must be a list of non-empty strings")
    return tuple(v.strip().lower() for v in value)
