"""A tiny real multi-task training run: loss falls, both heads beat chance, the model directory
holds the LoRA adapter, the heads, the config and the metrics only, and runs are reproducible."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from models.corpora import Corpus
from models.errors import DataError
from models.recipe import Recipe
from models.train import EpochStats, TrainingResult, train
from tests.models.conftest import COSTS, TINY_RECIPE, synthetic_corpora


def test_loss_falls_and_both_heads_beat_chance(trained: TrainingResult) -> None:
    losses = [h.train_loss for h in trained.history]
    assert len(losses) == TINY_RECIPE.epochs
    assert losses[-1] < losses[0]
    metrics = trained.metrics
    assert metrics["intent"]["n"] == 24
    assert metrics["intent"]["top1_accuracy"] >= 0.8  # chance is 1/3
    assert metrics["sentiment"]["tones"]["n"] == 24
    assert metrics["sentiment"]["tones"]["accuracy"] >= 0.8  # chance is 1/3
    assert trained.meta.tasks["intent"].labels == ["food", "music", "weather"]
    assert trained.meta.tasks["sentiment"].labels == ["negative", "neutral", "positive"]
    assert (trained.n_train_rows, trained.n_held_out_rows) == (3 * 72, 3 * 24)
    assert 1 <= trained.best_epoch <= TINY_RECIPE.epochs


def test_model_dir_holds_lora_heads_config_and_metrics_only(trained: TrainingResult) -> None:
    out = trained.out_dir
    assert out is not None
    names = {p.name for p in out.iterdir()}
    assert names == {
        "adapter_model.safetensors",
        "adapter_config.json",
        "heads.safetensors",
        "config.json",
        "metrics.json",
    }
    assert sum(p.stat().st_size for p in out.iterdir()) < 1_000_000  # the base alone is ~90 MB
    lora = load_file(str(out / "adapter_model.safetensors"))
    assert lora and all("lora_" in key for key in lora)
    heads = load_file(str(out / "heads.safetensors"))
    assert heads["intent.linear.weight"].shape[0] == 3
    assert heads["sentiment.linear.weight"].shape[0] == 3
    peft = json.loads((out / "adapter_config.json").read_text())
    assert peft["r"] == TINY_RECIPE.lora_r
    assert peft["base_model_name_or_path"] == trained.base_model  # not this machine's path


def test_config_has_both_tasks_and_an_operating_point(trained: TrainingResult) -> None:
    assert trained.out_dir is not None
    config = json.loads((trained.out_dir / "config.json").read_text())
    assert set(config["tasks"]) == {"intent", "sentiment"}
    intent, sentiment = config["tasks"]["intent"], config["tasks"]["sentiment"]
    assert 0.0 < intent["threshold"] <= 1.0 and intent["rule"]
    assert (sentiment["threshold"], sentiment["margin"]) == (0.0, 0.0)
    point = config["operating_point"]
    assert (point["threshold"], point["margin"]) == pytest.approx(
        (intent["threshold"], intent["margin"]), abs=1e-6
    )
    assert (point["cost_wrong"], point["cost_escalate"]) == (COSTS.wrong, COSTS.escalate)
    assert config["recipe"]["lora_r"] == TINY_RECIPE.lora_r
    assert config["max_length"] == TINY_RECIPE.max_length
    metrics = json.loads((trained.out_dir / "metrics.json").read_text())
    for key in ("intent", "sentiment", "out_of_scope", "operating_point", "training_wall_time_s"):
        assert key in metrics
    assert len(metrics["time_per_epoch_s"]) == TINY_RECIPE.epochs
    assert metrics["out_of_scope"]["out-of-scope queries"]["n"] == 24


def _small_run(seed: int, seen: list[float] | None = None) -> TrainingResult:
    recipe = Recipe.from_dict({**TINY_RECIPE.to_dict(), "epochs": 1, "lora_r": 2, "seed": seed})
    return train(
        synthetic_corpora(per_label=8, held_per_label=4),
        costs=COSTS,
        out_dir=None,
        recipe=recipe,
        device="cpu",
        progress=False,
        callback=None if seen is None else lambda s: seen.append(s.train_loss),
    )


def test_training_is_reproducible_with_the_same_seed() -> None:
    seen: list[float] = []
    first, second = _small_run(7, seen), _small_run(7, seen)
    assert first.out_dir is None
    assert first.history[0].train_loss == second.history[0].train_loss
    assert first.metrics["intent"] == second.metrics["intent"]
    assert first.meta.operating_point == second.meta.operating_point
    assert seen == [first.history[0].train_loss] * 2
    assert _small_run(8).history[0].train_loss != first.history[0].train_loss


def test_a_task_without_two_labels_is_a_data_error() -> None:
    corpora = synthetic_corpora(per_label=2, held_per_label=1)
    tones = corpora[1]
    one_tone = [r for r in tones.train if r.label == "neutral"]
    corpora[1] = Corpus(tones.name, tones.role, one_tone, one_tone)
    with pytest.raises(DataError, match="sentiment"):
        train(corpora, costs=COSTS, recipe=TINY_RECIPE, device="cpu", progress=False)


def test_epoch_stats_score_adds_the_held_out_figures() -> None:
    stats = EpochStats(1, 0.5, {"topics": 0.75, "tones": 0.5}, 1.0)
    assert stats.score == 1.25
