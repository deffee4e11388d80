"""Write the support model's merged encoder as a sentence-transformers folder (mean pooling, the
model's window), for embedding servers such as infinity-emb; the heads stay in costbot's folder."""

from __future__ import annotations

import json
from pathlib import Path

from models.classifier import Classifier


def write_sentence_transformer(model_dir: Path, out: Path) -> Path:
    """The merged encoder, tokenizer and a mean-pooling config in `out`; returns `out`."""
    classifier = Classifier(model_dir, device="cpu")
    out.mkdir(parents=True, exist_ok=True)
    classifier.encoder.save_pretrained(str(out))
    classifier.tokenizer.save_pretrained(str(out))
    hidden = int(classifier.encoder.config.hidden_size)
    pooling = {"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True}
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    kinds = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling")
    modules = [
        {"idx": i, "name": str(i), "path": path, "type": kind}
        for i, (path, kind) in enumerate(zip(("", "1_Pooling"), kinds, strict=True))
    ]
    (out / "modules.json").write_text(json.dumps(modules))
    config = {"max_seq_length": classifier.meta.max_length, "do_lower_case": False}
    (out / "sentence_bert_config.json").write_text(json.dumps(config))
    return out
