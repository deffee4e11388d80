"""Data loading errors name the file and the problem; the split is seeded and stratified."""

from __future__ import annotations

import io
import sys
from collections import Counter
from pathlib import Path

import pytest

from models.data import load_many, load_rows
from models.errors import DataError
from models.split import stratified_split
from tests.models.conftest import write_csv


def test_reads_rows_with_source(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ok.csv", [("hello there", "greet"), ("bye now", "leave")])
    rows = load_rows(path)
    assert [(r.text, r.label) for r in rows] == [("hello there", "greet"), ("bye now", "leave")]
    assert rows[0].source == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_rows(tmp_path / "nope.csv")


def test_missing_label_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nolabel.csv", [("hi",)], header=("text",))
    with pytest.raises(DataError, match=r"nolabel\.csv: missing column\(s\) \['label'\]"):
        load_rows(path)
    assert load_rows(path, need_label=False)[0].label is None


def test_missing_text_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [("hi", "x")], header=("body", "label"))
    with pytest.raises(DataError, match=r"bad\.csv: missing column\(s\) \['text'\]"):
        load_rows(path)


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: empty file"):
        load_rows(empty)
    header = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(DataError, match=r"header\.csv: no data rows"):
        load_rows(header)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\xe9 cr\xe8me,food\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: not UTF-8"):
        load_rows(path)


def test_empty_text_cell_names_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "blank.csv", [("fine", "a"), ("  ", "b")])
    with pytest.raises(DataError, match=r"blank\.csv: empty text cell at line 3"):
        load_rows(path)


def test_data_error_is_value_error() -> None:
    assert issubclass(DataError, ValueError)
    with pytest.raises(DataError, match="no data file"):
        load_many([])


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(b"text\nfirst line\nsecond line\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    rows = load_rows("-", need_label=False)
    assert [r.text for r in rows] == ["first line", "second line"]
    assert rows[0].source == "<stdin>"


def test_split_is_seeded_disjoint_and_stratified() -> None:
    keys = ["a"] * 50 + ["b"] * 30 + ["c"] * 20 + ["solo"]
    train, held = stratified_split(keys, 0.1, seed=3)
    assert stratified_split(keys, 0.1, seed=3) == (train, held)
    assert stratified_split(keys, 0.1, seed=4) != (train, held)
    assert sorted(train + held) == list(range(len(keys)))
    assert Counter(keys[i] for i in held) == {"a": 5, "b": 3, "c": 2}


def test_split_rejects_bad_fraction() -> None:
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(["a", "b"], 1.5)
