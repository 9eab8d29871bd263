"""Enqueue a Job (row + Celery message), execute it in a worker, retry, cancel and chain it.

The Job row is the truth; Celery messages only say "try to run job N (dispatch D)":

- ``enqueue`` inserts the row with ``active_key = dedup_key``; a unique index on that column
  makes "one queued-or-running job per key" hold even when two processes enqueue at once.
- Every send bumps ``Job.dispatch``; ``execute`` claims the job with a conditional UPDATE on
  (status queued, dispatch D), so a redelivered or stale message never runs a job twice.
  A first attempt that nothing waits on starts without the claim (``_may_start_late``): a message
  is taken from its queue by one worker only, a redelivered one always claims, and whatever takes
  a queued job away from its message marks that dispatch retired (scheduler.retired_dispatches).
- A thread beats ``Job.heartbeat_at`` while the job runs and picks up ``cancel_requested``; the
  scheduler's reaper re-enqueues a running job whose heartbeat went stale (its worker died).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import traceback
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from insightcloud.registry import RegistryError, registry
from scheduler import job_rows, retired_dispatches
from scheduler.held_writes import held
from scheduler.jobs import get_job_kind
from scheduler.models import ACTIVE_STATUSES, LOG_LIMIT, Job, JobStatus
from scheduler.queues import P0, PRIORITIES

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 1.0
_progress_written: dict[int, float] = {}  # job id -> when its progress was last written (this process)

#: When the last active job of a kind finishes for a cloud, enqueue this kind for it (coalesced).
#: The harvest -> evaluate chain; tests add throw-away pairs.
FOLLOW_UPS: dict[str, str] = {"harvest": "evaluate"}


def _rank(priority: str) -> int:
    return PRIORITIES.index(priority)


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

    Returns ``(job, created)``. With a ``dedup_key`` already queued or running, the existing job is
    returned and nothing new is created; a queued one asked for at a higher priority (a user's p0
    harvest over a scheduled p2 one) is moved to that priority's queue.
    """
    spec = get_job_kind(kind)
    priority = priority or spec.priority
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    for _ in range(5):  # the active job may finish between our insert failing and our read
        if dedup_key:
            existing = Job.objects.filter(active_key=dedup_key).first()
            if existing:
                return _promote(existing, priority), False
        # Inside a caller's transaction a savepoint keeps a dedup collision from spoiling it;
        # outside one, a single autocommitted INSERT is all it takes.
        scope = transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()
        try:
            with scope:
                job = Job.objects.create(
                    kind=kind,
                    priority=priority,
                    arguments=arguments or {},
                    dedup_key=dedup_key,
                    active_key=dedup_key or None,
                    dispatch=1,
                    cloud_id=cloud_id,
                    organization_id=organization_id,
                    requested_by=requested_by,
                )
                transaction.on_commit(lambda job=job: send(job))
            return job, True
        except IntegrityError:
            if not dedup_key:
                raise
    raise RuntimeError(f"could not enqueue {kind} under {dedup_key!r}: the key keeps changing hands")


def _promote(job: Job, priority: str) -> Job:
    if job.status != JobStatus.QUEUED or _rank(priority) >= _rank(job.priority):
        return job
    moved = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, dispatch=job.dispatch).update(
        priority=priority, dispatch=F("dispatch") + 1
    )
    if moved:
        retired_dispatches.retire(job.pk, job.dispatch)
        job.refresh_from_db()
        logger.info("job %s promoted to %s", job.pk, priority)
        transaction.on_commit(lambda: send(job))
    return job


def send(job: Job, countdown: float | None = None, producer: Any = None) -> None:
    """Send the Celery message for the job's current dispatch, with its kind's time limits.

    ``producer``: a kombu producer to reuse (scheduler.bulk sends a batch through one)."""
    from scheduler.tasks import task_for_priority

    try:
        limit = get_job_kind(job.kind).time_limit
    except RegistryError:
        limit = 3600
    task_for_priority(job.priority).apply_async(
        args=[job.pk, job.dispatch],
        kwargs={"row": job_rows.message_row(job)},  # spares the worker a SELECT (scheduler.job_rows)
        queue=job.priority,
        countdown=countdown,
        soft_time_limit=limit,
        time_limit=limit + 30,  # the hard limit kills the process if the job ignores the soft one
        producer=producer,
    )


