"""The shipped support model's data plan and recipe: which corpora, in which role, how much.

Public data is read from a data root holding the project's shared `text,label` CSVs
(`banking77/`, `goemotions-sentiment/`, `sst2/`, `tweeteval-sentiment/`); the team's own data
(sentiment annotations of BANKING77 messages, out-of-scope queries) lives in `models/datasets/`.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from models.corpora import INTENT, OOD, SENTIMENT, Corpus
from models.data import Row, load_rows
from models.errors import DataError
from models.recipe import Recipe
from models.split import stratified_split

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
ANNOTATIONS = DATASETS_DIR / "banking77_sentiment" / "annotations.csv"
OOS_TRAIN = DATASETS_DIR / "out_of_scope" / "train.csv"
OOS_HELD = DATASETS_DIR / "out_of_scope" / "heldout.csv"

SUPPORT_RECIPE = Recipe(epochs=4, ood_weight=1.0, head_refit_epochs=20)


def support_recipe() -> Recipe:
    """A copy of the shipped model's recipe."""
    return Recipe.from_dict(SUPPORT_RECIPE.to_dict())


def support_corpora(data_root: Path, seed: int = 13) -> list[Corpus]:
    """The corpora the shipped model is trained and evaluated on (DataError if a file is missing).

    Held-out parts: a seeded stratified 10 % of BANKING77 (the intent split), GoEmotions' dev file,
    15 % of TweetEval, 1,000 SST-2 rows of 8+ words, the annotations of intent-held-out messages,
    and the team's independently written out-of-scope queries.
    """
    root = Path(data_root)
    banking = load_rows(root / "banking77" / "train.csv")
    intent_train, intent_held = stratified_split([r.label for r in banking], 0.1, seed)
    sentiment_train, sentiment_held = _annotations(banking, set(intent_held))
    goemo = load_rows(root / "goemotions-sentiment" / "train.csv")
    goemo_dev = load_rows(root / "goemotions-sentiment" / "dev.csv")
    tweets = load_rows(root / "tweeteval-sentiment" / "val.csv")
    tweet_train, tweet_held = stratified_split([r.label for r in tweets], 0.15, seed)
    sst2_train, sst2_held = _sst2_split(load_rows(root / "sst2" / "train.csv"), seed)
    tweets_t = [tweets[i] for i in tweet_train]
    return [
        Corpus(
            "banking77",
            INTENT,
            [banking[i] for i in intent_train],
            [banking[i] for i in intent_held],
            per_epoch=13500,
        ),
        Corpus("banking77-sentiment", SENTIMENT, sentiment_train, sentiment_held, own_data=True),
        Corpus("goemotions", SENTIMENT, goemo, goemo_dev, per_epoch=9000),
        Corpus("tweeteval", SENTIMENT, tweets_t, [tweets[i] for i in tweet_held]),
        Corpus("sst2", SENTIMENT, sst2_train, sst2_held, per_epoch=8000),
        Corpus("out-of-scope", OOD, _unlabelled(OOS_TRAIN), _unlabelled(OOS_HELD), own_data=True),
        Corpus("off-topic", OOD, [*goemo, *tweets_t, *sst2_train], per_epoch=3000),
    ]


def _annotations(banking: list[Row], intent_held: set[int]) -> tuple[list[Row], list[Row]]:
    """The team's sentiment labels of BANKING77 messages, split along the intent split."""
    train: list[Row] = []
    held: list[Row] = []
    with ANNOTATIONS.open(newline="") as handle:
        for rec in csv.DictReader(handle):
            row = int(rec["row"])
            text = banking[row].text
            if hashlib.sha256(text.encode()).hexdigest()[:10] != rec["text_sha256"]:
                raise DataError(f"{ANNOTATIONS}: row {row} does not match banking77/train.csv")
            labelled = Row(text, rec["label"], str(ANNOTATIONS))
            (held if row in intent_held else train).append(labelled)
    return train, held


def _sst2_split(rows: list[Row], seed: int) -> tuple[list[Row], list[Row]]:
    """Hold out 1,000 seeded sentence-like rows (8+ words); SST-2's train file is mostly phrases."""
    rng = np.random.default_rng(seed)
    long_idx = [i for i, r in enumerate(rows) if len(r.text.split()) >= 8]
    held = set(rng.choice(long_idx, 1000, replace=False).tolist())
    # SST-2's train file holds the phrases of its sentences: keep none of a held sentence's.
    held_blob = "\n".join(rows[i].text for i in held)
    train = [r for i, r in enumerate(rows) if i not in held and r.text not in held_blob]
    return train, [rows[i] for i in sorted(held)]


def _unlabelled(path: Path) -> list[Row]:
    """Rows of a `text` CSV (no label)."""
    return load_rows(path, need_label=False)
