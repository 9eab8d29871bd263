"""The bare Celery no-op task bench/queues.py compares our Job bookkeeping with (loaded in its workers)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="bench.bare_noop", queue="p2", acks_late=True, ignore_result=True)
def bare_noop(n: int) -> None:
    """Does nothing: what Celery alone costs per message."""
    return None
