"""Text with nothing to read: the bot ignores it (no reply, no cost, no outcome), in the console
as on Discord (tests/bot/test_discord_faults.py), by the same rule as the model service."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from bot.console import parse_line
from bot.settings import BotConfig
from bot.text import has_visible_character
from models.service.validation import has_visible_character as service_rule
from storage.db import create_db_engine
from storage.tables import InferenceRecord, SupportOutcome
from tests.bot.console_process import run_console

INVISIBLE = [
    "\u200b",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u3000\u00a0\u2028\u2029\u205f",
    "\u202e\u2066\u2069\u00ad",
    "\x07\x1b\x7f",
]
VISIBLE = ["a", "\u200bcard\u200b", "é", "\u0301", "🙂", "１", "\u00a0?", "ﷺ"]


@pytest.mark.parametrize("text", INVISIBLE + VISIBLE, ids=ascii)
def test_bot_and_service_agree(text: str) -> None:
    assert has_visible_character(text) == service_rule(text) == (text in VISIBLE)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
def test_bot_and_service_agree_on_any_text(text: str) -> None:
    assert has_visible_character(text) == service_rule(text)


@given(st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=20))
def test_format_control_and_separator_code_points_alone_are_invisible(text: str) -> None:
    normalised = unicodedata.normalize("NFKC", text)
    if all(unicodedata.category(ch)[0] in "CZ" for ch in normalised):
        assert not has_visible_character(text)


@pytest.mark.parametrize("text", INVISIBLE, ids=ascii)
def test_an_invisible_console_line_is_a_blank_line(text: str) -> None:
    assert parse_line(text + "\n") is None


def test_the_console_answers_nothing_records_nothing_for_invisible_lines(
    settings: BotConfig, tmp_path: Path
) -> None:
    script = "".join(line.replace("\n", " ") + "\n" for line in INVISIBLE)
    done = run_console(settings, tmp_path, script)
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr
    engine = create_db_engine(settings.database)
    try:
        with Session(engine) as session:
            for table in (InferenceRecord, SupportOutcome):
                count = session.exec(select(func.count()).select_from(table)).one()[0]  # type: ignore[call-overload]
                assert count == 0, table
    finally:
        engine.dispose()
