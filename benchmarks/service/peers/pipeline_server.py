"""Peer: a transformers pipeline behind FastAPI, one text per call (the usual first deployment).

Usage: python -m benchmarks.service.peers.pipeline_server --model DIR --port P

The same merged weights (LoRA merged into the encoder, loaded by costbot's Classifier), run by
`transformers.pipeline("feature-extraction")`; mean pooling and the task heads on its output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import uvicorn
from fastapi import FastAPI, Request, Response
from transformers import pipeline

from benchmarks.service.peers.common import WINDOW, answer, labels, softmax, text_of
from models.classifier import Classifier


def create(model_dir: Path) -> FastAPI:
    """The app: POST /v1/classify with a costbot-shaped body; GET /readyz."""
    classifier = Classifier(model_dir, device="cpu")
    names = labels(model_dir)
    extract = pipeline(
        "feature-extraction",
        model=classifier.encoder,
        tokenizer=classifier.tokenizer,
        framework="pt",
        device=-1,
        tokenizer_kwargs={"truncation": True, "max_length": WINDOW},
    )
    heads = {
        task: (head.linear.weight.detach().numpy(), head.linear.bias.detach().numpy())
        for task, head in classifier.heads.items()
    }
    normalise = classifier.meta.normalize
    app = FastAPI()

    @app.get("/readyz")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/classify")
    async def classify(request: Request) -> Response:
        text = text_of(await request.body())
        with torch.inference_mode():
            states = np.asarray(extract(text)[0], dtype=np.float32)
        pooled = states.mean(axis=0)
        if normalise:
            pooled = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        probs = {t: softmax(pooled @ w.T + b) for t, (w, b) in heads.items()}
        return Response(answer(probs, names), media_type="application/json")

    return app


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create(args.model), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
