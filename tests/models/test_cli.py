"""The typer commands: JSON output, stdin, error exit codes, a one-epoch training."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from models.cli import app
from models.train import TrainingResult
from tests.models.conftest import synthetic_rows, write_csv

runner = CliRunner()


def test_predict_json_from_stdin(trained: TrainingResult) -> None:
    res = runner.invoke(
        app,
        ["predict", "--task", "topic", "--adapter", str(trained.out_dir), "--data", "-", "--json"],
        input="text\nwill it rain tomorrow\nqzxv wplk\n",
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.strip().splitlines()]
    assert [x["text"] for x in lines] == ["will it rain tomorrow", "qzxv wplk"]
    assert lines[0]["label"] == "weather" and lines[1]["label"] == "unknown"
    assert {"score", "top", "n_tokens", "truncated"} <= set(lines[0])


def test_eval_json(trained: TrainingResult, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "eval.csv", synthetic_rows(per_label=4, seed=9))
    res = runner.invoke(
        app,
        [
            "eval",
            "--task",
            "topic",
            "--adapter",
            str(trained.out_dir),
            "--data",
            str(data),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n"] == 12 and out["accuracy"] >= 0.9


def test_bad_file_exits_2_with_message(trained: TrainingResult, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "eval",
            "--task",
            "topic",
            "--adapter",
            str(trained.out_dir),
            "--data",
            str(tmp_path / "missing.csv"),
        ],
    )
    assert res.exit_code == 2
    assert "missing.csv: file not found" in res.output


def test_train_command(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", synthetic_rows(per_label=10))
    out = tmp_path / "adapter"
    res = runner.invoke(
        app,
        [
            "train",
            "--task",
            "topic",
            "--data",
            str(data),
            "--epochs",
            "1",
            "--lora-r",
            "2",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["epochs_run"] == 1 and summary["n_train"] == 27
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 2
