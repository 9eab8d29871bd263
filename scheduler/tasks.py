"""The Celery tasks: one per queue, each running whatever Job it is handed.

Names are stable (``insightcloud.jobs.run_p0`` …) so messages already queued survive upgrades;
arguments are Job ids, never model objects. Each task's queue is set by ``task_routes`` in
insightcloud/celery.py (Celery 5.7 deprecates the ``queue`` decorator argument).
"""

from __future__ import annotations

import gc
import os

from celery import Task, shared_task
from celery.signals import worker_before_create_process, worker_process_init, worker_process_shutdown

from scheduler import held_writes, retired_dispatches
from scheduler.queues import PRIORITIES
from scheduler.runner import execute

_TASKS: dict[str, Task] = {}


def task_name(priority: str) -> str:
    return f"insightcloud.jobs.run_{priority}"


def _make_task(priority: str) -> Task:
    @shared_task(name=task_name(priority), acks_late=True, ignore_result=True, bind=True)
    def run_job(task: Task, job_id: int, dispatch: int | None = None, row: dict | None = None) -> str:
        redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
        return execute(job_id, dispatch, row, redelivered)

    return run_job


for _priority in PRIORITIES:
    _TASKS[_priority] = _make_task(_priority)


def task_for_priority(priority: str) -> Task:
    return _TASKS[priority]


def _on_worker_process_start(**_: object) -> None:
    """Celery's worker_process_init: hold writes, and (with Redis) follow the retired dispatches,
    so that first attempts nothing waits on may start without a claim (scheduler.runner)."""
    held_writes.held.enable()
    if held_writes.held.enabled and retired_dispatches.available():
        retired_dispatches.watch.start()


_frozen_in: set[int] = set()  # pids of the worker main processes that froze their start-up objects


def _before_worker_process_fork(**_: object) -> None:
    """Celery's worker_before_create_process, in the worker's main process before each fork.

    Celery runs a full ``gc.collect()`` before every fork (its issue 2927): with Django, Celery and
    our modules loaded that is ~0.1–0.2 s of the main process, which hands every job to the
    children, so each recycle of a child stalled the whole worker. Freezing what exists at the
    first fork (start-up objects, which live as long as the process) takes them out of every later
    collection; objects made afterwards are collected as usual. The children inherit the frozen
    generation, which also keeps their shared pages from being copied by their own collections.
    """
    if os.getpid() not in _frozen_in:
        _frozen_in.add(os.getpid())
        gc.collect()
        gc.freeze()


worker_before_create_process.connect(_before_worker_process_fork, weak=False)
worker_process_init.connect(_on_worker_process_start, weak=False)
worker_process_shutdown.connect(held_writes.on_worker_process_exit, weak=False)
