"""The registry of job kinds. A job kind is a function run by a worker for one Job row.

    @job_kind("harvest", priority=P2, time_limit=3600)
    def harvest(job, cloud_id, regions=None): ...

The handler receives the Job (to log, and to check ``job.cancel_requested`` between pages)
and the Job's arguments as keywords; what it returns is stored as ``Job.result``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from insightcloud.registry import registry
from scheduler.queues import P0, P1, P2, PRIORITIES


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Callable[..., Any]
    priority: str
    time_limit: int  # seconds; the worker kills the job past this
    description: str


def job_kind(name: str, *, priority: str, time_limit: int = 3600) -> Callable[[Callable], Callable]:
    if priority not in PRIORITIES:
        raise ValueError(f"job kind {name!r}: priority must be one of {PRIORITIES}")

    def wrap(handler: Callable) -> Callable:
        doc = (handler.__doc__ or "").strip()
        registry.register("jobs", name, JobKind(name, handler, priority, time_limit, doc))
        return handler

    return wrap


def get_job_kind(name: str) -> JobKind:
    return registry.get("jobs", name)


@job_kind("noop", priority=P2, time_limit=60)
def noop(job: Any, **arguments: Any) -> dict:
    """Does nothing and succeeds: used to check the queues end to end and to benchmark them."""
    return {"echo": arguments}


@job_kind("sleep", priority=P1, time_limit=600)
def sleep(job: Any, seconds: float = 1.0) -> dict:
    """Sleeps, checking for cancellation every tenth of a second (diagnostics and tests)."""
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        if job.cancel_requested:  # set by the job's heartbeat thread
            return {"slept": False}
        time.sleep(0.1)
    return {"slept": seconds}


__all__ = ["JobKind", "job_kind", "get_job_kind", "P0", "P1", "P2"]
