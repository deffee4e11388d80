"""The side-by-side benchmark's summaries: recording on vs off as neighbouring pairs, the
batch sizes the servers ran (for the forward-alone lines) and the issue's targets."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from benchmarks.service.harness import metric_value
from benchmarks.service.peers.beside import (
    recording_overhead,
    sizes_seen,
    target_lines,
    verdict,
)


def _run(rps: float, cpu: float) -> dict[str, float]:
    return {"throughput_rps": rps, "server_cpu_ms_per_req": cpu}


def test_recording_overhead_is_the_median_of_paired_changes() -> None:
    runs = {
        ("costbot", 8): [_run(100, 4.2), _run(90, 4.0), _run(120, 3.0)],
        ("costbot-no-recording", 8): [_run(100, 4.0), _run(100, 4.0), _run(100, 3.0)],
        ("costbot", 64): [_run(300, 3.0)],
        ("onnxruntime-batching", 8): [_run(400, 3.5)],
    }
    [line] = recording_overhead(runs)  # c=64 has no run without recording
    assert line["concurrency"] == 8 and line["pairs"] == 3
    assert line["server_cpu_changes"] == [0.05, 0.0, 0.0]
    assert line["server_cpu_change"] == 0.0
    assert line["throughput_changes"] == [0.0, -0.1, 0.2]
    assert line["throughput_change"] == 0.0
    assert line["differenced_at_most_5_percent"] == "met"  # +5.0% in the worst pair is within
    assert "at_most_5_percent" not in line  # no counted shares in these runs


def test_recording_overhead_judges_the_counted_share_run_by_run() -> None:
    def counted(share: float | None) -> dict[str, float | None]:
        return {**_run(100, 4.0), "recording_cpu_share": share}

    runs = {
        ("costbot", 1): [counted(0.02), counted(0.04), counted(0.03)],
        ("costbot", 8): [counted(0.02), counted(0.07), counted(None)],
    }
    one, eight = recording_overhead(runs)
    assert (one["recording_cpu_share"], one["at_most_5_percent"]) == (0.03, "met")
    assert "pairs" not in one  # costbot-no-recording did not run
    assert eight["recording_cpu_shares"] == [0.02, 0.07]  # a run without a figure is left out
    assert eight["at_most_5_percent"] == "not resolved"


def test_sizes_seen_take_exact_sizes_and_histogram_tops() -> None:
    assert sizes_seen(["7", "63", "17-32", "5-8", "2", "65-+"]) == [1, 2, 7, 8, 32, 63]
    assert sizes_seen(["129-256"]) == [1, 64]


def _line(server: str, c: int, rps: float, p50: float) -> dict[str, object]:
    return {"server": server, "concurrency": c, "throughput_rps": rps, "p50_ms": p50}


def test_targets_compare_costbot_with_the_best_peer_at_each_load() -> None:
    lines = [
        _line("costbot", 1, 300, 3.1),
        _line("costbot-no-recording", 1, 900, 1.0),  # costbot's own variants are no peers
        _line("onnxruntime-batching", 1, 280, 3.4),
        _line("onnxruntime-batching-spinning", 1, 360, 2.7),
        _line("transformers-pipeline-fastapi", 1, 140, 7.0),
        _line("costbot", 8, 660, 12.0),
        _line("onnxruntime-batching-spinning", 8, 600, 13.0),
        _line("costbot", 64, 650, 90.0),
        _line("costbot-one-text-per-forward", 64, 260, 240.0),
        _line("infinity-emb-optimum", 64, 700, 95.0),
    ]
    one, eight, sixty_four = target_lines(lines)
    assert one["fastest_peer"] == one["quickest_peer"] == "onnxruntime-batching-spinning"
    assert one["rps_vs_pipeline"] == 2.143 and one["peer_p50_ms"] == 2.7
    assert one["met"] == {"p50_at_or_below_best_peer": False, "2x_pipeline": True}
    assert eight["met"] == {"1.1x_fastest_peer": True}
    assert sixty_four["fastest_peer"] == "infinity-emb-optimum"
    assert sixty_four["met"] == {"1x_fastest_peer": False, "5x_one_text_per_forward": False}
    assert target_lines([_line("costbot", 1, 300, 3.1)]) == []  # no peer ran


def test_a_verdict_needs_every_paired_repetition() -> None:
    assert verdict([True, True, True]) == "met"
    assert verdict([False, False]) == "not met"
    assert verdict([True, False, True]) == "not resolved"
    with pytest.raises(ValueError, match="no paired"):
        verdict([])


def _runs(line: dict[str, object], *values: float) -> dict[str, object]:
    key = "p50_ms" if line["concurrency"] == 1 else "throughput_rps"
    return {**line, "runs": [{"throughput_rps": 1.0, "p50_ms": 1.0, key: v} for v in values]}


def test_targets_are_judged_repetition_by_repetition() -> None:
    lines = [
        _runs(_line("costbot", 1, 300, 3.0), 3.0, 2.4, 2.9),
        _runs(_line("onnxruntime-batching-spinning", 1, 360, 2.7), 2.7, 2.5, 3.0),
        _runs(_line("costbot", 8, 660, 12.0), 660, 700, 650),
        _runs(_line("onnxruntime-batching-spinning", 8, 600, 13.0), 600, 600, 590),
    ]
    one, eight = target_lines(lines)
    assert one["paired"] == {
        "p50_at_or_below_best_peer": {"ratios": [1.111, 0.96, 0.967], "verdict": "not resolved"}
    }  # the median says not met; two of three repetitions say otherwise
    assert one["met"] == {"p50_at_or_below_best_peer": False}
    assert eight["paired"] == {
        "1.1x_fastest_peer": {"ratios": [1.1, 1.167, 1.102], "verdict": "met"}
    }


def test_metric_value_reads_an_unlabelled_sample_of_a_real_exposition() -> None:
    registry = CollectorRegistry()
    Counter("costbot_writer_cpu_seconds", "cpu", registry=registry).inc(0.25)
    Counter("costbot_texts", "texts", ["task"], registry=registry).labels("intent").inc()
    text = generate_latest(registry).decode()
    assert metric_value(text, "costbot_writer_cpu_seconds_total") == 0.25
    assert metric_value(text, "costbot_texts_total") == 0.0  # only labelled samples: absent
    assert metric_value(text, "costbot_writer_cpu_seconds") == 0.0  # the name is matched whole