def report_progress(job: Job | None, done: int, total: int, unit: str) -> None:
    """Record how far a running job is (shown on the Jobs page and in the API's ``result``).

    Written into ``result`` while the job runs (the final result replaces it), at most once a
    second per job and always for the last step, so a harvest of many quick listings does not
    write a row per listing.
    """
    if job is None or job.pk is None:
        return
    now = time.monotonic()
    if done < total and now - _progress_written.get(job.pk, 0.0) < PROGRESS_INTERVAL_SECONDS:
        return
    if done < total:
        _progress_written[job.pk] = now
    else:
        _progress_written.pop(job.pk, None)
    progress = {"done": done, "total": total, "unit": unit}
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(result={"progress": progress})


def append_log(job: Job, line: str) -> None:
    """Append a stamped line; the log keeps its newest LOG_LIMIT characters, cut at a line start."""
    stamp = timezone.now().strftime("%H:%M:%S")
    text = job.log + f"{stamp} {line.rstrip()}\n"
    if len(text) > LOG_LIMIT:
        text = text[-LOG_LIMIT:]
        text = "…\n" + text[text.find("\n") + 1 :]
    job.log = text
    Job.objects.filter(pk=job.pk).update(log=job.log)


_worker_names: dict[int, str] = {}


def worker_name() -> str:
    """``host:pid`` of this process (worked out once per process: a job start should not cost a syscall)."""
    pid = os.getpid()
    if pid not in _worker_names:
        _worker_names[pid] = f"{socket.gethostname()}:{pid}"
    return _worker_names[pid]


def is_transient(exc: BaseException) -> bool:
    """Throttling, timeouts, connection resets: harvesters.base.TransientError or ``transient = True``."""
    return getattr(exc, "transient", False) is True


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: base, 2×base, 4×base … capped, ±20 %."""
    delay = min(settings.JOB_RETRY_MAX_SECONDS, settings.JOB_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return delay * random.uniform(0.8, 1.2)


class _JobHeartbeats:
    """One daemon thread per worker process beats ``heartbeat_at`` of the jobs this process runs.

    It also mirrors ``cancel_requested`` onto each Job object, so a handler checks a plain attribute.
    If a row is no longer ours (the reaper gave the job to another worker, or it was cancelled
    while queued), the job is asked to stop as if cancelled and marked ``lost_lease`` so that we
    never overwrite the row. One thread for the process (not one per job) keeps short jobs cheap.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0

    def watch(self, job: Job) -> None:
        job.lost_lease = False
        with self._lock:
            self._jobs[job.pk] = job
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # (after a fork the parent's thread does not exist in the child)
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="job-heartbeats", daemon=True)
                self._thread.start()

    def release(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.pk, None)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(0.5)  # short naps: a changed interval (tests) applies at once
            if time.monotonic() - last < settings.JOB_HEARTBEAT_SECONDS:
                continue
            last = time.monotonic()
            with self._lock:
                jobs = list(self._jobs.values())
            if not jobs:
                continue
            try:
                close_old_connections()
                for job in jobs:
                    self.beat(job)
            except Exception:  # a database blip: the next beat retries (the reaper is generous)
                logger.warning("job heartbeat failed", exc_info=True)

    @staticmethod
    def beat(job: Job) -> None:
        if getattr(job, "start_pending", False):
            return  # started without a claim, and its start is not written yet (scheduler.held_writes)
        ours = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, dispatch=job.dispatch)
        if not ours.update(heartbeat_at=timezone.now()):
            job.lost_lease = True
            job.cancel_requested = True
            return
        if ours.filter(cancel_requested=True).exists():
            job.cancel_requested = True


_heartbeats = _JobHeartbeats()


_last_task_at = 0.0


def _check_connection() -> None:
    """Drop a dead or expired database connection — when the process was idle a while.

    Back-to-back jobs skip the check (a ping per job costs more than a no-op job's own queries);
    a connection that died meanwhile fails the claim once, and ``execute`` reconnects and retries it.
    """
    global _last_task_at
    now = time.monotonic()
    if now - _last_task_at > 5:
        close_old_connections()
    _last_task_at = now


