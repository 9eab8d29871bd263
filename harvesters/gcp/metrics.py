"""Send InsightCloud's own metrics (queue backlog) to Google Cloud Monitoring.

One ``projects.timeSeries.create`` call writes a GAUGE point per queue on the custom metric
``custom.googleapis.com/<namespace>/queue_backlog``, labelled ``queue`` = Immediate, High Priority
or Standard (metric type names cannot hold spaces, so the queue name is a label), on the
``global`` monitored resource of the project. The session (service-account key, proxy, CA bundle,
retries of transient errors) is the harvesters' own GcpContext.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from harvesters.base import InvalidCredentials
from harvesters.gcp.session import connect

METRIC = "queue_backlog"
_NAMESPACE = re.compile(r"^[A-Za-z0-9_./-]+$")


def metric_type(namespace: str) -> str:
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"a Cloud Monitoring metric namespace is letters, digits, _ . / - only; got {namespace!r}")
    return f"custom.googleapis.com/{namespace.strip('/')}/{METRIC}"


def time_series(backlog: dict[str, int], *, namespace: str, project: str, now: datetime) -> list[dict]:
    """The request's time series: one per queue name, one INT64 point at ``now``."""
    end = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        {
            "metric": {"type": metric_type(namespace), "labels": {"queue": name}},
            "resource": {"type": "global", "labels": {"project_id": project}},
            "metricKind": "GAUGE",
            "valueType": "INT64",
            "points": [{"interval": {"endTime": end}, "value": {"int64Value": str(int(value))}}],
        }
        for name, value in backlog.items()
    ]


def read_key(path: str | None) -> dict:
    """The service-account JSON key at ``path``; a clear error (never the key) when it cannot be read."""
    if not path:
        raise InvalidCredentials("INSIGHTCLOUD_METRICS_GCP_KEY_FILE names no service-account key file")
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise InvalidCredentials(f"cannot read the service-account key file {path}: {exc.strerror}") from None
    except ValueError:
        raise InvalidCredentials(f"the service-account key file {path} is not valid JSON") from None


def put_backlog(
    backlog: dict[str, int],
    *,
    namespace: str,
    key_file: str | None,
    project: str | None = None,
    endpoint_url: str | None = None,
) -> str:
    """Write the backlog to Cloud Monitoring; returns the project written to (the key's by default)."""
    key = read_key(key_file)
    project = project or key.get("project_id") or ""
    if not project:
        raise ValueError("no project: set INSIGHTCLOUD_METRICS_GCP_PROJECT (the key names none)")
    series = time_series(backlog, namespace=namespace, project=project, now=datetime.now(UTC))
    ctx = connect(project, {}, {"service_account_key": key})
    from googleapiclient import discovery

    options = {"api_endpoint": endpoint_url.rstrip("/") + "/monitoring/"} if endpoint_url else None
    monitoring = discovery.build(
        "monitoring", "v3", http=ctx.http(), static_discovery=True, cache_discovery=False, client_options=options
    )
    ctx.execute(monitoring.projects().timeSeries().create(name=f"projects/{project}", body={"timeSeries": series}))
    return project
