"""Recover running jobs whose worker died: their heartbeat went stale.

A job that still has attempts left is put back in the queue with a new dispatch number (so the
dead worker's message, if Celery redelivers it, cannot run it a second time); one out of
attempts, or past its time limit, fails with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from insightcloud.registry import RegistryError
from scheduler.jobs import get_job_kind
from scheduler.models import Job, JobStatus
from scheduler.runner import append_log, enqueue_follow_up, send

logger = logging.getLogger("insightcloud.scheduler")


def reap_stale_jobs(now: datetime | None = None) -> list[tuple[int, str]]:
    """Re-enqueue or fail running jobs silent for JOB_STALE_SECONDS; returns [(job id, outcome)]."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    outcomes = []
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).order_by("pk")[:500]:
        outcomes.append((job.pk, _reap(job, now)))
    return outcomes


def _reap(job: Job, now: datetime) -> str:
    silent_since = job.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S")
    reason = f"worker {job.worker or '?'} lost: no heartbeat since {silent_since} UTC"
    try:
        time_limit = get_job_kind(job.kind).time_limit
    except RegistryError:
        time_limit = None
    # Only touch the row if nobody else did since we read it.
    same_run = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, dispatch=job.dispatch)
    if time_limit and job.started_at and (now - job.started_at).total_seconds() > time_limit:
        outcome, error = "failed", f"time limit of {time_limit} s exceeded ({reason})"
    elif job.attempts >= settings.JOB_MAX_ATTEMPTS:
        outcome, error = "failed", f"{reason}; gave up after {job.attempts} attempts"
    else:
        if same_run.update(status=JobStatus.QUEUED, dispatch=F("dispatch") + 1, error=reason, heartbeat_at=None):
            job.refresh_from_db()
            append_log(job, f"{reason}; re-enqueued")
            send(job)
            logger.warning("job %s (%s): %s; re-enqueued (attempt %d)", job.pk, job.kind, reason, job.attempts + 1)
            return "requeued"
        return "changed"
    if same_run.update(status=JobStatus.FAILED, finished_at=now, error=error, active_key=None):
        job.status = JobStatus.FAILED
        append_log(job, error)
        logger.warning("job %s (%s) failed: %s", job.pk, job.kind, error)
        enqueue_follow_up(job)
        return outcome
    return "changed"


def resend_lost_messages(now: datetime | None = None, grace_seconds: int = 60) -> list[int]:
    """Send again the queued jobs whose message the broker no longer has (Redis lost its data).

    Only decided when a queue's list and the unacknowledged set are both empty while the database
    still has jobs queued on it for more than ``grace_seconds``: then none of them can be waiting
    in the broker. A new dispatch number makes any copy that does turn up harmless.
    """
    if settings.EMBEDDED_BROKER:
        return []
    from scheduler.diagnostics import queue_depths
    from scheduler.leader import redis_client

    now = now or timezone.now()
    if redis_client().hlen("unacked"):
        return []
    resent = []
    cutoff = now - timedelta(seconds=grace_seconds)
    for priority, depth in queue_depths().items():
        if depth:
            continue
        stranded = Job.objects.filter(priority=priority, status=JobStatus.QUEUED, enqueued_at__lt=cutoff)
        for job in stranded.order_by("enqueued_at")[:1000]:
            if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, dispatch=job.dispatch).update(
                dispatch=F("dispatch") + 1
            ):
                job.refresh_from_db()
                send(job)
                resent.append(job.pk)
    if resent:
        logger.warning("re-sent %d queued jobs whose messages the broker had lost", len(resent))
    return resent
