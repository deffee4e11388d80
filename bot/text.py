"""What counts as a message with something to read (the model service applies the same rule)."""

from __future__ import annotations

import unicodedata


def has_visible_character(text: str) -> bool:
    """True when some character is neither a control/format code point nor a separator
    (Unicode categories C* and Z*) after NFKC normalisation: a zero-width space is invisible.

    The bot never imports `models`, and the floors both share (costing, storage) are about money
    and the database, so the service keeps its own copy in models/service/validation.py;
    tests/bot/test_invisible.py holds the two to the same answers.
    """
    return any(
        unicodedata.category(ch)[0] not in "CZ" for ch in unicodedata.normalize("NFKC", text)
    )
