"""Per-task default recipes (the ones the shipped adapters were trained with)."""

from __future__ import annotations

from models.recipe import Recipe

PRESETS: dict[str, Recipe] = {
    "intent": Recipe(epochs=4),
    "sentiment": Recipe(epochs=2, max_train_per_source=40000),
}


def preset(task: str) -> Recipe:
    """Return a copy of the task's preset recipe (the generic default for other tasks)."""
    return Recipe.from_dict(PRESETS.get(task, Recipe()).to_dict())
