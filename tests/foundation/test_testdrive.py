"""The test drive runs the whole product on embedded defaults and stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.foundation.test_settings import clean_env
from tests.processes import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


def status(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/Status", timeout=3) as response:
            return json.loads(response.read())
    except (OSError, urllib.error.HTTPError):
        return None


def leftover_processes(tmp_path) -> list[int]:
    """Pids of the processes started with this test's data directory (the test drive and its children)."""
    marker = f"INSIGHTCLOUD_DATA_DIR={tmp_path / 'data'}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


def start_testdrive(env: dict, port: int, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "testdrive", "--bind", f"127.0.0.1:{port}", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_testdrive_serves_a_healthy_status_and_stops_every_process_on_sigterm(tmp_path):
    env = clean_env(tmp_path)
    port = free_port()
    log_path = tmp_path / "testdrive.log"
    with open(log_path, "w") as log:
        process = start_testdrive(env, port, log)
        try:
            body = wait_for(
                lambda: (s := status(port)) and s["status"] == "healthy" and len(s["workers"]) >= 2 and s,
                timeout=90,
                what="a healthy test drive",
            )
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=40)
    output = log_path.read_text()
    assert body["database"]["engine"] == "sqlite"
    assert body["broker"]["kind"] == "embedded"
    assert {tuple(w["queues"]) for w in body["workers"]} == {("p0", "p1", "p2"), ("p0",)}
    assert code == 0, output
    assert re.search(r"Created user 'admin' with password: \S+", output)
    assert "[web]" in output and "[scheduler]" in output and "[worker-p0]" in output
    # Every child is gone: nothing listens on the port any more.
    time.sleep(0.5)
    assert status(port) is None

    # A second start keeps the existing users and prints no password. It is stopped as soon as the
    # web server answers, while the workers are still starting: nothing of it may be left running.
    with open(tmp_path / "second.log", "w") as log:
        process = start_testdrive(env, port, log)
        try:
            wait_for(lambda: status(port), timeout=90, what="the second test drive")
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=40) == 0
    wait_for(lambda: status(port) is None, timeout=20, what="the second test drive's web server to stop")
    assert not leftover_processes(tmp_path), "a child outlived the test drive"
    second = (tmp_path / "second.log").read_text()
    assert "Users already exist" in second
    assert "password" not in second.lower().replace("users already exist", "")
