"""A periodic p1 job exporting the backlog per queue (Immediate, High Priority, Standard) to AWS CloudWatch
or Google Cloud Monitoring, as settings.METRICS_BACKEND says."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from scheduler.jobs import job_kind
from scheduler.queues import METRIC_NAMES, P1

logger = logging.getLogger(__name__)

EXPORT_KIND = "export_queue_metrics"


@job_kind(EXPORT_KIND, priority=P1, time_limit=120)
def export_queue_metrics(job: Any, namespace: str | None = None) -> dict:
    """Send the number of messages waiting in p0, p1 and p2 to the configured metrics backend."""
    from scheduler.diagnostics import queue_depths

    backlog = {METRIC_NAMES[priority]: depth for priority, depth in queue_depths().items()}
    namespace = namespace or settings.METRICS_NAMESPACE
    if settings.METRICS_BACKEND == "cloudwatch":
        from harvesters.aws.metrics import put_backlog

        put_backlog(
            backlog, namespace=namespace, region=settings.METRICS_REGION, endpoint_url=settings.METRICS_ENDPOINT_URL
        )
    elif settings.METRICS_BACKEND == "cloudmonitoring":
        from harvesters.gcp.metrics import put_backlog

        project = put_backlog(
            backlog,
            namespace=namespace,
            key_file=settings.METRICS_GCP_KEY_FILE,
            project=settings.METRICS_GCP_PROJECT,
            endpoint_url=settings.METRICS_ENDPOINT_URL,
        )
        return {"backend": settings.METRICS_BACKEND, "namespace": namespace, "project": project, "backlog": backlog}
    return {"backend": settings.METRICS_BACKEND, "namespace": namespace, "backlog": backlog}


def enqueue_export() -> None:
    from scheduler.runner import enqueue

    enqueue(EXPORT_KIND, {}, dedup_key=EXPORT_KIND, requested_by="scheduler")
