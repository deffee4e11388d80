"""A tiny real training run: loss falls, accuracy beats chance, the adapter is LoRA + head only."""

from __future__ import annotations

import json
from pathlib import Path

from models.recipe import Recipe
from models.train import TrainingResult, train
from tests.models.conftest import TINY_RECIPE, synthetic_rows, write_csv


def test_loss_falls_and_accuracy_beats_chance(trained: TrainingResult) -> None:
    losses = [h.train_loss for h in trained.history]
    assert len(losses) == TINY_RECIPE.epochs
    assert losses[-1] < 0.8 * losses[0]
    assert trained.metrics["accuracy"] >= 0.9  # chance is 1/3
    assert trained.labels == ["food", "music", "weather"]
    assert trained.n_held_out == 18 and trained.n_train == 72


def test_adapter_dir_holds_lora_and_head_only(trained: TrainingResult) -> None:
    out = trained.out_dir
    assert out is not None
    names = {p.name for p in out.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "head.safetensors"} <= names
    assert {"labels.json", "config.json", "metrics.json"} <= names
    total = sum(p.stat().st_size for p in out.iterdir())
    assert total < 3_000_000  # the base encoder alone is ~90 MB
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"]["lora_r"] == TINY_RECIPE.lora_r
    assert config["threshold"] == trained.threshold
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "macro_f1", "per_label_f1", "threshold", "training_wall_time_s"):
        assert key in metrics
    assert len(metrics["time_per_epoch_s"]) == TINY_RECIPE.epochs


def test_training_is_reproducible(tmp_path: Path) -> None:
    data_csv = write_csv(tmp_path / "small.csv", synthetic_rows(per_label=8, seed=5))
    recipe = Recipe.from_dict({**TINY_RECIPE.to_dict(), "epochs": 1, "lora_r": 2})
    seen: list[float] = []
    runs = [
        train(
            "t",
            [data_csv],
            None,
            recipe=recipe,
            device="cpu",
            progress=False,
            callback=lambda s: seen.append(s.train_loss),
        )
        for _ in range(2)
    ]
    assert runs[0].history[0].train_loss == runs[1].history[0].train_loss
    assert runs[0].metrics["per_label_f1"] == runs[1].metrics["per_label_f1"]
    assert seen == [runs[0].history[0].train_loss] * 2
