"""The backlog export job with METRICS_BACKEND=cloudmonitoring, against the GCP fake's Cloud Monitoring API."""

from __future__ import annotations

import json

import pytest

from scheduler.metrics import EXPORT_KIND
from scheduler.models import Job, JobStatus
from scheduler.runner import enqueue, execute

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def monitoring(settings, gcp_fake, gcp_key, no_proxy_env, tmp_path):
    """Settings exporting to the fake with a key file it accepts; returns the fake."""
    key_file = tmp_path / "metrics-key.json"
    key_file.write_text(json.dumps(gcp_key))
    settings.METRICS_BACKEND = "cloudmonitoring"
    settings.METRICS_ENDPOINT_URL = gcp_fake.url
    settings.METRICS_GCP_KEY_FILE = str(key_file)
    settings.METRICS_GCP_PROJECT = None
    settings.METRICS_NAMESPACE = "InsightCloudTest"
    return gcp_fake


def run_export() -> Job:
    export, _ = enqueue(EXPORT_KIND)
    execute(export.pk, export.dispatch)
    export.refresh_from_db()
    return export


def test_the_export_job_writes_the_backlog_per_priority_to_cloud_monitoring(redis_client, monitoring):
    for n in range(3):
        enqueue("noop", {"n": n}, priority="p0")
    enqueue("noop", {"n": 3}, priority="p2")
    export = run_export()
    assert export.status == JobStatus.SUCCEEDED, export.error
    # The export's own p1 message is still in the list: only a worker takes it out.
    assert export.result["backlog"] == {"Immediate": 3, "High Priority": 1, "Standard": 1}
    assert export.result["project"] == "acme-prod"  # the key's project
    received = {s["metric"]["labels"]["queue"]: s for s in monitoring.time_series}
    assert set(received) == {"Immediate", "High Priority", "Standard"}
    immediate = received["Immediate"]
    assert immediate["metric"]["type"] == "custom.googleapis.com/InsightCloudTest/queue_backlog"
    assert immediate["resource"] == {"type": "global", "labels": {"project_id": "acme-prod"}}
    assert (immediate["metricKind"], immediate["valueType"]) == ("GAUGE", "INT64")
    assert immediate["points"][0]["value"] == {"int64Value": "3"}
    assert received["Standard"]["points"][0]["value"] == {"int64Value": "1"}
    assert monitoring.count("/monitoring/v3/projects/acme-prod/timeSeries") == 1


def test_the_project_setting_overrides_the_keys_project(redis_client, monitoring, settings):
    settings.METRICS_GCP_PROJECT = "acme-dev"
    export = run_export()
    assert export.status == JobStatus.SUCCEEDED, export.error
    assert {s["resource"]["labels"]["project_id"] for s in monitoring.time_series} == {"acme-dev"}
    assert monitoring.count("/monitoring/v3/projects/acme-dev/timeSeries") == 1


def test_a_missing_key_file_fails_the_export_clearly_and_sends_nothing(redis_client, monitoring, settings, tmp_path):
    settings.METRICS_GCP_KEY_FILE = str(tmp_path / "absent.json")
    export = run_export()
    assert export.status == JobStatus.FAILED
    assert "cannot read the service-account key file" in export.error and "absent.json" in export.error
    assert monitoring.time_series == [] and monitoring.requests == []


def test_a_revoked_key_fails_the_export_without_writing(redis_client, monitoring, gcp_key):
    monitoring.revoke(gcp_key)
    export = run_export()
    assert export.status == JobStatus.FAILED
    assert "refused the service-account key" in export.error
    assert "PRIVATE KEY" not in export.error + export.log
    assert monitoring.time_series == []
