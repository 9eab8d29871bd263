"""Enqueue a Job (row + Celery message) and execute it in a worker."""

from __future__ import annotations

import logging
import os
import socket
import traceback
from typing import Any

from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from scheduler.jobs import get_job_kind
from scheduler.models import ACTIVE_STATUSES, LOG_LIMIT, Job, JobStatus

logger = logging.getLogger(__name__)


def enqueue(
    kind: str,
    arguments: dict | None = None,
    *,
    priority: str | None = None,
    dedup_key: str = "",
    cloud_id: int | None = None,
    organization_id: int | None = None,
    requested_by: str = "",
) -> tuple[Job, bool]:
    """Create the Job and send its message once the row is committed.

    Returns ``(job, created)``; with a ``dedup_key`` already queued or running, the existing job
    is returned and nothing is sent.
    """
    spec = get_job_kind(kind)
    priority = priority or spec.priority
    with transaction.atomic():
        if dedup_key:
            existing = Job.objects.filter(dedup_key=dedup_key, status__in=ACTIVE_STATUSES).first()
            if existing:
                return existing, False
        job = Job.objects.create(
            kind=kind,
            priority=priority,
            arguments=arguments or {},
            dedup_key=dedup_key,
            cloud_id=cloud_id,
            organization_id=organization_id,
            requested_by=requested_by,
        )
        transaction.on_commit(lambda: send(job))
    return job, True


def send(job: Job) -> None:
    from scheduler.tasks import task_for_priority

    task_for_priority(job.priority).apply_async(args=[job.pk], queue=job.priority)


def append_log(job: Job, line: str) -> None:
    stamp = timezone.now().strftime("%H:%M:%S")
    job.log = (job.log + f"{stamp} {line}\n")[-LOG_LIMIT:]
    Job.objects.filter(pk=job.pk).update(log=job.log, heartbeat_at=timezone.now())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(job_id: int) -> str:
    """Run one job: claim it with a conditional UPDATE so a redelivered message never runs it twice."""
    close_old_connections()
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker_name(), attempts=F("attempts") + 1
    )
    if not claimed:
        logger.info("job %s is not queued any more (cancelled, done or taken); skipping", job_id)
        return "skipped"
    job = Job.objects.get(pk=job_id)
    spec = get_job_kind(job.kind)
    try:
        result: Any = spec.handler(job, **job.arguments)
    except Exception as exc:  # the job fails; the worker goes on
        logger.exception("job %s (%s) failed", job_id, job.kind)
        _finish(job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}", log=traceback.format_exc(limit=5))
        return JobStatus.FAILED
    job.refresh_from_db(fields=["cancel_requested", "log"])
    status = JobStatus.CANCELLED if job.cancel_requested else JobStatus.SUCCEEDED
    _finish(job, status, result=result if isinstance(result, dict) else {"value": result})
    return status


def _finish(job: Job, status: str, *, error: str = "", result: dict | None = None, log: str = "") -> None:
    if log:
        append_log(job, log)
    Job.objects.filter(pk=job.pk).update(
        status=status, finished_at=timezone.now(), error=error[:10_000], result=result or {}
    )
