"""The demo's scripted day parses, and holds what the demo must show: feedback, a re-contact
and an agent's reply on one simulated day."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from costbot.demo.run import conversation_lines


def test_the_script_has_feedback_a_recontact_and_an_agent() -> None:
    lines = conversation_lines()
    texts = {line.text for line in lines}
    assert {"/solved", "/person"} <= texts
    assert any(line.agent and line.text != "/close" for line in lines)
    assert any(line.agent and line.text == "/close" for line in lines)
    minutes = [line.minute for line in lines]
    assert minutes == sorted(minutes) and max(minutes) < 24 * 60
    by_customer: dict[str, list[int]] = {}
    for line in lines:
        if not line.agent and not line.text.startswith("/"):
            by_customer.setdefault(line.customer, []).append(line.minute)
    gaps = [b - a for times in by_customer.values() for a, b in itertools.pairwise(times)]
    assert any(30 < gap < 24 * 60 for gap in gaps)  # came back after the idle timeout: re-contact


def test_a_malformed_line_is_a_one_line_error(tmp_path: Path) -> None:
    script = tmp_path / "day.txt"
    script.write_text("# day\n08:00 ana: hello\nnine o'clock ana: hi\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^day.txt:3: expected 'HH:MM WHO: TEXT'$"):
        conversation_lines(script)
