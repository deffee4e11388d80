"""Request checks that depend on the settings and the loaded tasks (the schema checks types)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from models.service.errors import InvalidRequestError
from models.service.schemas import ClassifyRequest
from models.service.settings import ServiceSettings


def checked_texts(request: ClassifyRequest, settings: ServiceSettings) -> list[str]:
    """The request's texts, or InvalidRequestError naming the first problem."""
    texts = request.all_texts()
    if texts is None:
        raise InvalidRequestError("invalid_request", "give either `texts` or `text`, not both")
    if not texts:
        raise InvalidRequestError("empty_request", "`texts` is empty")
    if len(texts) > settings.max_texts_per_request:
        raise InvalidRequestError(
            "too_many_texts",
            f"{len(texts)} texts; at most {settings.max_texts_per_request} per request",
        )
    for index, text in enumerate(texts):
        _check_text(index, text, settings.max_text_chars)
    return texts


def _check_text(index: int, text: str, limit: int) -> None:
    if "\x00" in text or not _encodable(text):
        raise InvalidRequestError(
            "invalid_text", f"text {index} holds a NUL or an unpaired surrogate; send plain UTF-8"
        )
    if not has_visible_character(text):
        raise InvalidRequestError("empty_text", f"text {index} has no visible character")
    if len(text) > limit:
        raise InvalidRequestError(
            "text_too_long", f"text {index} has {len(text)} characters; the limit is {limit}"
        )


def _encodable(text: str) -> bool:
    """False when the text holds an unpaired surrogate (UTF-8 cannot encode one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_visible_character(text: str) -> bool:
    """True when some character is neither a control/format code point nor a separator
    (Unicode categories C* and Z*), after NFKC normalisation: a zero-width space is invisible."""
    return any(
        unicodedata.category(ch)[0] not in "CZ" for ch in unicodedata.normalize("NFKC", text)
    )


def checked_tasks(requested: Sequence[str] | None, loaded: Sequence[str]) -> tuple[str, ...]:
    """The tasks to run (default: all loaded), or InvalidRequestError for an unknown one."""
    if requested is None:
        return tuple(loaded)
    if not requested:
        raise InvalidRequestError("invalid_request", "`tasks` is empty")
    unknown = [task for task in requested if task not in loaded]
    if unknown:
        raise InvalidRequestError(
            "unknown_task", f"unknown task {unknown[0]!r}; loaded: {', '.join(loaded)}"
        )
    return tuple(dict.fromkeys(requested))
