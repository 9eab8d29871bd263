"""The interface server loads no cloud SDK: registering every harvester only reads metadata."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.foundation.test_settings import clean_env
from tests.processes import ROOT

SDK_PACKAGES = ("boto3", "botocore", "azure", "googleapiclient", "google", "httplib2", "aliyunsdkcore", "oss2")

PROBE = (
    "import json, sys, django; django.setup(); "
    "import insightcloud.urls; "  # every view and API module, the onboarding forms among them
    "from insightcloud.registry import registry; "
    f"print(json.dumps({{'loaded': sorted({{m.split('.')[0] for m in sys.modules}} & set({SDK_PACKAGES!r})), "
    "'providers': sorted({s.provider for _, s in registry.items('resource_types')})}))"
)


def test_starting_django_registers_every_cloud_but_imports_no_sdk(tmp_path):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="insightcloud.settings")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["providers"] == ["alibaba", "aws", "azure", "gcp"]
    assert state["loaded"] == []
