"""The side-by-side benchmark's summaries: recording on vs off as neighbouring pairs, and the
batch sizes the servers ran (for the forward-alone lines)."""

from __future__ import annotations

from benchmarks.service.peers.beside import recording_overhead, sizes_seen


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


def test_sizes_seen_take_exact_sizes_and_histogram_tops() -> None:
    assert sizes_seen(["7", "63", "17-32", "5-8", "2", "65-+"]) == [1, 2, 7, 8, 32, 63]
    assert sizes_seen(["129-256"]) == [1, 64]
