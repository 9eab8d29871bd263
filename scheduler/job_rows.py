"""The worker's statements on a Job row for every job it runs: claim it, record its start and success.

A no-op job's bookkeeping used to cost more than Celery's own work for its message, so the hot
path is built for few round trips and little work in the database:

- The message carries what the row says about the job (``message_row``: kind, arguments …), so
  a first attempt needs no SELECT: ``job_from_message`` builds the Job with the rest deferred
  (read from the row only if a handler asks). Retries and re-runs load the whole row.
- On MariaDB/MySQL the claim returns the new attempt count through ``LAST_INSERT_ID(expr)``
  (there is no ``UPDATE … RETURNING``): 0 means this message may not run the job.
- A job that starts late (scheduler.runner ``_may_start_late``) has no claim: its start is written
  by ``record_starts`` once it has run a moment, or together with its success by
  ``record_successes`` (queued -> succeeded in one step) if it ends first. Both write a row only
  if it is not started yet at the message's dispatch (``_NOT_STARTED``).
- ``record_successes`` writes any number of successes in one statement: a worker process
  batches the successes nothing waits on (scheduler.held_writes).

Everything rarer (failures, retries, cancel, the reaper) stays on the ORM in scheduler.runner.
Status values are our own constants and ids are ints, so they are written into the SQL (escaping
a dozen parameters per job cost more than the job itself); what comes from outside (the worker's
name, the result) is always a parameter.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from scheduler.models import Job, JobStatus

#: The row's fields a message carries; none of them changes while the message waits in its queue.
MESSAGE_FIELDS = ("kind", "priority", "arguments", "dedup_key", "cloud_id", "organization_id", "requested_by")

_RUNNING, _QUEUED = JobStatus.RUNNING.value, JobStatus.QUEUED.value
_SUCCEEDED, _CANCELLED = JobStatus.SUCCEEDED.value, JobStatus.CANCELLED.value


@dataclass(frozen=True)
class Start:
    """A run that started without a claim, to be recorded as running (or with its success)."""

    job_id: int
    dispatch: int
    started_at: datetime
    worker: str


@dataclass(frozen=True)
class Success:
    """A finished run's success, ready to be written (now, or batched with others).

    ``start``: the run's start, when it was never written (the row is still queued)."""

    job_id: int
    dispatch: int
    finished_at: datetime
    result: dict
    start: Start | None = None


def _db() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]  # looked up once per statement: each lookup is a thread-local


def _table(db: BaseDatabaseWrapper) -> str:
    return db.ops.quote_name(Job._meta.db_table)


def _stamp(db: BaseDatabaseWrapper, moment: datetime):  # noqa: ANN202 (a backend-specific value)
    return db.ops.adapt_datetimefield_value(moment)


def _json(db: BaseDatabaseWrapper, value: dict):  # noqa: ANN202
    return Job._meta.get_field("result").get_db_prep_save(value, db)


def message_row(job: Job) -> dict:
    """What the job's message carries about its row, with ``attempts`` (the runs before this one;
    0 for a first attempt) and ``sent_at`` (epoch seconds; see scheduler.retired_dispatches)."""
    return {**{name: getattr(job, name) for name in MESSAGE_FIELDS}, "attempts": job.attempts, "sent_at": time.time()}


def claim(job_id: int, dispatch: int | None, worker: str, now: datetime) -> int:
    """Queued -> running, if still queued (and still at ``dispatch``); returns the attempt number
    this run is, or 0 if the message may not run the job (cancelled, done, taken, or stale).

    The one conditional UPDATE lets a single message run the job, even when a stale or
    redelivered one turns up too.
    """
    db = _db()
    mysql = db.vendor == "mysql"
    where = f"id = {int(job_id)} AND status = '{_QUEUED}'"
    if dispatch is not None:
        where += f" AND dispatch = {int(dispatch)}"
    sql = (
        f"UPDATE {_table(db)} SET status = '{_RUNNING}', started_at = %s, heartbeat_at = %s, worker = %s,"
        f" attempts = {'LAST_INSERT_ID(attempts + 1)' if mysql else 'attempts + 1'} WHERE {where}"
    )
    stamp = _stamp(db, now)
    with db.cursor() as cursor:
        cursor.execute(sql, [stamp, stamp, worker])
        if mysql:
            return cursor.lastrowid or 0  # 0: LAST_INSERT_ID(expr) was not evaluated (no row claimed)
        if cursor.rowcount != 1:
            return 0
        cursor.execute(f"SELECT attempts FROM {_table(db)} WHERE id = %s", [job_id])
        return cursor.fetchone()[0]


def job_from_message(job_id: int, dispatch: int, row: dict, attempts: int, worker: str, now: datetime) -> Job:
    """The Job just claimed (or started without a claim), from its message; fields the message lacks
    are deferred (loaded on use).

    Only for a first attempt: a re-run may carry a log, an error or a cancel request.
    """
    known = {
        **{name: row[name] for name in MESSAGE_FIELDS},
        "id": job_id,
        "dispatch": dispatch,
        "status": JobStatus.RUNNING.value,
        "attempts": attempts,
        "worker": worker,
        "started_at": now,
        "heartbeat_at": now,
        "cancel_requested": False,
    }
    names = _in_model_order(tuple(known))
    return Job.from_db(DEFAULT_DB_ALIAS, names, [known[name] for name in names])


