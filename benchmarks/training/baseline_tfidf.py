"""TF-IDF (word + char n-grams) + LinearSVC baseline on the same seeded held-out split.

Usage: python -m benchmarks.training.baseline_tfidf DATA.csv [DATA2.csv ...]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from models.data import load_many
from models.metrics import classification_metrics
from models.recipe import Recipe
from models.split import stratified_split


def main(paths: list[str]) -> dict[str, object]:
    """Fit on the train part, report held-out metrics (overall and per source file)."""
    rows = load_many(paths)
    recipe = Recipe()
    tr, held = stratified_split([(r.source, r.label) for r in rows], 0.1, recipe.seed)
    start = time.perf_counter()
    clf = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LinearSVC(C=1.0),
    )
    clf.fit([rows[i].text for i in tr], [rows[i].label for i in tr])
    pred = list(clf.predict([rows[i].text for i in held]))
    gold = [rows[i].label or "" for i in held]
    labels = sorted(set(gold))
    out: dict[str, object] = {"seconds": round(time.perf_counter() - start, 1), "n_train": len(tr)}
    out["overall"] = {
        k: v for k, v in classification_metrics(gold, pred, labels).items() if k != "per_label_f1"
    }
    for src in sorted({rows[i].source for i in held}):
        sel = [j for j, i in enumerate(held) if rows[i].source == src]
        m = classification_metrics([gold[j] for j in sel], [pred[j] for j in sel], labels)
        out[Path(src).parent.name] = {"n": m["n"], "accuracy": m["accuracy"]}
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=1))
