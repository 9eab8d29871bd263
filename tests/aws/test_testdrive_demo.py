"""``manage.py testdrive --demo`` on a fresh machine: a moto estate harvested into the inventory."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tests.foundation.test_settings import clean_env
from tests.processes import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


def demo_inventory(env: dict) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "manage.py", "inventory", "--cloud", "Demo AWS", "--type", "security_group"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else []


def test_testdrive_demo_shows_a_harvested_demo_aws_inventory(tmp_path):
    pytest.importorskip("moto.server")
    env = clean_env(tmp_path, INSIGHTCLOUD_SECRET_KEY="test-secret")
    port = free_port()
    log_path = tmp_path / "testdrive.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "testdrive", "--demo", "--bind", f"127.0.0.1:{port}", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            groups = wait_for(
                lambda: [g for g in demo_inventory(env) if g["name"] == "ssh-open-to-world"] and demo_inventory(env),
                timeout=180,
                interval=3,
                what="the demo cloud's security groups in the inventory",
            )
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
    output = log_path.read_text()
    assert "Demo AWS estate on http://127.0.0.1:" in output
    world = next(group for group in groups if group["name"] == "ssh-open-to-world")
    assert world["provider"] == "aws" and world["cloud_name"] == "Demo AWS"
    assert [rule["cidr"] for rule in world["properties"]["ingress"]] == ["0.0.0.0/0"]
    assert code == 0, output
