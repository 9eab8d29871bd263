"""The worker's process pool: Celery's prefork pool, checking on its processes every half second.

A pool process recycled after N jobs announces its exit right after its last result; the main
process may already have written the next job into its pipe. Celery puts such a job back when it
sees the process gone, which it should learn from the process's exit but often learns only from
its periodic pool check, every 5 s (seen Nov 2026, Celery 5.7: a no-op job waiting 4–5 s beside an
idle pool; each drain of bench/queues.py that met one took ~10 s instead of ~6). Checking every
MAINTAIN_SECONDS bounds that wait; the check itself is a few dict lookups.
"""

from __future__ import annotations

from celery.concurrency.asynpool import AsynPool
from celery.concurrency.prefork import TaskPool

MAINTAIN_SECONDS = 0.5


class _AsynPool(AsynPool):
    @property
    def timers(self) -> dict:
        return {self.maintain_pool: MAINTAIN_SECONDS}


class PreforkPool(TaskPool):
    Pool = _AsynPool