@functools.cache
def _in_model_order(names: tuple[str, ...]) -> list[str]:
    """``names`` in the order of the model's fields (``from_db`` wants that order); worked out once."""
    return [field.attname for field in Job._meta.concrete_fields if field.attname in names]


def load(job_id: int) -> Job:
    """The whole row as a Job (a raw query skips building the SELECT; converters still apply)."""
    return Job.objects.raw(f"SELECT * FROM {_table(connection)} WHERE id = %s", [job_id])[0]


def _cases(ids: Sequence[int], values: Sequence[str]) -> str:
    return " ".join(f"WHEN {job_id} THEN {value}" for job_id, value in zip(ids, values, strict=True))


#: A row a run that started without a claim may still write: queued, or cancelled while its run was
#: already starting (the cancel then stands, as for a running job, and the run's end is recorded).
_NOT_STARTED = f"(status = '{_QUEUED}' OR (status = '{_CANCELLED}' AND cancel_requested AND started_at IS NULL))"


def record_starts(starts: Sequence[Start], db: BaseDatabaseWrapper | None = None) -> set[int]:
    """-> running for runs that started without a claim, each row only if it is not started yet at
    the run's dispatch (``_NOT_STARTED``; a newer dispatch takes the job away). A row cancelled
    meanwhile keeps its cancel request: the job stops at its next check. Returns the ids written."""
    if not starts:
        return set()
    db = db or _db()
    ids = [int(start.job_id) for start in starts]
    each = _cases(ids, ["%s"] * len(ids))  # one parameter per row
    params = [_stamp(db, start.started_at) for start in starts] * 2 + [start.worker for start in starts]
    dispatches = _cases(ids, [str(int(start.dispatch)) for start in starts])
    sql = (
        f"UPDATE {_table(db)} SET status = '{_RUNNING}', started_at = CASE id {each} END,"
        f" heartbeat_at = CASE id {each} END, worker = CASE id {each} END, attempts = attempts + 1,"
        f" finished_at = NULL WHERE id IN ({', '.join(map(str, ids))}) AND {_NOT_STARTED}"
        f" AND dispatch = CASE id {dispatches} END"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount == len(ids):
            return set(ids)
        # Some were taken away: which rows are ours now (a batch's starts share one worker name)?
        cursor.execute(
            f"SELECT id FROM {_table(db)} WHERE id IN ({', '.join(map(str, ids))}) AND status = '{_RUNNING}'"
            f" AND dispatch = CASE id {dispatches} END AND worker = %s",
            [starts[0].worker],
        )
        return {row[0] for row in cursor.fetchall()}


def record_successes(successes: Sequence[Success], db: BaseDatabaseWrapper | None = None) -> int:
    """Running -> succeeded (or cancelled if a cancel came in meanwhile), each row only if the
    run is still ours, all in one UPDATE; frees the dedup keys. Returns how many rows it wrote.

    A success that carries its start (never written) takes its row from queued to succeeded, with
    the start's time, worker and attempt, if the row is still queued at the run's dispatch.
    ``db``: a connection of the caller's own (default: this thread's)."""
    if not successes:
        return 0
    db = db or _db()
    ids = [int(success.job_id) for success in successes]
    each = _cases(ids, ["%s"] * len(ids))  # one parameter per row
    dispatches = _cases(ids, [str(int(success.dispatch)) for success in successes])
    starts = [(job_id, s.start) for job_id, s in zip(ids, successes, strict=True) if s.start]
    # A run whose start was written must still be running; one that carries its start, not started.
    expected = _cases(ids, [_NOT_STARTED if success.start else f"status = '{_RUNNING}'" for success in successes])
    params, start_sets = [], ""
    if starts:
        # Assignments are made left to right (MariaDB/MySQL): started_at is set last, as the others read it.
        start_ids = [job_id for job_id, _ in starts]
        started = _cases(start_ids, ["%s"] * len(starts))
        params = [start.worker for _, start in starts] + [_stamp(db, start.started_at) for _, start in starts]
        start_sets = (
            f" worker = CASE WHEN started_at IS NULL THEN CASE id {started} END ELSE worker END,"
            f" attempts = CASE WHEN started_at IS NULL THEN attempts + 1 ELSE attempts END,"
            f" started_at = CASE WHEN started_at IS NULL THEN CASE id {started} END ELSE started_at END,"
        )
    params += [_stamp(db, success.finished_at) for success in successes]
    params += [_json(db, success.result) for success in successes]
    sql = (
        f"UPDATE {_table(db)} SET{start_sets}"
        f" status = CASE WHEN cancel_requested THEN '{_CANCELLED}' ELSE '{_SUCCEEDED}' END,"
        f" finished_at = CASE id {each} END, result = CASE id {each} END, error = '', active_key = NULL"
        f" WHERE id IN ({', '.join(map(str, ids))}) AND CASE id {expected} END"
        f" AND dispatch = CASE id {dispatches} END"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
