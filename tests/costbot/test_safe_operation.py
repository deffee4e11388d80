"""Safe to operate (#16 points 1, 2, 3, 8), driven as a user drives it: the real `costbot`
command in a child process, in a fresh working folder, against real SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import discord
import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from costbot.cli import app as costbot_app
from costbot.demo.workdir import MARKER, prepare_workdir
from costbot.errors import UsageError
from costbot.settings import load_settings, masked_dump
from models.service.identity import SALT_FILE_NAME, resolve_salt
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.costbot.conftest import load_error
from tests.loopback import free_socket

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "hunter2-secret"


def costbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    """`costbot ARGS` in a child process: the user's view (exit code, stdout, stderr)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "costbot", *args],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costbot: "), done.stderr
    return lines[0]


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A new user's empty working folder."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


# 1. Nothing a user owns is touched; state lives in the data folder, never the working folder.


def test_demo_refuses_a_folder_it_did_not_make_and_changes_nothing(fresh: Path) -> None:
    (fresh / "notes.txt").write_text("mine")
    done = costbot("demo", "--workdir", ".", cwd=fresh)
    line = _one_line_error(done)
    assert "not empty and was not made by `costbot demo`" in line
    assert sorted(p.name for p in fresh.iterdir()) == ["notes.txt"]
    assert (fresh / "notes.txt").read_text() == "mine"


