"""MODEL_CARD.md of a trained support model, written from its own config, metrics and run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.store import load_meta, load_metrics

CARD_FILE = "MODEL_CARD.md"


def pct(value: float) -> str:
    """A share as a percentage with two decimals, e.g. 93.62 %."""
    return f"{100 * value:.2f} %"


def write_card(model_dir: Path, *, command: str) -> Path:
    """Render the card from the directory's files and write it beside them."""
    path = model_dir / CARD_FILE
    path.write_text(render_card(model_dir, command=command))
    return path


def render_card(model_dir: Path, *, command: str) -> str:
    """The model card as Markdown: what it is, how it was trained, held-out figures, limits."""
    meta = load_meta(model_dir)
    metrics = load_metrics(model_dir)
    run_path = model_dir / "training_run.json"
    run = json.loads(run_path.read_text()) if run_path.is_file() else {}
    parts = [
        _header(meta.base_model, meta.recipe, command),
        _intent(metrics),
        _out_of_scope(metrics, meta.operating_point),
        _sentiment(metrics),
        _training(metrics, run, meta.recipe),
        _limits(),
    ]
    return "\n\n".join(parts) + "\n"


def _header(base: str, recipe: dict[str, Any], command: str) -> str:
    return f"""# Model card: costbot support model (intent + sentiment, one forward)

One LoRA adapter (peft, r={recipe.get("lora_r")}, alpha={recipe.get("lora_alpha")}) on `{base}`,
mean pooling, and two cosine heads on the same pooled features: **intent** (77 BANKING77 intents,
or `unknown`) and **sentiment** (negative / neutral / positive, a distribution whose argmax is the
label; never `unknown`). One encoder forward answers both tasks.

Reproduce: `{command}` (data from the project's shared data folder plus `models/datasets/`;
recipe in `models/presets.py`, every hyper-parameter in `config.json`)."""


def _intent(metrics: dict[str, Any]) -> str:
    m = metrics["intent"]
    return f"""## Intent (held-out: seeded stratified 10 % of BANKING77's train file, n = {m["n"]})

| figure | value |
|---|---|
| top-1 accuracy | {pct(m["top1_accuracy"])} |
| served accuracy (`unknown` counts wrong) | {pct(m["served_accuracy"])} |
| in-scope answered `unknown` | {pct(m["unknown_rate"])} |
| macro-F1 (top-1) | {m["macro_f1"]:.4f} |"""


def _out_of_scope(metrics: dict[str, Any], point: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {name} | {v['n']} | {v['auroc']:.4f} | {pct(v['flagged_unknown'])} |"
        for name, v in metrics["out_of_scope"].items()
    )
    currency = point.get("currency", "USD")
    escalate, wrong = f"{point['cost_escalate']:.2f}", f"{point['cost_wrong']:.2f}"
    return f"""## `unknown`: the operating point

Rule: answer `unknown` when the intent's max-softmax score is below **{point["threshold"]:.4f}**
or the gap between the two best scores is below **{point["margin"]:.2f}**. Both were chosen by
least expected cost on held-out data (`models/calibration.py`): an escalated message costs
{escalate} {currency} (the configured human ticket cost), a wrong automated answer {wrong}
{currency} (ticket + configured wrong-answer penalty), with an assumed {pct(point["ood_prior"])}
of out-of-scope traffic (all three from the price and ROI settings at training time). Expected
cost at this point: {point["expected_cost_per_message"]:.4f} {currency} per message.

Out-of-scope proxies (never trained on): the team's held-out out-of-scope queries
(`models/datasets/out_of_scope/heldout.csv`) and off-topic held-out text of the sentiment corpora.

| proxy | n | AUROC (max-softmax, vs in-scope) | flagged `unknown` |
|---|---|---|---|
{rows}"""


def _sentiment(metrics: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {name} | {v['n']} | {pct(v['accuracy'])} | {v['macro_f1']:.4f} "
        f"| {v['macro_recall']:.4f} |"
        for name, v in metrics["sentiment"].items()
    )
    return f"""## Sentiment (held-out parts, three-way predictions, never renormalised)

| corpus (held-out part) | n | accuracy | macro-F1 | macro recall |
|---|---|---|---|---|
{rows}

Held-out parts: banking77-sentiment = the team's annotations of messages in the intent held-out
split; goemotions = GoEmotions' dev file; tweeteval = 15 % of the TweetEval validation file;
sst2 = 1,000 SST-2 rows of 8+ words (none of their phrases trained on). SST-2 has two classes:
a `neutral` answer there counts as wrong."""


def _training(metrics: dict[str, Any], run: dict[str, Any], recipe: dict[str, Any]) -> str:
    corpora = "\n".join(
        f"| {name} | {c['role']} | {c['train_rows']} | {c['per_epoch'] or 'all'} "
        f"| {c['held_out_rows']} |"
        for name, c in metrics.get("corpora", {}).items()
    )
    energy = run.get("energy_uj", 0) / 1e6
    return f"""## Training

| corpus | role | train rows | drawn per epoch | held-out rows |
|---|---|---|---|---|
{corpora}

Epochs run: {metrics.get("epochs_run")} (best: {metrics.get("best_epoch")}), time per epoch
{metrics.get("time_per_epoch_s")} s, wall time {metrics.get("training_wall_time_s")} s on
{metrics.get("device")} with {metrics.get("torch_threads")} threads. Measured run
(`training_run.json`): {run.get("wall_s", 0):.0f} s wall, {run.get("cpu_s", 0):.0f} CPU s,
{energy:.0f} J ({run.get("energy_method", "?")}).

Loss: cross-entropy of each example's own head (label smoothing {recipe.get("label_smoothing")}),
plus outlier exposure on out-of-domain text (the intent softmax pushed towards uniform,
weight {recipe.get("ood_weight")}); {recipe.get("epochs")} epochs at most, batch
{recipe.get("batch_size")}, LoRA lr {recipe.get("lr")}, head lr {recipe.get("head_lr")}."""


def _limits() -> str:
    return """## Limits

- Intents are BANKING77's 77; anything else should come out `unknown`, but out-of-scope detection
  was tuned on proxies, not on a team's real traffic.
- The sentiment head learned customer-support language from 2,999 annotated bank messages, none
  positive; praise in bank messages is learned from the public corpora only.
- English only; texts beyond 64 tokens are truncated (the service says so per text)."""
