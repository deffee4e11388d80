"""The non-model commands run without importing any model library (nor matplotlib, which only a
chart needs): each is run for real in a fresh interpreter, and the heavy modules loaded by the
time it returns are listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "onnxruntime", "peft", "transformers", "sklearn", "matplotlib")
PROBE = """
import json, sys
from costbot.cli import main
sys.argv = ["costbot", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
print("LOADED=" + json.dumps([code, sorted(m for m in {heavy} if m in sys.modules)]))
"""


def _loaded(args: list[str], *, data_dir: Path, stdin: str = "") -> list[str]:
    """The heavy modules loaded once `costbot ARGS` returned (AssertionError if it failed)."""
    env = {**os.environ, "COSTBOT_DATA_DIR": str(data_dir), "COLUMNS": "120"}
    env["COSTBOT_DATABASE__URL"] = f"sqlite:///{data_dir / 'costbot.db'}"
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LOADED=")]
    assert lines, f"{args}: no answer\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    code, loaded = json.loads(lines[-1].removeprefix("LOADED="))
    assert code == 0, f"{args}: exit {code}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return list(loaded)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["cost", "month"],
        ["roi", "month"],
        ["aggregate"],
        ["config", "show"],
        ["console"],  # reads stdin to its end (empty here)
    ],
)
def test_non_model_commands_import_no_model_library(args: list[str], tmp_path: Path) -> None:
    _loaded(["db", "upgrade"], data_dir=tmp_path)
    assert _loaded(args, data_dir=tmp_path) == []


def test_the_probe_sees_a_model_command_load_torch(tmp_path: Path) -> None:
    # `eval` loads the classifier: the probe must report torch for it, or it proves nothing.
    data = tmp_path / "rows.csv"
    data.write_text("text,label\nmy card has not arrived,card_arrival\n")
    args = ["eval", "--task", "intent", "--data", str(data)]
    assert "torch" in _loaded(args, data_dir=tmp_path)
