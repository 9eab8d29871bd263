"""What the queues look like now: the data behind ``manage.py queues`` and the GUI's Jobs page."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from scheduler.models import Job, JobStatus, ProcessRole
from scheduler.queues import METRIC_NAMES, PRIORITIES

#: kombu's Redis transport keeps a queue's messages in one list per priority step.
_KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)
_KOMBU_SEP = "\x06\x16"
_STATS_SAMPLE = 20_000  # newest jobs per queue looked at for the statistics


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue: Redis list lengths, or queued Job rows with the embedded broker."""
    if settings.EMBEDDED_BROKER:
        return {p: Job.objects.filter(priority=p, status=JobStatus.QUEUED).count() for p in PRIORITIES}
    from scheduler.leader import redis_client

    client = redis_client()
    pipe = client.pipeline()
    for priority in PRIORITIES:
        for step in _KOMBU_PRIORITY_STEPS:
            pipe.llen(f"{priority}{_KOMBU_SEP}{step}" if step else priority)
    lengths = pipe.execute()
    steps = len(_KOMBU_PRIORITY_STEPS)
    return {p: sum(lengths[i * steps : (i + 1) * steps]) for i, p in enumerate(PRIORITIES)}


def stats(values: list[float]) -> dict:
    """min, max, mean and p95 (nearest rank) of a list of seconds; all None when empty."""
    if not values:
        return {"count": 0, "min": None, "max": None, "mean": None, "p95": None}
    ordered = sorted(values)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "count": len(ordered),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "mean": round(sum(ordered) / len(ordered), 3),
        "p95": round(p95, 3),
    }


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def queue_report(window: timedelta = timedelta(hours=1), slowest: int = 10) -> dict:
    """Per queue depth and wait/processing statistics over ``window``, running jobs, workers, scheduler."""
    from scheduler.heartbeat import live
    from scheduler.leader import current_leader

    now = timezone.now()
    since = now - window
    try:
        depths, broker_error = queue_depths(), None
    except Exception as exc:  # Redis down: still show what the database knows
        depths, broker_error = {p: None for p in PRIORITIES}, f"{type(exc).__name__}: {exc}"
    queues = {}
    for priority in PRIORITIES:
        started = list(
            Job.objects.filter(priority=priority, started_at__gte=since)
            .order_by("-started_at")
            .values_list("enqueued_at", "started_at")[:_STATS_SAMPLE]
        )
        finished = list(
            Job.objects.filter(priority=priority, finished_at__gte=since, started_at__isnull=False)
            .order_by("-finished_at")
            .values_list("started_at", "finished_at")[:_STATS_SAMPLE]
        )
        queues[priority] = {
            "name": METRIC_NAMES[priority],
            "depth": depths[priority],
            "queued_jobs": Job.objects.filter(priority=priority, status=JobStatus.QUEUED).count(),
            "running_jobs": Job.objects.filter(priority=priority, status=JobStatus.RUNNING).count(),
            "wait_seconds": stats([_seconds(s, e) for e, s in started]),
            "processing_seconds": stats([_seconds(f, s) for s, f in finished]),
        }
    running = [
        {
            "id": job.pk,
            "kind": job.kind,
            "priority": job.priority,
            "worker": job.worker,
            "attempts": job.attempts,
            "running_seconds": round(_seconds(now, job.started_at), 1) if job.started_at else None,
            "heartbeat_age_seconds": round(_seconds(now, job.heartbeat_at), 1) if job.heartbeat_at else None,
            "cancel_requested": job.cancel_requested,
        }
        for job in Job.objects.filter(status=JobStatus.RUNNING).order_by("started_at")[:100]
    ]
    slow = sorted(
        (
            (_seconds(job.finished_at, job.started_at), job)
            for job in Job.objects.filter(finished_at__gte=since, started_at__isnull=False)
            .only("kind", "priority", "status", "started_at", "finished_at", "dedup_key")
            .order_by("-finished_at")[:_STATS_SAMPLE]
        ),
        key=lambda pair: pair[0],
        reverse=True,
    )[:slowest]
    try:
        leader, leader_error = current_leader(), None
    except Exception as exc:
        leader, leader_error = None, f"{type(exc).__name__}: {exc}"
    return {
        "generated_at": now.isoformat(),
        "window_seconds": int(window.total_seconds()),
        "broker": "embedded" if settings.EMBEDDED_BROKER else "redis",
        "broker_error": broker_error,
        "queues": queues,
        "running": running,
        "workers": [
            {"name": w.name, "host": w.host, "pid": w.pid, "queues": w.queues, "last_heartbeat": w.beat_at.isoformat()}
            for w in live(ProcessRole.WORKER)
        ],
        "schedulers": [s.name for s in live(ProcessRole.SCHEDULER)],
        "scheduler_leader": leader,
        "scheduler_leader_error": leader_error,
        "slowest": [
            {
                "id": job.pk,
                "kind": job.kind,
                "priority": job.priority,
                "status": job.status,
                "seconds": round(seconds, 3),
                "dedup_key": job.dedup_key,
            }
            for seconds, job in slow
        ],
    }
