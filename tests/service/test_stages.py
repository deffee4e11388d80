"""The stage benchmark's probe and its reduction of marks to a per-step timeline."""

from __future__ import annotations

import types

import pytest

from benchmarks.service import stage_probe
from benchmarks.service.stages import timeline


def _request(start: float, forward_ms: float, *, answered: bool = True) -> list[tuple[str, float]]:
    """The marks of one request at c=1: parse 1 ms, forward, 2 ms after it."""
    marks = [("request", start), ("parse0", start + 0.001), ("parse1", start + 0.002)]
    if answered:
        end = start + 0.003 + forward_ms / 1000
        marks += [("forward0", start + 0.003), ("forward1", end)]
        marks += [("response", end + 0.002)]
    else:
        marks += [("response", start + 0.004)]  # refused: never reached the forward
    return marks


def test_timeline_takes_medians_over_complete_requests_after_the_warm_up() -> None:
    marks = [
        *_request(0.0, 50.0),  # warm-up, skipped
        *_request(1.0, 6.0),
        *_request(2.0, 7.0, answered=False),  # incomplete: left out
        *_request(3.0, 8.0),
        *_request(4.0, 7.0),
    ]
    line = timeline(marks, skip=1)
    assert line["requests"] == 3
    assert [(s["from"], s["to"]) for s in line["steps"]] == [
        ("request", "parse0"),
        ("parse0", "parse1"),
        ("parse1", "forward0"),
        ("forward0", "forward1"),
        ("forward1", "response"),
    ]
    assert line["steps"][3]["ms"] == pytest.approx(7.0)
    assert line["forward_ms"] == pytest.approx(7.0)
    assert line["total_ms"] == pytest.approx(12.0)
    assert line["outside_forward_ms"] == pytest.approx(5.0)


def test_timeline_refuses_marks_without_a_complete_request() -> None:
    with pytest.raises(ValueError, match="c=1"):
        timeline([("request", 0.0), ("parse0", 0.1)])


def test_timed_marks_before_and_after_even_when_the_call_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stage_probe, "MARKS", [])

    def fails(value: int) -> int:
        raise RuntimeError(value)

    owner = types.SimpleNamespace(double=lambda value: 2 * value, fails=fails)
    stage_probe.timed(owner, "double", "twice")
    stage_probe.timed(owner, "fails", "broken")
    assert owner.double(4) == 8
    with pytest.raises(RuntimeError):
        owner.fails(1)
    stages = [stage for stage, _ in stage_probe.MARKS]
    assert stages == ["twice0", "twice1", "broken0", "broken1"]
    times = [at for _, at in stage_probe.MARKS]
    assert times == sorted(times)
