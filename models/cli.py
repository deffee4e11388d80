"""Typer commands `train`, `eval` and `predict` (registered by the top-level costbot CLI)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from models.data import STDIN, load_many, load_rows
from models.errors import DataError, ModelError
from models.paths import default_adapter_dir

app = typer.Typer(help="Train, evaluate and run the LoRA text classifiers.", no_args_is_help=True)


def _fail(exc: Exception) -> None:
    """Print a one-line error and exit with status 2."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


@app.command("train")
def train(
    ctx: typer.Context,
    task: str = typer.Option(..., "--task", help="task name, e.g. intent or sentiment"),
    data: list[Path] = typer.Option(..., "--data", help="labelled CSV (text,label); repeatable"),
    base: str | None = typer.Option(None, "--base", help="base model id or path"),
    epochs: int | None = typer.Option(None, "--epochs", help="maximum epochs"),
    lora_r: int | None = typer.Option(None, "--lora-r", help="LoRA rank (alpha = 2r)"),
    out: Path | None = typer.Option(None, "--out", help="output dir [out/adapters/TASK]"),
    max_train_per_file: int | None = typer.Option(
        None, "--max-train-per-file", help="cap on training rows drawn from each file"
    ),
    seed: int | None = typer.Option(None, "--seed", help="random seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda"),
    threads: int | None = typer.Option(None, "--threads", help="torch CPU threads"),
    as_json: bool = typer.Option(False, "--json", help="print metrics as one JSON object"),
) -> None:
    """Train a LoRA adapter + head for TASK and write it to --out."""
    from models.presets import preset
    from models.train import train as run_training
    from models.training_cost import metered, run_details, save_training_run, training_run

    recipe = preset(task)
    if epochs is not None:
        recipe.epochs = epochs
    if lora_r is not None:
        recipe.lora_r, recipe.lora_alpha = lora_r, 2 * lora_r
    if max_train_per_file is not None:
        recipe.max_train_per_source = max_train_per_file
    if seed is not None:
        recipe.seed = seed
    out_dir = out or Path("out") / "adapters" / task
    settings = ctx.find_root().obj.settings  # the sections the costbot command line composed
    paths = [str(p) for p in data]
    try:
        with metered(resolve_device(device), settings.meter) as window:
            result = run_training(task, paths, out_dir, base, recipe, device, num_threads=threads)
    except (DataError, ModelError) as exc:
        _fail(exc)
        return
    run = training_run(
        task=task,
        adapter_dir=out_dir,
        window=window,
        prices=settings.prices,
        details=run_details(result, data_paths=paths),
    )
    save_training_run(run, out_dir)
    record_training_run(run, settings)
    m = result.metrics
    if as_json:
        typer.echo(json.dumps({"task": task, "out": str(out_dir), **m}))
    else:
        typer.echo(
            f"{task}: held-out accuracy {m['accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}, "
            f"threshold {result.threshold:.4f}, {result.wall_time_s:.0f}s -> {out_dir}"
        )


@app.command("eval")
def eval_(
    task: str = typer.Option(..., "--task", help="task name"),
    data: list[Path] = typer.Option(..., "--data", help="labelled CSV (text,label); repeatable"),
    adapter: Path | None = typer.Option(None, "--adapter", help="adapter dir [shipped one]"),
    threshold: float | None = typer.Option(None, "--threshold", help="override the threshold"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Evaluate a task's adapter on a labelled CSV."""
    from models.classifier import Classifier
    from models.evaluate import evaluate

    try:
        rows = load_many([str(p) for p in data])
        clf = Classifier({task: adapter or default_adapter_dir(task)}, device=device)
        result = evaluate(clf, task, rows, threshold)
    except (DataError, ModelError) as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(
        f"{task}: n={result['n']} accuracy={result['accuracy']:.4f} "
        f"(argmax {result['accuracy_argmax']:.4f}) macro_f1={result['macro_f1']:.4f} "
        f"unknown_rate={result['unknown_rate']:.4f}"
    )
    if result["restricted_to"]:
        typer.echo(f"predictions restricted to {result['restricted_to']}")


@app.command("predict")
def predict(
    task: list[str] = typer.Option(..., "--task", help="task name; repeatable"),
    data: str = typer.Option(..., "--data", help="CSV with a text column, or - for stdin"),
    adapter: list[Path] = typer.Option([], "--adapter", help="adapter dir per --task"),
    threshold: float | None = typer.Option(None, "--threshold", help="override the threshold"),
    top_k: int = typer.Option(3, "--top-k", help="labels listed per answer"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda"),
    as_json: bool = typer.Option(False, "--json", help="one JSON line per row"),
) -> None:
    """Predict labels for every row of a CSV (or stdin)."""
    from models.classifier import Classifier

    if adapter and len(adapter) != len(task):
        _fail(ModelError("give one --adapter per --task (or none for the shipped ones)"))
    dirs = {t: (adapter[i] if adapter else default_adapter_dir(t)) for i, t in enumerate(task)}
    try:
        rows = load_rows(data if data == STDIN else Path(data), need_label=False)
        clf = Classifier(dirs, device=device)
        limits = {t: threshold for t in task} if threshold is not None else None
        preds = clf.predict([r.text for r in rows], task, top_k=top_k, thresholds=limits)
    except (DataError, ModelError) as exc:
        _fail(exc)
        return
    for p in preds:
        typer.echo(json.dumps(_line(p, task)) if as_json else _plain(p, task))


def _line(pred: object, tasks: list[str]) -> dict[str, object]:
    """One JSON line: flat fields for a single task, nested per task otherwise."""
    from models.classifier import TextPrediction

    assert isinstance(pred, TextPrediction)
    per = {
        t: {
            "label": a.label,
            "score": a.score,
            "top": [{"label": lab, "score": s} for lab, s in a.top],
        }
        for t, a in pred.tasks.items()
    }
    head: dict[str, object] = {"text": pred.text}
    body: dict[str, object] = per[tasks[0]] if len(tasks) == 1 else {"tasks": per}
    return {**head, **body, "n_tokens": pred.n_tokens, "truncated": pred.truncated}


def _plain(pred: object, tasks: list[str]) -> str:
    """One tab-separated line: label and score per task, then the text."""
    from models.classifier import TextPrediction

    assert isinstance(pred, TextPrediction)
    cells = [f"{pred.tasks[t].label}\t{pred.tasks[t].score:.3f}" for t in tasks]
    return "\t".join([*cells, pred.text])


if __name__ == "__main__":
    sys.exit(app())


def resolve_device(device: str) -> str:
    """The device `auto` means on this machine."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def record_training_run(run: Any, settings: Any) -> None:
    """Store the run in the configured database (spooled if it is down: never lost)."""
    from storage.db import create_db_engine
    from storage.migrate import upgrade
    from storage.writer import RecordWriter

    engine = create_db_engine(settings.database)
    upgrade(engine)
    writer = RecordWriter(engine, settings.database).start()
    writer.submit(run)
    writer.close()
    engine.dispose()
    cost = (
        run.cost_compute_pico + run.cost_energy_pico + run.cost_hardware_pico + run.cost_data_pico
    ) / 1e12
    typer.echo(
        f"training run recorded: {run.wall_s:.0f} s wall, {run.cpu_s:.0f} CPU s, "
        f"{run.energy_uj / 1e6:.0f} J ({run.energy_method}), {cost:.4f} {settings.prices.currency}",
        err=True,
    )
