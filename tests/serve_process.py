"""`costbot serve` in a real child process on a free loopback port: the shared start, readiness
wait and log of the shutdown test, the crash proofs and the replica proof."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from storage.settings import DatabaseSettings
from tests.loopback import free_socket

REPO = Path(__file__).resolve().parents[1]


class ServeProcess:
    """`costbot serve` on loopback with `database`, the model in `adapters_dir` on the CPU, and
    `env` on top (COSTBOT_* variables); its output goes to `<name>-<port>.log` beside the spool."""

    def __init__(
        self,
        database: DatabaseSettings,
        adapters_dir: Path,
        *,
        env: dict[str, str],
        name: str,
    ) -> None:
        with free_socket() as sock:
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            "COSTBOT_DATABASE__URL": database.url,
            "COSTBOT_DATABASE__SPOOL_PATH": str(database.spool_path),
            "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters_dir),
            "COSTBOT_SERVICE__DEVICE": "cpu",
            "COSTBOT_SERVICE__HOST": "127.0.0.1",
            **env,
        }
        command = [sys.executable, "-m", "costbot", "serve", "--port", str(self.port)]
        self.log = database.spool_path.with_name(f"{name}-{self.port}.log")
        with self.log.open("wb") as log:  # a file, not a pipe: a full pipe would block the child
            self.process = subprocess.Popen(
                command, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout_s: float = 120) -> None:
        """Poll /readyz until 200; kill the child and fail with its log's tail if it never is."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.process.kill()
        raise AssertionError(f"not ready: {self.output()[-3000:]}")

    def output(self) -> str:
        """Everything the child has written so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")
