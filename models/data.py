"""Load `text[,label]` CSV files (or stdin) into rows, with clear errors."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.errors import DataError

STDIN = "-"


@dataclass(frozen=True)
class Row:
    """One example: the text, its label (None when unlabelled) and the file it came from."""

    text: str
    label: str | None = None
    source: str = ""


def _read_text(path: str | Path) -> tuple[str, str]:
    """Return (source name, decoded content) of a file path or `-` for stdin."""
    if str(path) == STDIN:
        raw = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: file not found")
        raw = p.read_bytes()
        name = str(p)
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def _check_header(name: str, fields: list[str] | None, need_label: bool) -> None:
    """Raise DataError when the header lacks `text` (or `label` when required)."""
    if not fields:
        raise DataError(f"{name}: empty file (no header, expected columns text,label)")
    needed = ["text", "label"] if need_label else ["text"]
    missing = [c for c in needed if c not in fields]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}; header is {fields}")


def load_rows(path: str | Path, need_label: bool = True) -> list[Row]:
    """Read a CSV with a `text` column (and `label` when need_label) into Rows."""
    name, content = _read_text(path)
    reader = csv.DictReader(io.StringIO(content, newline=""))
    _check_header(name, list(reader.fieldnames or []), need_label)
    rows: list[Row] = []
    for line_no, rec in enumerate(reader, start=2):
        text = (rec.get("text") or "").strip()
        if not text:
            raise DataError(f"{name}: empty text cell at line {line_no}")
        label = (rec.get("label") or "").strip() if "label" in rec else None
        if need_label and not label:
            raise DataError(f"{name}: empty label cell at line {line_no}")
        rows.append(Row(text=text, label=label or None, source=name))
    if not rows:
        raise DataError(f"{name}: no data rows after the header")
    return rows


def load_many(paths: Sequence[str | Path], need_label: bool = True) -> list[Row]:
    """Concatenate the rows of several CSV files, keeping each row's source."""
    if not paths:
        raise DataError("no data file given")
    return [row for p in paths for row in load_rows(p, need_label)]
