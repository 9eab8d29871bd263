"""Registering the Alibaba driver and collectors must not load the Alibaba SDKs (the web process)."""

from __future__ import annotations

import subprocess
import sys

from tests.processes import ROOT, process_env

SCRIPT = """
import sys, django
django.setup()
from insightcloud.registry import registry
with registry.unlocked():
    from harvesters import alibaba
    alibaba.load()
assert registry.get("clouds", "alibaba")
loaded = sorted(m for m in sys.modules if m.startswith(("aliyunsdk", "oss2")))
print(loaded)
"""


def test_loading_the_alibaba_plugins_imports_no_sdk():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=process_env(DJANGO_SETTINGS_MODULE="insightcloud.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