def execute(job_id: int, dispatch: int | None = None, row: dict | None = None, redelivered: bool = False) -> str:
    """Run one job if this message may: claim it with a conditional UPDATE first, or start it
    without one when it may start late (its start is then written with its success).

    ``row``: what the message carries about the job (``job_rows.message_row``); older messages
    carry nothing, and the row is read instead. ``redelivered``: the broker delivered this message
    before (its worker died, or it was restored): it claims the row, whatever it is.
    """
    _check_connection()
    now = timezone.now()
    from_message = row is not None and dispatch is not None
    if (
        from_message
        and _may_start_late(row, redelivered)
        and retired_dispatches.watch.may_start(job_id, dispatch)  # if not, the claim finds out why
    ):
        job = job_rows.job_from_message(job_id, dispatch, row, 1, worker_name(), now)
        held.hold_start(job)
    else:
        attempts = _claim(job_id, dispatch, now)
        if not attempts:
            logger.info(
                "job %s dispatch %s is not queued for this message (cancelled, done or taken); skipping",
                job_id,
                dispatch,
            )
            return "skipped"
        if from_message and attempts == 1:
            job = job_rows.job_from_message(job_id, dispatch, row, attempts, worker_name(), now)
        else:
            job = job_rows.load(job_id)
    try:
        spec = get_job_kind(job.kind)
    except RegistryError as exc:
        _finish(job, JobStatus.FAILED, error=str(exc))
        return JobStatus.FAILED
    if job.attempts > 1:
        append_log(job, f"attempt {job.attempts} on {job.worker}")
    _heartbeats.watch(job)
    try:
        result: Any = spec.handler(job, **job.arguments)
    except SoftTimeLimitExceeded:
        return _finish(job, JobStatus.FAILED, error=f"time limit of {spec.time_limit} s exceeded")
    except Exception as exc:  # the job fails or is retried; the worker goes on
        # The connection is kept between jobs (insightcloud/celery.py): drop it if the job broke it
        # (not inside a caller's transaction: only tests run a job inside one).
        if not connection.in_atomic_block:
            close_old_connections()
        if job.lost_lease:
            logger.warning("job %s was taken away while running (%s); leaving it", job_id, exc)
            return "lost"
        return _handle_error(job, exc)
    finally:
        _heartbeats.release(job)
    if job.lost_lease:
        logger.warning("job %s was taken away while running; not recording this run", job_id)
        return "lost"
    return _succeed(job, result if isinstance(result, dict) else {"value": result})


def _claim(job_id: int, dispatch: int | None, now: datetime) -> int:
    """The claim; the attempt number this run is, or 0 if this message may not run the job."""
    try:
        return job_rows.claim(job_id, dispatch, worker_name(), now)
    except (OperationalError, InterfaceError):  # the connection died while we were idle: reconnect once
        connection.close()
        return job_rows.claim(job_id, dispatch, worker_name(), now)


def _waited_on(priority: str, dedup_key: str, kind: str) -> bool:
    """Whether something waits for a job's row to change the moment the job starts or ends.

    p0: a person watches on-demand work. A dedup key must be free the moment the job ends, or a new
    request would be merged into a finished job. A follow-up to chain looks for other active jobs
    once this one's end is committed.
    """
    return priority == P0 or bool(dedup_key) or kind in FOLLOW_UPS


def _nothing_waits_on(job: Job) -> bool:
    """Whether the job's success may be written a moment late (scheduler.held_writes): nothing
    waits on it (``_waited_on``) and no cancel request came in."""
    return not _waited_on(job.priority, job.dedup_key, job.kind) and not job.cancel_requested


def _may_start_late(row: dict, redelivered: bool) -> bool:
    """Whether a message may start its job without claiming the row first (scheduler.held_writes).

    Only in a worker process that holds writes, for a first attempt nothing waits on, from a
    message delivered for the first time: a redelivered one may be the copy of a run that died
    before its start was written, and must find out from the row.
    """
    return (
        held.enabled
        and not redelivered
        and row.get("attempts") == 0
        and retired_dispatches.fresh(row.get("sent_at"))
        and not _waited_on(row["priority"], row["dedup_key"], row["kind"])
    )


def _succeed(job: Job, result: dict) -> str:
    """Record the end in one UPDATE: cancelled if a cancel came in meanwhile, else succeeded.

    In a worker process, a success nothing waits on is held back and written with others, up to
    50 ms later (scheduler.held_writes)."""
    success = job_rows.Success(job.pk, job.dispatch, timezone.now(), result)
    if held.enabled and _nothing_waits_on(job):
        held.hold(success)
        job.status = JobStatus.SUCCEEDED
        return job.status
    if not held.write_start_now(job):
        return "lost"
    job_rows.record_successes([success])
    if job.cancel_requested or job.kind in FOLLOW_UPS:
        job.refresh_from_db(fields=["status"])
    else:
        job.status = JobStatus.SUCCEEDED
    if job.status == JobStatus.SUCCEEDED:
        enqueue_follow_up(job)
    return job.status


