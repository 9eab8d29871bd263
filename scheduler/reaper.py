"""Recover jobs whose worker died: running ones whose heartbeat went stale, first attempts that
started without a claim and whose start was never recorded, and queued ones the broker lost.

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
from scheduler import retired_dispatches
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
            return _send_again(job, reason)
        return "changed"
    if same_run.update(status=JobStatus.FAILED, finished_at=now, error=error, active_key=None):
        return _failed(job, error, outcome)
    return "changed"


def _send_again(job: Job, reason: str) -> str:
    """The row was just given a new dispatch: say why, and send its message."""
    job.refresh_from_db()
    append_log(job, f"{reason}; re-enqueued")
    send(job)
    logger.warning("job %s (%s): %s; re-enqueued (attempt %d)", job.pk, job.kind, reason, job.attempts + 1)
    return "requeued"


def _failed(job: Job, error: str, outcome: str = "failed") -> str:
    """The row was just marked failed: say why, and chain what follows the job."""
    job.status = JobStatus.FAILED
    append_log(job, error)
    logger.warning("job %s (%s) failed: %s", job.pk, job.kind, error)
    enqueue_follow_up(job)
    return outcome


def recover_unrecorded_starts(now: datetime | None = None) -> list[tuple[int, str]]:
    """Send again the first attempts whose worker died before it recorded their start.

    Such a run starts without a claim (scheduler.runner ``_may_start_late``) and its start reaches
    the row a moment later (scheduler.held_writes): a worker killed in that moment leaves the row
    queued and its message unacknowledged, and the broker gives that back only after its visibility
    timeout (hours). A live worker records a start within a fraction of a second, so a message of
    a first attempt that a worker took JOB_STALE_SECONDS ago while its job is still queued at that
    dispatch is such a run. Returns [(job id, outcome)].
    """
    if settings.EMBEDDED_BROKER:
        return []
    from insightcloud.broker import messages_taken_before
    from scheduler.leader import redis_client
    from scheduler.queues import PRIORITIES
    from scheduler.tasks import task_name

    job_tasks = {task_name(priority) for priority in PRIORITIES}
    now = now or timezone.now()
    client = redis_client()
    try:
        taken = messages_taken_before(client, now.timestamp() - settings.JOB_STALE_SECONDS)
    finally:
        client.close()
    dispatches = {}
    for message in taken:
        first_attempt = (message.kwargs.get("row") or {}).get("attempts") == 0  # none other starts unclaimed
        if message.task in job_tasks and first_attempt and not message.eta and len(message.args) >= 2:
            dispatches[int(message.args[0])] = int(message.args[1])
    outcomes = []
    for job in Job.objects.filter(pk__in=dispatches, status=JobStatus.QUEUED).order_by("pk"):
        if job.dispatch == dispatches[job.pk]:
            outcomes.append((job.pk, _recover_unrecorded_start(job, now)))
    return outcomes


def _recover_unrecorded_start(job: Job, now: datetime) -> str:
    reason = "worker lost before it recorded the start of this run"
    same_message = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, dispatch=job.dispatch)
    if job.attempts + 1 >= settings.JOB_MAX_ATTEMPTS:
        error = f"{reason}; gave up after {job.attempts + 1} attempts"
        if same_message.update(status=JobStatus.FAILED, finished_at=now, error=error, active_key=None):
            retired_dispatches.retire(job.pk, job.dispatch)
            return _failed(job, error)
        return "changed"
    if same_message.update(dispatch=F("dispatch") + 1, attempts=F("attempts") + 1, error=reason):
        retired_dispatches.retire(job.pk, job.dispatch)
        return _send_again(job, reason)
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
                retired_dispatches.retire(job.pk, job.dispatch)
                job.refresh_from_db()
                send(job)
                resent.append(job.pk)
    if resent:
        logger.warning("re-sent %d queued jobs whose messages the broker had lost", len(resent))
    return resent
