"""What one queued text carries into a batch, and what comes back out."""

from __future__ import annotations

from dataclasses import dataclass, field

from costing.cost_model import CostBreakdown
from models.classifier import TaskPrediction


@dataclass(frozen=True)
class Origin:
    """Who asked, as recorded (the user only as a salted hash)."""

    request_id: str
    kind: str = "http"
    command: str = ""
    guild_id: int | None = None
    channel_id: int | None = None
    user_hash: str | None = None


@dataclass(frozen=True)
class TextJob:
    """One text of a request, with the tasks to run and its token counts."""

    origin: Origin
    index: int
    text: str
    tasks: tuple[str, ...]
    tokens: int
    computed_tokens: int
    ids: tuple[int, ...] | None = field(default=None, repr=False)  # untruncated, if counted

    @property
    def truncated(self) -> bool:
        """Whether the text was cut to the model's window."""
        return self.computed_tokens < self.tokens

    @property
    def weight(self) -> int:
        """Its share of the batch's work: the tokens computed (one encoder forward answers every
        task; the heads' cost is negligible beside it)."""
        return self.computed_tokens


@dataclass(frozen=True)
class TextOutcome:
    """One text's answer and its share of the batch's cost."""

    predictions: dict[str, TaskPrediction]
    cost: CostBreakdown
    currency: str
    queue_ms: float
    compute_ms: float
    batch_size: int
    energy_method: str
    energy_measured: bool
