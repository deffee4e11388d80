"""LoRA text classifiers for costbot: training, evaluation, prediction."""

from models.errors import DataError

__all__ = ["DataError"]
