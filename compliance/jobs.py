"""The "evaluate" job kind (p1): one cloud's compliance evaluation, run by a worker."""

from __future__ import annotations

from typing import Any

from scheduler.jobs import P1, job_kind


@job_kind("evaluate", priority=P1, time_limit=3600)
def evaluate(job: Any, cloud_id: int, full: bool = False) -> dict:
    """Evaluates one cloud's resources against its insights (incremental unless ``full``) and
    writes findings, history and scorecards. Arguments: ``{"cloud_id": 3, "full": false}``."""
    from compliance.evaluate import evaluate_cloud
    from scheduler.runner import append_log

    result = evaluate_cloud(int(cloud_id), full=bool(full), log=lambda line: append_log(job, line))
    summary = result.as_dict()
    # Keep the job row small: per-insight counts only where something is open or changed.
    summary["insights"] = {
        key: counts
        for key, counts in summary["insights"].items()
        if counts["open"] or counts["new"] or counts["resolved"] or counts["reopened"]
    }
    return summary


def enqueue_evaluation(
    cloud_id: int, *, full: bool = False, requested_by: str = "scheduler", priority: str | None = None
) -> tuple[Any, bool]:
    """Enqueue an evaluation of one cloud (the harvest pipeline calls this after each harvest).

    Deduplicated per cloud and mode: a queued or running evaluation is returned instead of a new one
    (moved up to ``priority`` when a user asks for it now).
    """
    from insightcloud.inventory.models import CloudAccount
    from scheduler.runner import enqueue

    cloud = CloudAccount.objects.get(pk=cloud_id)
    return enqueue(
        "evaluate",
        {"cloud_id": cloud.pk, "full": full},
        priority=priority,
        dedup_key=f"evaluate:{cloud.pk}:{'full' if full else 'incremental'}",
        cloud_id=cloud.pk,
        organization_id=cloud.organization_id,
        requested_by=requested_by,
    )
