"""A worker process writes the starts and successes nothing waits on in batches, up to HOLD_SECONDS late.

Recording a start or a success is a round trip and a durable commit of its own; for short jobs
that is as much as the job. In a Celery worker process on MariaDB (``enable()``, called at process
start) they are held here instead, and a thread writes what is held in one statement each
(scheduler.job_rows) once the oldest has waited ``HOLD_SECONDS``:

- a success nothing waits on (scheduler.runner ``_nothing_waits_on``) — written with others;
- the start of a job that began without a claim (``_may_start_late``) — written once the job has
  run HOLD_SECONDS, or, if it ends first, together with its success: the row goes from queued to
  succeeded in one write. A job cancelled meanwhile keeps the cancel (it stops at its next check,
  as a running job does, and its end is recorded as cancelled); a start the row no longer allows
  (the job was given a newer dispatch meanwhile) tells the job to stop, as a lost lease does.

Before anything else writes a late-started job's row (its failure, a retry), ``write_start_now``
records its start. On the process's exit (recycling, shutdown, SIGTERM) what is held is written at
once. Should the process die with -9 inside the window, a held success leaves the row running (the
reaper runs the job again, as for a worker killed mid-job) and a held start leaves it queued with
its message unacknowledged: Celery delivers it again, marked redelivered, and a redelivered
message always claims the row first.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections

from scheduler import job_rows
from scheduler.job_rows import Start, Success

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from scheduler.models import Job

logger = logging.getLogger(__name__)

#: How long a held write waits for others to be written with it.
HOLD_SECONDS = 0.05
#: Written at once when this many successes are held (one statement stays small).
BATCH_LIMIT = 200
#: The writer thread checks its connection when it has been idle this long.
IDLE_CHECK_SECONDS = 5.0


@dataclasses.dataclass
class _HeldStart:
    start: Start
    job: Job
    held_at: float


class HeldWrites:
    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Condition()
        self._successes: list[Success] = []
        self._oldest_success_at = 0.0
        self._starts: dict[int, _HeldStart] = {}  # by job id, oldest first
        self._writer_idle = False  # the writer thread waits for a first write to be held
        self._not_writing = threading.Event()  # set unless the writer thread is writing a batch
        self._not_writing.set()
        self._last_write_at = 0.0

    def enable(self) -> None:
        """Hold writes in this process from now on (a Celery worker process, on MariaDB).

        Not on SQLite (the embedded test drive): it takes one writer at a time, and a second one
        in every worker process would only wait for the lock."""
        self.enabled = connection.vendor == "mysql"
        if self.enabled:
            threading.Thread(target=self._write_batches, name="held-writes", daemon=True).start()

    def hold_start(self, job: Job) -> None:
        """The job started without a claim: record it as running if it is still running HOLD_SECONDS on."""
        job.start_pending = True  # the heartbeat thread leaves it alone until the start is written
        start = Start(job.pk, job.dispatch, job.started_at, job.worker)
        with self._lock:
            self._starts[job.pk] = _HeldStart(start, job, time.monotonic())
            if self._writer_idle:
                self._lock.notify()

    def hold(self, success: Success) -> None:
        with self._lock:
            held_start = self._starts.pop(success.job_id, None)
            if held_start:  # it ended before its start was written: one write for both
                success = dataclasses.replace(success, start=held_start.start)
            if not self._successes:
                self._oldest_success_at = time.monotonic()
            self._successes.append(success)
            # A busy stream of jobs does not wake the writer once a job: only the first one held.
            if self._writer_idle or len(self._successes) >= BATCH_LIMIT:
                self._lock.notify()

    def write_start_now(self, job: Job) -> bool:
        """Record the job's held start before the caller writes its row; False if the row was
        taken away meanwhile (the job is then told to stop). Waits for a batch in flight."""
        for _ in range(30):
            if not getattr(job, "start_pending", False):
                break
            with self._lock:
                held_start = self._starts.pop(job.pk, None)
            if held_start:
                self._record_starts([held_start])
            else:  # the writer thread has it in a batch (put back if the database refused it)
                self._not_writing.wait(1.0)
        return not getattr(job, "lost_lease", False)

    def write_now(self) -> None:
        """Write what is held, from the calling thread, on a connection of its own (the process
        is exiting; a job interrupted by SIGTERM may have left this thread's connection in any
        state). A batch the writer thread has in flight is given a second to land first."""
        self._not_writing.wait(1.0)
        with self._lock:
            starts, self._starts = list(self._starts.values()), {}
            successes, self._successes = self._successes, []
        if not starts and not successes:
            return
        db = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            self._record_starts(starts, db)
            job_rows.record_successes(successes, db)
        except Exception:
            ids = [held.start.job_id for held in starts] + [success.job_id for success in successes]
            logger.warning("could not record the start or success of jobs %s", ids, exc_info=True)
        finally:
            db.close()

    @staticmethod
    def _record_starts(starts: list[_HeldStart], db: BaseDatabaseWrapper | None = None) -> None:
        written = job_rows.record_starts([held.start for held in starts], db)
        for held in starts:
            if held.start.job_id not in written:
                logger.info("job %s was given to another run before its start was recorded", held.job.pk)
                held.job.lost_lease = True
                held.job.cancel_requested = True
            held.job.start_pending = False

    def _take_due(self) -> tuple[list[_HeldStart], list[Success]] | float:
        """What is due now, or how long to wait for the next (called with the lock held)."""
        now = time.monotonic()
        starts = []
        for held in self._starts.values():  # oldest first
            if now - held.held_at < HOLD_SECONDS:
                break
            starts.append(held)
        for held in starts:
            del self._starts[held.start.job_id]
        successes = []
        if self._successes and (now - self._oldest_success_at >= HOLD_SECONDS or len(self._successes) >= BATCH_LIMIT):
            successes, self._successes = self._successes, []
        if starts or successes:
            return starts, successes
        oldest = [next(iter(self._starts.values())).held_at] if self._starts else []
        oldest += [self._oldest_success_at] if self._successes else []
        return min(oldest) + HOLD_SECONDS - now

    def _write_batches(self) -> None:
        while True:
            with self._lock:
                while not self._starts and not self._successes:
                    self._writer_idle = True
                    self._lock.wait()
                self._writer_idle = False
                due = self._take_due()
                if isinstance(due, float):
                    self._lock.wait(max(due, 0.001))
                    continue
                starts, successes = due
                self._not_writing.clear()
            try:
                if time.monotonic() - self._last_write_at > IDLE_CHECK_SECONDS:
                    close_old_connections()  # this thread's own connection, after a quiet spell
                self._record_starts(starts)
                starts = []  # written: not again, should the successes fail
                job_rows.record_successes(successes)
                self._last_write_at = time.monotonic()
            except Exception:
                count = f"{len(starts)} job starts and {len(successes)} successes"
                logger.warning("could not record %s; retrying in 1 s", count, exc_info=True)
                close_old_connections()
                self._last_write_at = 0.0
                with self._lock:
                    self._starts = {held.start.job_id: held for held in starts} | self._starts
                    self._successes[:0] = successes
                time.sleep(1)  # the database is away
            finally:
                self._not_writing.set()


held = HeldWrites()


def on_worker_process_exit(**_: object) -> None:
    """Celery's worker_process_shutdown: the process is recycled after N jobs, or stops because
    the worker shuts down or it got SIGTERM (billiard turns that into an orderly exit)."""
    held.write_now()
