"""Typer commands `train`, `eval` and `predict` (registered by the top-level costbot CLI)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from models.data import STDIN, load_many, load_rows
from models.errors import DataError, ModelError

app = typer.Typer(help="Train, evaluate and run the support model.", no_args_is_help=True)

DEFAULT_DATA_ROOT = Path("../shared/data")


def _fail(exc: Exception) -> None:
    """Print a one-line error and exit with status 2."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def _settings(ctx: typer.Context) -> Any:
    """The sections the costbot command line composed (read once per run)."""
    return ctx.find_root().obj.settings


@app.command("train")
def train(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="new directory for the trained model"),
    data_root: Path = typer.Option(
        DEFAULT_DATA_ROOT, "--data-root", help="folder with banking77/, goemotions-sentiment/, …"
    ),
    base: str | None = typer.Option(None, "--base", help="base model id or path [MiniLM-L6]"),
    epochs: int | None = typer.Option(None, "--epochs", help="maximum epochs [4]"),
    lora_r: int | None = typer.Option(None, "--lora-r", help="LoRA rank (alpha = 2r) [16]"),
    seed: int | None = typer.Option(None, "--seed", help="random seed [13]"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda"),
    threads: int | None = typer.Option(None, "--threads", help="torch CPU threads"),
    force: bool = typer.Option(False, "--force", help="write into a non-empty --out"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as one JSON object"),
) -> None:
    """Train the multi-task support model (intent + sentiment, one LoRA adapter) into --out."""
    from models.card import write_card
    from models.presets import support_corpora, support_recipe
    from models.train import train as run_training
    from models.training_cost import metered, run_details, save_training_run, training_run

    if out.exists() and any(out.iterdir()) and not force:
        _fail(
            ModelError(f"{out} is not empty; choose a new --out or pass --force to write into it")
        )
    settings = _settings(ctx)
    recipe = support_recipe()
    recipe.epochs = epochs if epochs is not None else recipe.epochs
    if lora_r is not None:
        recipe.lora_r, recipe.lora_alpha = lora_r, 2 * lora_r
    recipe.seed = seed if seed is not None else recipe.seed
    try:
        corpora = support_corpora(data_root, recipe.seed)
        with metered(resolve_device(device), settings.meter) as window:
            result = run_training(
                corpora,
                costs=escalation_costs(settings),
                out_dir=out,
                base=base,
                recipe=recipe,
                device=device,
                num_threads=threads,
            )
    except (DataError, ModelError) as exc:
        _fail(exc)
        return
    run = training_run(
        task="support",
        adapter_dir=out,
        window=window,
        prices=settings.prices,
        details=run_details(result),
    )
    save_training_run(run, out)
    write_card(out, command=_reproduce_command(data_root, result.recipe))
    record_training_run(run, settings)
    _print_training(result, out, as_json)


def _reproduce_command(data_root: Path, recipe: Any) -> str:
    """The command line that trains this model again."""
    root = "" if data_root == DEFAULT_DATA_ROOT else f" --data-root {data_root}"
    return f"costbot train{root} --seed {recipe.seed} --out DIR"


def escalation_costs(settings: Any) -> Any:
    """The costs that choose the `unknown` operating point, from the price and ROI settings."""
    from models.report import EscalationCosts

    ticket = float(settings.prices.human_ticket_cost)
    return EscalationCosts(
        escalate=ticket,
        wrong=ticket + float(settings.roi.wrong_answer_penalty),
        ood_prior=float(settings.roi.out_of_scope_share),
        currency=settings.prices.currency,
    )


def _print_training(result: Any, out: Path, as_json: bool) -> None:
    """The run's headline figures, or all metrics as JSON."""
    m = result.metrics
    if as_json:
        typer.echo(json.dumps({"out": str(out), **m}))
        return
    intent = m["intent"]
    typer.echo(
        f"intent: top-1 {intent['top1_accuracy']:.4f}, served {intent['served_accuracy']:.4f}, "
        f"unknown {intent['unknown_rate']:.4f} (held-out n={intent['n']})"
    )
    for name, s in m["sentiment"].items():
        typer.echo(f"sentiment {name}: accuracy {s['accuracy']:.4f}, macro-F1 {s['macro_f1']:.4f}")
    typer.echo(f"{result.wall_time_s:.0f} s -> {out}")


@app.command("eval")
def eval_(
    task: str = typer.Option(..., "--task", help="intent or sentiment"),
    data: list[Path] = typer.Option(..., "--data", help="labelled CSV (text,label); repeatable"),
    model: Path | None = typer.Option(None, "--model", help="model directory [the shipped one]"),
    threshold: float | None = typer.Option(None, "--threshold", help="override the threshold"),
    margin: float | None = typer.Option(None, "--margin", help="override the top-2 margin"),
    restrict: bool = typer.Option(
        False, "--restrict-labels", help="renormalise over the labels present in the data"
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Evaluate one task of the model on labelled CSVs, as the service answers (unknown = wrong)."""
    from models.classifier import Classifier, Rule
    from models.evaluate import evaluate

    try:
        rows = load_many([str(p) for p in data])
        clf = Classifier(model, device=device)
        own = clf.rule(task)
        rule = Rule(
            own.threshold if threshold is None else threshold,
            own.margin if margin is None else margin,
        )
        result = evaluate(clf, task, rows, rule, restrict=restrict, progress=True)
    except (DataError, ModelError) as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(result) if as_json else _eval_text(result))


def _eval_text(result: dict[str, Any]) -> str:
    """The evaluation as a few readable lines."""
    lines = [
        f"{result['task']}: n={result['n']} served accuracy {result['accuracy']:.4f} "
        f"(top-1 {result['top1_accuracy']:.4f}), macro-F1 {result['macro_f1']:.4f}, "
        f"macro recall {result['macro_recall']:.4f}, unknown {result['unknown_rate']:.4f}",
        "per-label F1: "
        + ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["per_label_f1"].items())),
    ]
    if result["restricted_to"]:
        lines.append(
            f"probabilities renormalised over {result['restricted_to']} (--restrict-labels)"
        )
    return "\n".join(lines)


@app.command("predict")
def predict(
    data: str = typer.Option(..., "--data", help="CSV with a text column, or - for stdin"),
    task: list[str] = typer.Option([], "--task", help="task to answer; repeatable [all]"),
    model: Path | None = typer.Option(None, "--model", help="model directory [the shipped one]"),
    top_k: int = typer.Option(3, "--top-k", help="labels listed per answer"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda"),
    as_json: bool = typer.Option(False, "--json", help="one JSON line per row"),
) -> None:
    """Predict labels for every row of a CSV (or stdin), one encoder forward per batch."""
    from models.classifier import Classifier

    try:
        rows = load_rows(data if data == STDIN else Path(data), need_label=False)
        clf = Classifier(model, device=device)
        tasks = list(task) or clf.tasks
        preds = clf.predict([r.text for r in rows], tasks, top_k=top_k)
    except (DataError, ModelError) as exc:
        _fail(exc)
        return
    for p in preds:
        typer.echo(json.dumps(_line(p)) if as_json else _plain(p))


def _line(pred: Any) -> dict[str, object]:
    """One JSON line: the text, each task's answer, token count."""
    per = {
        t: {
            "label": a.label,
            "score": a.score,
            "top": [{"label": lab, "score": s} for lab, s in a.top],
        }
        for t, a in pred.tasks.items()
    }
    return {"text": pred.text, "tasks": per, "n_tokens": pred.n_tokens, "truncated": pred.truncated}


def _plain(pred: Any) -> str:
    """One tab-separated line: label and score per task, then the text."""
    cells = [f"{a.label}\t{a.score:.3f}" for a in pred.tasks.values()]
    return "\t".join([*cells, pred.text])


def resolve_device(device: str) -> str:
    """The device `auto` means on this machine."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def record_training_run(run: Any, settings: Any) -> None:
    """Store the run in the configured database; without one, say where the run is kept."""
    from storage.db import create_db_engine
    from storage.migrate import upgrade
    from storage.writer import RecordWriter

    cost = (
        sum(
            (
                run.cost_compute_pico,
                run.cost_energy_pico,
                run.cost_hardware_pico,
                run.cost_data_pico,
            )
        )
        / 1e12
    )
    data = sum(int(d.get("annotation_pico", 0)) for d in run.datasets) / 1e12
    summary = (
        f"{run.wall_s:.0f} s wall, {run.cpu_s:.0f} CPU s, {run.energy_uj / 1e6:.0f} J "
        f"({run.energy_method}), {cost:.4f} {run.currency}; its data sets' annotation "
        f"{data:.2f} {run.currency} (a cost of each dataset version, charged once)"
    )
    if "database" not in settings.model_fields_set:
        typer.echo(
            f"training run kept beside the model (training_run.json): {summary}; no database "
            "is configured, so none was written (the service registers the run when it loads "
            "the model)",
            err=True,
        )
        return
    engine = create_db_engine(settings.database)
    upgrade(engine)
    writer = RecordWriter(engine, settings.database, role="cli").start()
    writer.submit(run)
    writer.close()
    engine.dispose()
    typer.echo(f"training run recorded: {summary}", err=True)


if __name__ == "__main__":
    sys.exit(app())
