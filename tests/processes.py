"""Start real InsightCloud processes (manage.py …) from tests and wait for what they do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process that must use the test database the test is using."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("mysql"):
        env["DIVVY_DB_NAME"] = str(database["NAME"])
    else:
        env["INSIGHTCLOUD_SQLITE_FILE"] = str(database["NAME"])
    env.update(overrides)
    return env


def start_manage(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env or process_env(),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def wait_for(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
