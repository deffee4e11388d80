"""Request and response models of the HTTP API (docs/http-api.md), documented for OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

SourceKind = Literal["console", "discord", "http"]
MAX_ID = 2**63 - 1  # ids are stored as signed 64-bit integers
# Hard caps; the configured limits (service.max_text_chars, max_texts_per_request) are lower,
# are checked with their own codes, and are what the served OpenAPI document states.
MAX_TEXT_CHARS = 100_000
MAX_TEXTS = 4096
Text = Annotated[StrictStr, Field(max_length=MAX_TEXT_CHARS)]
TaskName = Annotated[StrictStr, Field(min_length=1, max_length=32)]


class _Strict(BaseModel):
    """Unknown keys are errors, so a misspelt field is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Requester(_Strict):
    """Who asked: stored with each record (the user only as a salted hash)."""

    kind: SourceKind = Field(default="http", description="Where the request came from.")
    command: StrictStr = Field(
        default="", max_length=32, description='The bot command, or "support".'
    )
    guild_id: StrictInt | None = Field(
        default=None, ge=0, le=MAX_ID, description="Discord guild id, if any (64-bit)."
    )
    channel_id: StrictInt | None = Field(
        default=None, ge=0, le=MAX_ID, description="Discord channel id, if any (64-bit)."
    )
    user: StrictStr | None = Field(
        default=None,
        max_length=200,
        description="Opaque user id; only a salted hash of it is stored.",
    )


class ClassifyRequest(_Strict):
    """Texts to classify: give `texts` (a list) or `text` (one), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "texts": ["my card has not arrived", "thanks!"],
                    "tasks": ["intent", "sentiment"],
                    "source": {"kind": "discord", "command": "classify", "user": "789"},
                }
            ]
        },
    )

    texts: list[Text] | None = Field(
        default=None, max_length=MAX_TEXTS, description="The texts to classify."
    )
    text: Text | None = Field(default=None, description="One text (instead of `texts`).")
    tasks: list[TaskName] | None = Field(
        default=None, max_length=16, description="Tasks to run; default: every loaded task."
    )
    source: Requester = Field(default_factory=Requester, description="Who asked.")

    def all_texts(self) -> list[str] | None:
        """The texts, whichever field held them; None when neither or both were given."""
        if (self.texts is None) == (self.text is None):
            return None
        return self.texts if self.texts is not None else [self.text or ""]


class LabelScore(BaseModel):
    """One label with its probability."""

    label: str
    score: float


class TaskPrediction(BaseModel):
    """One task's answer: the label (or "unknown" below the threshold), its score, the top-k."""

    label: str = Field(examples=["card_arrival"])
    score: float = Field(examples=[0.97])
    top: list[LabelScore]


class MoneyParts(BaseModel):
    """Money per component in the price sheet's currency, as exact decimal strings."""

    compute: str = Field(examples=["0.000000012"])
    energy: str = Field(examples=["0.0000000031"])
    hardware: str = Field(examples=["0"])
    data: str = Field(examples=["0"])
    total: str = Field(examples=["0.0000000151"])


class Cost(BaseModel):
    """What this one inference cost: its token share of its batch's measured cost."""

    latency_ms: float = Field(description="Time from arrival to answer.")
    queue_ms: float = Field(description="Time waiting for a batch.")
    compute_ms: float = Field(description="Wall time of the batch's forward pass.")
    batch_size: int = Field(description="Texts in the batch this text was computed in.")
    energy_uj: int = Field(description="Energy in microjoules (exact).")
    energy_method: str = Field(examples=["cpu-time-estimate"])
    energy_measured: bool
    currency: str = Field(examples=["USD"])
    money: MoneyParts
    co2_ng: int = Field(description="CO2-equivalent in nanograms (exact).")
    provenance: dict[str, str] = Field(
        description="Where each money component came from.",
        examples=[{"compute": "configured-price", "energy": "cpu-time-estimate"}],
    )


class ItemResult(BaseModel):
    """The answer for one input text."""

    index: int = Field(description="Position of the text in the request.")
    tokens: int = Field(description="Tokens of the text before truncation.")
    truncated: bool = Field(description="True when the text was cut to the model's window.")
    predictions: dict[str, TaskPrediction]
    cost: Cost


class ClassifyResponse(BaseModel):
    """Answers in request order."""

    request_id: str = Field(examples=["3f2c9a0e5b7d4e1f8a6b2c3d4e5f6a7b"])
    results: list[ItemResult]


class ErrorBody(BaseModel):
    """Every error: a human-readable message and a machine code."""

    detail: str = Field(examples=["text 0 is empty"])
    code: str = Field(examples=["empty_text"])


class Health(BaseModel):
    """Liveness."""

    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    """Readiness: the model is loaded and the database answers (200 `ready` or `degraded`),
    else 503 `not ready`; `degraded` lists what works in a reduced way."""

    status: Literal["ready", "degraded", "not ready"] = Field(examples=["ready"])
    model_loaded: bool
    database: bool
    reason: str = ""
    degraded: list[str] = Field(
        default_factory=list,
        description="What is degraded: records spooled or quarantined, stale prices, ...",
    )


class AdapterInfo(BaseModel):
    """One task of the loaded model (every task shares one adapter and one encoder forward)."""

    task: str
    labels: list[str]
    version: str
    threshold: float = Field(description="Below this max-softmax score the answer is unknown.")
    margin: float = Field(
        default=0.0, description="Below this gap between the two best scores: unknown."
    )
    rule: str = Field(default="", description="How the label is chosen, in words.")
    base_model: str
    max_length: int
    metrics: dict[str, Any] = Field(default_factory=dict)
    training_cost: dict[str, Any] | None = Field(
        default=None, description="The measured cost of training, when the adapter records it."
    )


class ModelsResponse(BaseModel):
    """The loaded model: base, device, version, its tasks and its `unknown` operating point."""

    model_name: str
    device: str
    engine: Literal["torch", "onnx"] = Field(
        default="torch", description="The runtime answering: torch or ONNX Runtime."
    )
    precision: Literal["fp32", "bf16", "int8"] = Field(
        default="fp32", description="The precision it computes in."
    )
    engine_reason: str = Field(default="", description="Why this engine and precision, in words.")
    version: str = Field(default="", description="Content hash of the adapter and heads.")
    operating_point: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "How the intent `unknown` rule was chosen: least expected cost on held-out data, "
            "from the escalation cost (a human ticket) and the cost of a wrong answer (ticket + "
            "penalty), both from the price settings at training time, and what it did there."
        ),
    )
    adapters: list[AdapterInfo]
