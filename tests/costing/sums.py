"""Independent raw sums straight from inference_record (what every total must equal)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

COLUMNS = (
    "cost_compute_pico",
    "cost_energy_pico",
    "cost_hardware_pico",
    "cost_data_pico",
    "co2_ng",
    "energy_uj",
    "input_tokens",
)


def raw_sums(
    engine: Engine, *, start: datetime | None = None, end: datetime | None = None
) -> dict[str, int]:
    """count and the summed columns of the records created in [start, end) (all if None)."""
    where, params = "", {}
    if start is not None and end is not None:
        where = "WHERE created_at >= :start AND created_at < :end"
        naive = engine.dialect.name == "sqlite"
        params = {
            k: (v.replace(tzinfo=None) if naive else v)
            for k, v in {"start": start, "end": end}.items()
        }
    sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in COLUMNS)
    with engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT COUNT(*), {sums} FROM inference_record {where}"), params
        ).one()
    return dict(zip(("count", *COLUMNS), (int(v) for v in row), strict=True))


def rollup_sums(engine: Engine) -> dict[str, int]:
    """The same sums over the roll-up table."""
    sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in ("count", *COLUMNS))
    with engine.connect() as connection:
        row = connection.execute(text(f"SELECT {sums} FROM cost_rollup")).one()
    return dict(zip(("count", *COLUMNS), (int(v) for v in row), strict=True))
