"""Money in every table keeps its significant digits (no tiny amount reads as zero), and a
total is printed once."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from typer.testing import CliRunner

from costbot.cli import app
from costing import figures
from costing.units import PICO, Money
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.conftest import insert_rows
from tests.factories import inference_row

# Zero shown with decimals ("0.00 USD", "0.000000 USD") is a nonzero amount rounded away.
ROUNDED_TO_ZERO = re.compile(r"(?<![\d.])0\.0+ (USD|EUR)")


@pytest.fixture
def tiny(engine: Engine, db_settings: DatabaseSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """One inference that cost 3.75e-07 USD (compute 3.5e-07, energy 2.5e-08)."""
    monkeypatch.setenv("COSTBOT_DATABASE__URL", db_settings.url)
    row = inference_row(
        created_at=utc_now() - timedelta(seconds=2),
        cost_compute_pico=350_000,
        cost_energy_pico=25_000,
    )
    insert_rows(engine, [row])


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("group_by", ["day", "model", "command"])
def test_a_tiny_cost_shows_its_digits_and_one_total(tiny: None, group_by: str) -> None:
    out = cli("cost", "today", "--group-by", group_by)
    assert "0.000000375 USD" in out
    assert "0.00000035 USD" in out and "0.000000025 USD" in out
    assert not ROUNDED_TO_ZERO.search(out), out
    assert len(re.findall(r"^│ total ", out, flags=re.MULTILINE)) == 1, out


def test_roi_and_budget_tables_keep_the_digits(tiny: None) -> None:
    cli("budget", "set", "0.0000005")
    for out in (cli("roi", "today"), cli("budget", "show")):
        assert not ROUNDED_TO_ZERO.search(out), out
    assert "0.0000005 USD" in cli("budget", "show")
    assert "0.000000375 USD" in cli("roi", "today")


@given(st.integers(min_value=1, max_value=10**15))
def test_no_nonzero_amount_is_shown_as_zero_or_loses_more_than_its_third_digit(pico: int) -> None:
    shown = figures.money(Money(pico), "USD")
    value = Decimal(shown.removesuffix(" USD").replace(",", ""))
    exact = Decimal(pico) / PICO
    assert value > 0
    assert abs(value - exact) <= exact * Decimal("0.005") + Decimal("0.005") * (exact >= 1)
