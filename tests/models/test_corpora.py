"""Corpora: roles are checked, and each epoch draws the next slice of a seeded permutation."""

from __future__ import annotations

from collections import Counter

import pytest

from models.corpora import INTENT, OOD, SENTIMENT, Corpus, Example, epoch_examples, task_labels
from models.data import Row

ROWS = [Row(f"text {i}", f"label {i % 2}") for i in range(10)]


def test_without_per_epoch_every_epoch_is_the_whole_corpus() -> None:
    corpus = Corpus("all", INTENT, ROWS)
    assert corpus.draw(0, seed=1) == ROWS and corpus.draw(5, seed=1) == ROWS
    assert Corpus("empty", OOD, [], per_epoch=4).draw(0, seed=1) == []


def test_successive_epochs_walk_a_seeded_permutation() -> None:
    corpus = Corpus("big", INTENT, ROWS, per_epoch=3)
    epochs = [corpus.draw(e, seed=7) for e in range(3)]
    assert all(len(e) == 3 for e in epochs)
    seen = [row for e in epochs for row in e]
    assert len(set(seen)) == 9  # new rows every epoch until the corpus is used up
    assert corpus.draw(1, seed=7) == epochs[1]  # seeded
    wrapped = corpus.draw(3, seed=7)  # rows 9, 0, 1 of the permutation
    assert wrapped[0] not in seen and wrapped[1:] == epochs[0][:2]
    assert [corpus.draw(e, seed=8) for e in range(3)] != epochs
    assert seen != ROWS[:9]  # shuffled, not in file order


def test_per_epoch_above_the_corpus_size_over_samples() -> None:
    corpus = Corpus("small", SENTIMENT, ROWS, per_epoch=25)
    drawn = corpus.draw(0, seed=3)
    assert len(drawn) == 25
    counts = Counter(drawn)
    assert set(counts) == set(ROWS) and set(counts.values()) == {2, 3}
    assert len(corpus.draw(1, seed=3)) == 25


def test_bad_role_raises() -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        Corpus("typo", "intents", ROWS)


def test_epoch_examples_and_task_labels() -> None:
    corpora = [
        Corpus("a", INTENT, [Row("card", "card_arrival"), Row("rate", "exchange_rate")]),
        Corpus("b", SENTIMENT, [Row("great", "positive"), Row("bad", "negative")]),
        Corpus("c", OOD, [Row("weather?")]),
    ]
    examples = epoch_examples(corpora, 0, seed=1)
    assert examples[0] == Example("card", INTENT, "card_arrival")
    assert examples[-1] == Example("weather?", OOD, None)
    assert [e.role for e in examples] == [INTENT, INTENT, SENTIMENT, SENTIMENT, OOD]
    assert task_labels(corpora, SENTIMENT) == ["negative", "positive"]
    assert task_labels(corpora, OOD) == []
