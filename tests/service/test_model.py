"""The served model's own figures agree with what the classifier computes."""

from __future__ import annotations

from models.service.model import ServedModel
from tests.loopback import WINDOW

TEXTS = [
    "my card has not arrived",
    "@united see https://example.com/a/very/long/path?with=query&and=more my bag is lost",
    " ".join(["my card has not arrived"] * 5),
    "Ça coûte combien ? 💳 ÅÄÖ ﬁ \u200b naïve",
    " ".join(["@someone http://x.io/y"] * 30),
]


def test_token_counts_match_what_the_encoder_sees(served_model: ServedModel) -> None:
    predictions = served_model.classifier.predict(TEXTS)
    counts = served_model.count_tokens(TEXTS)
    assert counts == [p.n_tokens for p in predictions]
    assert [p.truncated for p in predictions] == [n > WINDOW for n in counts]
    assert predictions[2].truncated and not predictions[0].truncated and predictions[4].truncated
    assert served_model.window("intent") == served_model.window("sentiment") == WINDOW


def test_identity_is_the_one_adapter(served_model: ServedModel) -> None:
    assert served_model.tasks == ["intent", "sentiment"]
    assert served_model.adapter_versions == f"support@{served_model.version}"
    assert served_model.model_version == served_model.version and len(served_model.version) == 12
    assert served_model.metrics["intent"]["n"] == 15


def test_the_counted_ids_carried_into_the_forward_give_the_same_answers(
    served_model: ServedModel,
) -> None:
    full = served_model.encode(TEXTS)
    assert [len(ids) for ids in full] == served_model.count_tokens(TEXTS)
    classifier = served_model.classifier
    assert classifier.predict(TEXTS, full_ids=full) == classifier.predict(TEXTS)
    tokenized = classifier.tokenizer(TEXTS[:1], add_special_tokens=True)["input_ids"]
    assert full[:1] == [list(ids) for ids in tokenized]