def test_a_demo_rerun_clears_only_what_the_demo_made(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    prepare_workdir(workdir)
    assert (workdir / MARKER).is_file()
    (workdir / "costbot.db").write_text("old demo database")
    (workdir / "spool.p-cli-0.jsonl").write_text("old spool")
    (workdir / "spool.p-service-0.jsonl.quarantine").write_text("old quarantine")
    (workdir / "kept.txt").write_text("the user's")
    prepare_workdir(workdir)
    assert sorted(p.name for p in workdir.iterdir()) == [MARKER, "kept.txt"]
    with pytest.raises(UsageError, match="is a file"):
        prepare_workdir(workdir / "kept.txt")


def test_state_goes_to_the_data_folder_not_the_working_folder(fresh: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = costbot("db", "upgrade", cwd=fresh, env={"COSTBOT_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    assert list(fresh.iterdir()) == []
    assert (data / "costbot.db").is_file()
    assert str(data / "costbot.db") in done.stdout


def test_the_default_data_folder_is_the_platforms(fresh: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COSTBOT_DATA_DIR"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    done = subprocess.run(
        [sys.executable, "-m", "costbot", "db", "upgrade"],
        cwd=fresh,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert list(fresh.iterdir()) == []
    assert (tmp_path / "xdg" / "costbot" / "costbot.db").is_file()


def test_the_install_salt_lives_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    resolve_salt(settings.service_config())
    assert (settings.data_dir / SALT_FILE_NAME).is_file()
    assert not (tmp_path / SALT_FILE_NAME).exists()


# 2. A database that is not migrated, too old, or down is named, with what to do.


@pytest.mark.parametrize("command", [("cost",), ("roi",), ("budget", "show"), ("prices", "show")])
def test_an_unmigrated_database_says_to_run_db_upgrade(
    fresh: Path, db_settings: DatabaseSettings, command: tuple[str, ...]
) -> None:
    done = costbot(*command, cwd=fresh, env={"COSTBOT_DATABASE__URL": db_settings.url})
    line = _one_line_error(done)
    assert "has no costbot schema (never migrated); run `costbot db upgrade`" in line


def test_a_too_old_database_names_both_revisions(
    fresh: Path, db_settings: DatabaseSettings
) -> None:
    engine = create_db_engine(db_settings)
    upgrade(engine, "0003")
    engine.dispose()
    done = costbot("cost", cwd=fresh, env={"COSTBOT_DATABASE__URL": db_settings.url})
    line = _one_line_error(done)
    assert "is at revision 0003, older than this costbot needs" in line
    assert line.endswith("run `costbot db upgrade`")
    env = {"COSTBOT_DATABASE__URL": db_settings.url}
    upgraded = costbot("db", "upgrade", cwd=fresh, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert costbot("cost", cwd=fresh, env=env).returncode == 0


def test_the_console_refuses_an_unmigrated_database(
    fresh: Path, db_settings: DatabaseSettings
) -> None:
    done = costbot("console", cwd=fresh, env={"COSTBOT_DATABASE__URL": db_settings.url})
    assert "run `costbot db upgrade`" in _one_line_error(done)


def test_a_down_database_is_one_line_naming_the_masked_host(fresh: Path) -> None:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/costbot?password={PASSWORD}"
    for command in (("cost",), ("console",), ("db", "upgrade")):
        done = costbot(*command, cwd=fresh, env={"COSTBOT_DATABASE__URL": url})
        line = _one_line_error(done)
        assert f"database at 127.0.0.1:{port}/costbot unreachable" in line
        assert PASSWORD not in done.stderr + done.stdout


@pytest.mark.slow
def test_serve_migrate_brings_a_fresh_database_up_then_serves(
    fresh: Path, tmp_path: Path, adapters_dir: Path
) -> None:
    """What the image's default command (`serve --migrate`) does on an empty data folder."""
    with free_socket() as sock:
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters_dir),
        "COSTBOT_SERVICE__DEVICE": "cpu",
    }
    command = [sys.executable, "-m", "costbot", "serve", "--migrate", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=fresh, env=env, stdout=out, stderr=out)
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(60)
    assert ready.status_code == 200, log.read_text()
    assert ready.json()["database"] is True
    assert (Path(os.environ["COSTBOT_DATA_DIR"]) / "costbot.db").is_file()
    assert list(fresh.iterdir()) == []


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 120
    reply = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            reply = httpx.get(f"{url}/readyz", timeout=5)
            if reply.status_code == 200:
                return reply
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready: {reply.text if reply is not None else 'no answer'}")


@pytest.mark.slow
def test_serve_migrate_with_a_down_database_is_one_line(fresh: Path) -> None:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/costbot"
    done = costbot("serve", "--migrate", cwd=fresh, env={"COSTBOT_DATABASE__URL": url})
    assert f"database at 127.0.0.1:{port}/costbot unreachable" in _one_line_error(done)
    assert PASSWORD not in done.stderr


def test_an_unreachable_discord_is_one_line_naming_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    # The real discord.py client, pointed at a loopback port where nothing listens.
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    monkeypatch.setenv("DISCORD_TOKEN", PASSWORD)
    result = CliRunner().invoke(costbot_app, ["up", "--no-service"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"costbot up: cannot reach Discord at 127.0.0.1:{port} (Connection refused); check this "
        "machine's network, DNS and firewall, then start again"
    ]
    assert PASSWORD not in result.output


# 3. Configuration mistakes name the closest valid setting; secrets are masked everywhere.


def test_a_misspelt_key_in_the_file_names_the_closest(use_config: Callable[[str], Path]) -> None:
    use_config(
        'data_dirr = "x"\n[service]\nprot = 9000\n[databse]\nurl = "sqlite://"\n'
        "[[discord.summaries]]\nchannel_id = 1\nhuor = 9\n"
    )
    message = load_error()
    assert "unknown setting service.prot; did you mean service.port?" in message
    assert "unknown setting databse; did you mean database?" in message
    assert "unknown setting data_dirr; did you mean data_dir?" in message
    assert "unknown setting discord.summaries.0.huor; did you mean discord.summaries.0.hour?" in (
        message
    )


def test_secrets_are_masked_in_repr_errors_and_config_show(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://bot:{PASSWORD}@db:5432/costbot?sslmode=require&password={PASSWORD}"
    monkeypatch.setenv("COSTBOT_DATABASE__URL", url)
    monkeypatch.setenv("DISCORD_TOKEN", PASSWORD)
    monkeypatch.setenv("COSTBOT_DISCORD__USER_HASH_SALT", PASSWORD)
    settings = load_settings()
    for shown in (repr(settings), str(settings), repr(settings.service_config())):
        assert PASSWORD not in shown
        assert "bot:***@db:5432/costbot?sslmode=require&password=***" in shown
    assert PASSWORD not in repr(settings.bot_config()) + str(masked_dump(settings))
    monkeypatch.setenv("COSTBOT_DATABASE__URL", url.replace("postgresql", "postgres-typo"))
    message = load_error()
    assert PASSWORD not in message and "bot:***@db" in message
    done = costbot("config", "show", cwd=fresh, env={"COSTBOT_DATABASE__URL": url})
    assert done.returncode == 0 and PASSWORD not in done.stdout
    assert "password=***" in done.stdout


# 8. The console reads undecodable bytes as replacement characters and keeps going.


def test_the_console_survives_an_undecodable_line(fresh: Path, engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    lines = b"my card \xff\xfe has not arrived\n/help\n"  # no service: the message escalates
    done = costbot("console", cwd=fresh, env={"COSTBOT_DATABASE__URL": url}, stdin=lines)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "A person from the team will take this" in done.stdout  # the bad line was answered
    assert "/classify" in done.stdout  # and so was the /help after it
