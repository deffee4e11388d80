"""The typer commands: JSON output, stdin, error exit codes, a one-epoch training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


def test_train_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "costbot.db"
    monkeypatch.setenv("COSTBOT_DATABASE__URL", f"sqlite:///{database}")
    monkeypatch.setenv("COSTBOT_DATABASE__SPOOL_PATH", str(tmp_path / "spool.jsonl"))
    data = write_csv(tmp_path / "d.csv", synthetic_rows(per_label=10))
    out = tmp_path / "adapter"
    from costbot.cli import app as costbot_app  # train reads the settings the face composes

    res = runner.invoke(
        costbot_app,
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
    _assert_training_run_recorded(database, out, tmp_path)


def _assert_training_run_recorded(database: Path, out: Path, tmp_path: Path) -> None:
    """The run was metered, priced, stored, kept with the adapter; registering is idempotent."""
    from sqlmodel import Session, select

    from models.training_cost import adapter_version, register_training_runs
    from storage.db import create_db_engine
    from storage.settings import DatabaseSettings
    from storage.tables import TrainingRun
    from storage.writer import RecordWriter

    settings = DatabaseSettings(url=f"sqlite:///{database}", spool_path=tmp_path / "s2.jsonl")
    engine = create_db_engine(settings)
    writer = RecordWriter(engine, settings).start()
    register_training_runs(writer, {"topic": out})  # a service loading it a second time
    writer.close()
    with Session(engine) as session:
        runs = session.exec(select(TrainingRun)).all()
    assert len(runs) == 1
    run = runs[0]
    assert run.task == "topic" and run.adapter_version == adapter_version(out)
    assert run.wall_s > 0 and run.cpu_s > 0 and run.energy_uj > 0
    assert run.energy_method in {"cpu-time-estimate", "rapl", "nvml-counter+rapl"}
    assert run.cost_compute_pico > 0 and run.cost_data_pico > 0
    assert run.data_rows == 30 and run.labels_count == 3
    assert (out / "training_run.json").is_file()