def _handle_error(job: Job, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"
    if not held.write_start_now(job):
        logger.warning("job %s failed after it was taken away (%s); leaving it", job.pk, error)
        return "lost"
    job.refresh_from_db(fields=["cancel_requested"])
    if job.cancel_requested:
        return _finish(job, JobStatus.CANCELLED, error=error)
    if is_transient(exc) and job.attempts < settings.JOB_MAX_ATTEMPTS:
        delay = retry_delay(job.attempts)
        append_log(job, f"transient error, retry in {delay:.0f} s: {error}")
        requeued = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, dispatch=job.dispatch).update(
            status=JobStatus.QUEUED, dispatch=F("dispatch") + 1, error=error[:10_000], heartbeat_at=None
        )
        if requeued:
            job.refresh_from_db()
            send(job, countdown=delay)
            logger.info("job %s (%s) hit a transient error; retry %d in %.0f s", job.pk, job.kind, job.attempts, delay)
            return JobStatus.QUEUED
    logger.exception("job %s (%s) failed", job.pk, job.kind, exc_info=exc)
    suffix = f" (after {job.attempts} attempts)" if is_transient(exc) else ""
    return _finish(job, JobStatus.FAILED, error=error + suffix, log=traceback.format_exc(limit=5))


def _finish(job: Job, status: str, *, error: str = "", result: dict | None = None, log: str = "") -> str:
    if not held.write_start_now(job):
        return "lost"
    if log:
        append_log(job, log)
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, dispatch=job.dispatch).update(
        status=status, finished_at=timezone.now(), error=error[:10_000], result=result or {}, active_key=None
    )
    job.status = status
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        enqueue_follow_up(job)
    return status


def enqueue_follow_up(job: Job) -> Job | None:
    """When a cloud's last active job of a chained kind finishes, enqueue one follow-up for it.

    Each finishing job commits its own end before looking at the others, so at least the last
    one to finish sees none active; several finishing together coalesce on the dedup key.
    """
    follow = FOLLOW_UPS.get(job.kind)
    cloud_id = job.cloud_id or (job.arguments or {}).get("cloud_id")
    if not follow or not cloud_id:
        return None
    if Job.objects.filter(kind=job.kind, cloud_id=cloud_id, status__in=ACTIVE_STATUSES).exists():
        return None
    if follow not in registry.names("jobs"):
        logger.info("no %r job kind registered; not chaining it after %s of cloud %s", follow, job.kind, cloud_id)
        return None
    follow_up, created = enqueue(
        follow,
        {"cloud_id": cloud_id, "full": False},
        dedup_key=f"{follow}:cloud={cloud_id}",
        cloud_id=cloud_id,
        organization_id=job.organization_id,
        requested_by="scheduler",
    )
    if created:
        logger.info("enqueued %s job %s for cloud %s after job %s", follow, follow_up.pk, cloud_id, job.pk)
    return follow_up


def cancel(job_id: int, *, by: str = "") -> str:
    """Cancel a job: a queued one at once, a running one at its next check (it keeps what it wrote).

    Returns the outcome: "cancelled", "cancelling", or the status of a job already finished.
    Raises Job.DoesNotExist for an unknown id.
    """
    note = f"cancelled by {by}" if by else "cancelled"
    for _ in range(5):  # a promotion may give the queued job a new dispatch between our read and write
        job = Job.objects.get(pk=job_id)
        if job.status == JobStatus.QUEUED:
            same_message = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, dispatch=job.dispatch)
            ended = {"finished_at": timezone.now(), "error": note, "active_key": None}
            if same_message.update(status=JobStatus.CANCELLED, cancel_requested=True, **ended):
                retired_dispatches.retire(job_id, job.dispatch)
                append_log(job, note)
                return "cancelled"
        elif job.status == JobStatus.RUNNING:
            if Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(cancel_requested=True):
                append_log(job, f"cancel requested by {by or 'someone'}")
                return "cancelling"
        else:
            return job.status
    return Job.objects.get(pk=job_id).status
