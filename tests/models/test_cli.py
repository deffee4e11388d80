"""The typer commands through the costbot command line: JSON output, stdin, one-line errors with
exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costbot.cli import app
from models.paths import default_model_dir
from tests.models.conftest import TOPICS, synthetic_rows, write_csv

runner = CliRunner()


def _one_line_error(output: str, *expected: str) -> None:
    """The output ends with one `error: ...` line naming the problem, and holds no traceback.

    (Loading the base encoder may print transformers' "Loading weights" progress bar first.)
    """
    lines = output.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:], output
    for part in expected:
        assert part in errors[0]
    assert "Traceback" not in output


def test_predict_json_from_stdin(model_dir: Path) -> None:
    res = runner.invoke(
        app,
        ["predict", "--model", str(model_dir), "--data", "-", "--json", "--top-k", "2"],
        input="text\nwill it rain tomorrow\nqzxv wplk\n",
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.strip().splitlines()]
    assert [x["text"] for x in lines] == ["will it rain tomorrow", "qzxv wplk"]
    assert set(lines[0]["tasks"]) == {"intent", "sentiment"}
    assert lines[0]["tasks"]["intent"]["label"] == "weather"
    assert lines[1]["tasks"]["intent"]["label"] == "unknown"
    assert lines[1]["tasks"]["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert len(lines[0]["tasks"]["sentiment"]["top"]) == 2
    assert {"n_tokens", "truncated"} <= set(lines[0]) and lines[0]["n_tokens"] == 6


def test_predict_one_task(model_dir: Path) -> None:
    res = runner.invoke(
        app,
        ["predict", "--model", str(model_dir), "--data", "-", "--task", "sentiment"],
        input="text\ni love this wonderful phone\n",
    )
    assert res.exit_code == 0, res.output
    label, score, text = res.stdout.strip().split("\t")
    assert (label, text) == ("positive", "i love this wonderful phone")
    assert 0.0 < float(score) <= 1.0


def test_eval_json(model_dir: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "eval.csv", synthetic_rows(TOPICS, per_label=4, seed=9))
    args = ["eval", "--task", "intent", "--model", str(model_dir), "--data", str(data), "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n"] == 12 and out["accuracy"] >= 0.9 and out["restricted_to"] is None
    never = json.loads(runner.invoke(app, [*args, "--threshold", "1.01"]).stdout)
    assert (never["accuracy"], never["unknown_rate"], never["threshold"]) == (0.0, 1.0, 1.01)
    assert never["top1_accuracy"] == out["top1_accuracy"]
    restricted = json.loads(runner.invoke(app, [*args, "--restrict-labels"]).stdout)
    assert restricted["restricted_to"] == ["food", "music", "weather"]


def test_bad_file_exits_2_with_one_line(model_dir: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.csv")
    res = runner.invoke(
        app, ["eval", "--task", "intent", "--model", str(model_dir), "--data", missing]
    )
    assert res.exit_code == 2
    _one_line_error(res.output, "missing.csv: file not found")


def test_unknown_task_exits_2_with_one_line(model_dir: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "eval.csv", [("will it rain", "weather")])
    res = runner.invoke(
        app, ["eval", "--task", "topic", "--model", str(model_dir), "--data", str(data)]
    )
    assert res.exit_code == 2
    _one_line_error(res.output, "task 'topic' not in the model")


def test_train_refuses_a_non_empty_out_without_force(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = runner.invoke(app, ["train", "--out", str(out), "--data-root", str(tmp_path)])
    assert res.exit_code == 2
    _one_line_error(res.output, "is not empty", "--force")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_train_with_a_data_root_lacking_files_exits_2(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    out = tmp_path / "model"
    res = runner.invoke(app, ["train", "--out", str(out), "--data-root", str(root)])
    assert res.exit_code == 2
    _one_line_error(res.output, "banking77", "file not found")
    assert not out.exists() or not any(out.iterdir())


def test_a_training_run_without_a_configured_database_writes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from costbot.settings import load_settings
    from models.cli import record_training_run
    from models.training_cost import load_training_run

    monkeypatch.chdir(tmp_path)
    run = load_training_run(default_model_dir())
    assert run is not None
    record_training_run(run, load_settings())
    assert list(tmp_path.iterdir()) == []  # no ./costbot.db, no spool
    assert "no database is configured" in capsys.readouterr().err


def test_a_training_run_goes_to_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import Session, select

    from costbot.settings import load_settings
    from models.cli import record_training_run
    from models.training_cost import load_training_run
    from storage.db import create_db_engine
    from storage.tables import TrainingRun

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("COSTBOT_DATABASE__URL", url)
    monkeypatch.setenv("COSTBOT_DATABASE__SPOOL_PATH", str(tmp_path / "spool.jsonl"))
    run = load_training_run(default_model_dir())
    assert run is not None
    settings = load_settings()
    record_training_run(run, settings)
    with Session(create_db_engine(settings.database)) as session:
        stored = session.exec(select(TrainingRun)).all()
    assert [r.uid for r in stored] == [run.uid]
