"""What-if: each option's figure equals the hand-computed value from a small fixture; bad input is
one line. The stored workload is read on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from costbot.errors import SettingsError
from costbot.settings import load_settings
from costing.prices import PriceBook, Prices
from costing.settings import CostingSettings, PriceSettings, WhatIfSettings
from costing.whatif import (
    Throughput,
    WhatIfError,
    Workload,
    benchmark_throughput,
    break_even,
    what_if,
)
from costing.whatif_report import whatif_report
from storage.db import SessionFactory
from tests.costing.conftest import insert_rows
from tests.factories import at, inference_row

# 1,000 messages of 40 characters in 10 days; 0.50 spent on them, 2.00 of idle + amortisation.
WORK = Workload(1000, 40_000, Decimal(10), Decimal("0.5"), Decimal(2), "USD")
SETTINGS = WhatIfSettings(
    hosted_input_per_mtok=Decimal(1),
    hosted_output_per_mtok=Decimal(2),
    chars_per_token=Decimal(4),
    prompt_chars=160,
    reply_chars=400,
    human_messages_per_ticket=Decimal(2),
)
PRICES = Prices.from_settings(PriceSettings(gpu_hour=Decimal(2), human_ticket_cost=Decimal(6)))
THROUGHPUT = Throughput(Decimal(10), "fixture", "measured")


def _options() -> dict[str, dict[str, object]]:
    answer = what_if(WORK, prices=PRICES, settings=SETTINGS, throughput=THROUGHPUT).to_json()
    assert answer["messages_per_month"] == "3043.8"  # 1000 × (365.25 / 12) / 10
    return {o["name"]: o for o in answer["options"]}


def test_each_option_equals_the_hand_computed_figure() -> None:
    options = _options()
    here = options["this deployment"]
    # (0.50 + 2.00) / 1,000 messages × 1,000: the period's own cost per message
    assert (here["cost_per_1000_messages"], here["provenance"]) == ("2.5", "measured")
    gpu = options["GPU instance"]
    # one instance (10/s ≫ the volume): 2/h × 24 h × 30.4375 days = 1461 a month, over 3043.75
    assert (gpu["cost_per_1000_messages"], gpu["provenance"]) == ("480", "configured")
    assert gpu["fixed_per_month"] == "1461"
    # (6.0875 - 1461) / (0 - 0.0005): this deployment is cheaper below 2,909,825 a month
    assert gpu["break_even_messages_per_month"] == "2909825"
    hosted = options["hosted model (gpt-4o-mini)"]
    # (40 + 160) / 4 = 50 input, 400 / 4 = 100 output tokens: (50 × 1 + 100 × 2) / 1e6 = 0.00025
    assert (hosted["cost_per_1000_messages"], hosted["provenance"]) == ("0.25", "estimated")
    assert hosted["break_even_messages_per_month"] is None  # cheaper per message and no fixed
    human = options["human agents"]
    # 6 per ticket of 2 messages = 3 per message
    assert (human["cost_per_1000_messages"], human["provenance"]) == ("3000", "configured")
    assert human["break_even_messages_per_month"] == "2"  # 6.0875 / (3 - 0.0005) = 2.03


def test_break_even_of_parallel_lines_is_none() -> None:
    options = what_if(WORK, prices=PRICES, settings=SETTINGS, throughput=THROUGHPUT).options
    assert break_even(options[2], options[2]) is None


def test_throughput_from_recorded_benchmarks() -> None:
    served = benchmark_throughput("benchmarks/results/batching.jsonl")
    assert served.provenance == "measured" and served.per_second == Decimal("122.4")
    trained = benchmark_throughput("benchmarks/results/support_sweep_h200.jsonl")
    assert trained.provenance == "estimated" and "lower bound" in trained.source
    with pytest.raises(WhatIfError, match=r"cannot read benchmark nowhere\.jsonl") as error:
        benchmark_throughput("nowhere.jsonl")
    assert "\n" not in str(error.value)


def test_negative_prices_and_an_empty_period_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COSTBOT_WHATIF__HOSTED_INPUT_PER_MTOK", "-1")
    with pytest.raises(SettingsError) as error:
        load_settings()
    # the settings error lists one line per bad setting
    [line] = [x for x in str(error.value).splitlines() if "hosted_input_per_mtok" in x]
    assert "'-1'" in line and "greater than or equal to 0" in line
    empty = Workload(0, 0, Decimal(1), Decimal(0), Decimal(0), "USD")
    with pytest.raises(WhatIfError, match="no messages in this period"):
        what_if(empty, prices=PRICES, settings=SETTINGS, throughput=THROUGHPUT)


def test_stored_workload_is_priced(engine: Engine, sessions: SessionFactory) -> None:
    day = [at(f"2026-03-20T{h:02}:00") for h in range(8, 18)]
    rows = [
        inference_row(
            created_at=t, input_chars=40, cost_compute_pico=40_000_000, cost_energy_pico=0
        )
        for t in day
    ]
    insert_rows(engine, rows)
    settings = CostingSettings(whatif=SETTINGS)
    book = PriceBook(sessions, defaults=settings.prices)
    answer = whatif_report(
        sessions, period="2026-03-20..2026-03-20", now=at("2026-03-25T00:00"), prices=book,
        settings=settings,
    ).to_json()  # fmt: skip
    assert answer["messages"] == 10
    here = answer["options"][0]
    # 10 × 0.00004 = 0.0004 over 10 messages: 0.04 per 1,000 (no idle, no training here)
    assert here["cost_per_1000_messages"] == "0.04"
    assert [o["provenance"] for o in answer["options"]] == [
        "measured",
        "configured",
        "estimated",
        "configured",
    ]
