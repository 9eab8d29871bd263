"""A worker process writes the successes nothing waits on in batches, up to HOLD_SECONDS late.

Recording a success is a round trip and a durable commit of its own; for short jobs that is as
much as the job. In a Celery worker process on MariaDB (``enable()``, called at process start) a
success that nothing waits on is held here instead, and a thread writes what is held in one
statement (``job_rows.record_successes``) once the oldest has waited ``HOLD_SECONDS``. On the
process's exit (recycling, shutdown, SIGTERM) what is held is written at once. Which successes
may wait is scheduler.runner's call (``_nothing_waits_on``).

Should the process die with -9 inside that short window, the job's row still says running: the
reaper runs it again, as for a worker killed mid-job.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections

from scheduler import job_rows
from scheduler.job_rows import Success

logger = logging.getLogger(__name__)

#: How long a held success waits for others to be written with it.
HOLD_SECONDS = 0.05
#: Written at once when this many are held (one statement stays small).
BATCH_LIMIT = 200


class HeldSuccesses:
    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Condition()
        self._held: list[Success] = []
        self._oldest_at = 0.0
        self._writer_idle = False  # the writer thread waits for a first success to be held
        self._not_writing = threading.Event()  # set unless the writer thread is writing a batch
        self._not_writing.set()

    def enable(self) -> None:
        """Hold successes in this process from now on (a Celery worker process, on MariaDB).

        Not on SQLite (the embedded test drive): it takes one writer at a time, and a second one
        in every worker process would only wait for the lock."""
        self.enabled = connection.vendor == "mysql"
        if self.enabled:
            threading.Thread(target=self._write_batches, name="held-successes", daemon=True).start()

    def hold(self, success: Success) -> None:
        with self._lock:
            if not self._held:
                self._oldest_at = time.monotonic()
            self._held.append(success)
            # A busy stream of jobs does not wake the writer once a job: only the first one held.
            if self._writer_idle or len(self._held) >= BATCH_LIMIT:
                self._lock.notify()

    def write_now(self) -> None:
        """Write what is held, from the calling thread, on a connection of its own (the process
        is exiting; a job interrupted by SIGTERM may have left this thread's connection in any
        state). A batch the writer thread has in flight is given a second to land first."""
        self._not_writing.wait(1.0)
        batch = self._take()
        if not batch:
            return
        db = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            job_rows.record_successes(batch, db)
        except Exception:
            logger.warning("could not record the success of jobs %s", [s.job_id for s in batch], exc_info=True)
        finally:
            db.close()

    def _take(self) -> list[Success]:
        with self._lock:
            batch, self._held = self._held, []
            return batch

    def _write_batches(self) -> None:
        while True:
            with self._lock:
                while not self._held:
                    self._writer_idle = True
                    self._lock.wait()
                self._writer_idle = False
                wait = self._oldest_at + HOLD_SECONDS - time.monotonic()
                if wait > 0 and len(self._held) < BATCH_LIMIT:
                    self._lock.wait(wait)
                    continue
                batch, self._held = self._held, []
                self._not_writing.clear()
            try:
                close_old_connections()  # this thread's own connection
                job_rows.record_successes(batch)
            except Exception:
                logger.warning("could not record %d job successes; retrying in 1 s", len(batch), exc_info=True)
                close_old_connections()
                with self._lock:
                    self._held[:0] = batch
                time.sleep(1)  # the database is away
            finally:
                self._not_writing.set()


held = HeldSuccesses()


def on_worker_process_start(**_: object) -> None:
    """Celery's worker_process_init."""
    held.enable()


def on_worker_process_exit(**_: object) -> None:
    """Celery's worker_process_shutdown: the process is recycled after N jobs, or stops because
    the worker shuts down or it got SIGTERM (billiard turns that into an orderly exit)."""
    held.write_now()
