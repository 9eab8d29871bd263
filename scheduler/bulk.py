"""Enqueue many jobs at once: one INSERT for the rows, one broker connection for the messages.

The scheduler plans dozens of harvests per tick (hundreds for a large estate) and benchmarks queue
thousands of jobs; ``runner.enqueue`` one by one costs a dedup SELECT, an INSERT and a broker
round trip each. ``enqueue_many`` keeps every guarantee of ``enqueue`` (dedup on the active key,
promotion of a queued job asked for at a higher priority, messages sent only once the rows are
committed) with one SELECT for the keys already active and one multi-row INSERT.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction

from scheduler.jobs import get_job_kind
from scheduler.models import Job
from scheduler.queues import PRIORITIES
from scheduler.runner import _promote, enqueue, send

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass(frozen=True)
class JobRequest:
    """What ``runner.enqueue`` takes, as one value."""

    kind: str
    arguments: dict = field(default_factory=dict)
    priority: str | None = None
    dedup_key: str = ""
    cloud_id: int | None = None
    organization_id: int | None = None
    requested_by: str = ""

    def resolved_priority(self) -> str:
        priority = self.priority or get_job_kind(self.kind).priority  # unknown kind: RegistryError
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
        return priority


def enqueue_many(requests: Iterable[JobRequest]) -> list[tuple[Job, bool]]:
    """``[(job, created)]`` in the order of ``requests``, as ``enqueue`` would return for each.

    Every request is checked before anything is written. Two requests with the same dedup key
    give the same job. If another process takes one of the keys between our SELECT and our
    INSERT, the batch falls back to ``enqueue`` one by one (which settles each key).
    """
    requests = list(requests)
    if not requests:
        return []
    priorities = [request.resolved_priority() for request in requests]
    keys = {request.dedup_key for request in requests if request.dedup_key}
    active = {job.active_key: job for job in Job.objects.filter(active_key__in=keys)} if keys else {}
    results: list[tuple[Job, bool] | None] = [None] * len(requests)
    new_rows: dict[int, Job] = {}  # index in requests -> unsaved row
    first_with_key: dict[str, int] = {}
    for index, (request, priority) in enumerate(zip(requests, priorities, strict=True)):
        key = request.dedup_key
        if key in active:
            results[index] = (_promote(active[key], priority), False)
        elif key and key in first_with_key:
            continue  # settled below: the same job as the first request with this key
        else:
            if key:
                first_with_key[key] = index
            new_rows[index] = Job(
                kind=request.kind,
                priority=priority,
                arguments=request.arguments or {},
                dedup_key=key,
                active_key=key or None,
                dispatch=1,
                cloud_id=request.cloud_id,
                organization_id=request.organization_id,
                requested_by=request.requested_by,
            )
    if not new_rows:
        return results  # type: ignore[return-value]  (every request matched an active job)
    if not connection.features.can_return_rows_from_bulk_insert:
        return [enqueue(**_as_kwargs(request)) for request in requests]  # the row ids are needed at once
    try:
        with transaction.atomic():
            created = Job.objects.bulk_create(list(new_rows.values()), batch_size=BATCH_SIZE)
            transaction.on_commit(lambda: send_many(created))
    except IntegrityError:
        logger.info("a dedup key of this batch was taken meanwhile; enqueuing its %d jobs one by one", len(requests))
        return [enqueue(**_as_kwargs(request)) for request in requests]
    for index, job in new_rows.items():
        results[index] = (job, True)
    for index, request in enumerate(requests):
        if results[index] is None:  # a repeated dedup key within the batch
            results[index] = (results[first_with_key[request.dedup_key]][0], False)
    return results  # type: ignore[return-value]


def _as_kwargs(request: JobRequest) -> dict:
    return {name: getattr(request, name) for name in JobRequest.__dataclass_fields__}


def send_many(jobs: list[Job]) -> None:
    """Send the jobs' messages through one producer (one broker connection for the whole batch)."""
    from insightcloud.celery import app

    with app.producer_or_acquire() as producer:
        for job in jobs:
            send(job, producer=producer)
