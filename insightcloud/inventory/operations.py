"""What users do to a cloud account: harvest now, pause, resume, delete. Shared by GUI and API,
so both check the same permission and leave the same audit trail."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from insightcloud.accounts import audit
from insightcloud.accounts.permissions import can_manage_cloud
from insightcloud.inventory.models import CloudAccount, CloudStatus, ResourceChange


def _require_manage(user: Any, cloud: CloudAccount) -> None:
    if not can_manage_cloud(user, cloud):
        raise PermissionDenied("you may view this cloud but not manage it")


def harvest_now(user: Any, cloud: CloudAccount, request: Any = None, *, regions=None, types=None):  # noqa: ANN001, ANN201
    """Enqueue an immediate (p0) harvest; a harvest already queued or running is reused."""
    from scheduler.runner import enqueue

    _require_manage(user, cloud)
    if cloud.status == CloudStatus.PAUSED:
        raise PermissionDenied("this cloud is paused; resume it first")
    job, created = enqueue(
        "harvest",
        {"cloud_id": cloud.pk, "regions": regions, "types": types},
        priority="p0",
        dedup_key=f"harvest-now:cloud={cloud.pk}",
        cloud_id=cloud.pk,
        organization_id=cloud.organization_id,
        requested_by=getattr(user, "username", ""),
    )
    audit.record("cloud.harvest", actor=user, request=request, target=cloud, job=job.pk, created=created)
    return job, created


def evaluate_now(user: Any, cloud: CloudAccount, request: Any = None, *, full: bool = False):  # noqa: ANN201
    """Enqueue an immediate (p0) compliance evaluation; one already queued is moved up, not doubled."""
    from compliance.jobs import enqueue_evaluation

    _require_manage(user, cloud)
    job, created = enqueue_evaluation(cloud.pk, full=full, requested_by=getattr(user, "username", ""), priority="p0")
    audit.record("cloud.evaluate", actor=user, request=request, target=cloud, job=job.pk, created=created, full=full)
    return job, created


def enqueue_now(user: Any, kind: str, cloud: CloudAccount, request: Any = None, **options: Any):  # noqa: ANN201
    """The Jobs page's and the API's "enqueue now": one of ENQUEUEABLE_JOB_KINDS for a cloud the user manages."""
    if kind == "harvest":
        return harvest_now(user, cloud, request, regions=options.get("regions"), types=options.get("types"))
    if kind == "evaluate":
        return evaluate_now(user, cloud, request, full=bool(options.get("full")))
    raise ValueError(f"job kind {kind!r} cannot be enqueued by hand")


def set_paused(user: Any, cloud: CloudAccount, paused: bool, request: Any = None) -> CloudAccount:
    _require_manage(user, cloud)
    cloud.status = CloudStatus.PAUSED if paused else CloudStatus.PENDING
    cloud.status_detail = f"paused by {user.username}" if paused else ""
    cloud.save(update_fields=["status", "status_detail", "updated_at"])
    audit.record("cloud.pause" if paused else "cloud.resume", actor=user, request=request, target=cloud)
    return cloud


def deletion_impact(cloud: CloudAccount) -> dict[str, int]:
    """What deleting the cloud removes, spelled out before the user confirms."""
    impact = {
        "resources": cloud.resources.count(),
        "resource changes": ResourceChange.objects.filter(cloud=cloud).count(),
        "jobs": cloud.jobs.count(),
    }
    if hasattr(cloud.resources.model, "findings"):
        from compliance.models import Finding

        impact["findings"] = Finding.objects.filter(resource__cloud=cloud).count()
    return impact


def delete_cloud(user: Any, cloud: CloudAccount, request: Any = None) -> dict[str, int]:
    _require_manage(user, cloud)
    impact = deletion_impact(cloud)
    with transaction.atomic():
        audit.record("cloud.delete", actor=user, request=request, target=cloud, removed=impact)
        cloud.delete()
    return impact


def update_harvest_strategy(user: Any, cloud: CloudAccount, request: Any = None, **changes: Any):  # noqa: ANN201
    """Edit intervals per type / disabled regions (scheduler.strategy validates; StrategyError on bad input)."""
    from scheduler import strategy

    _require_manage(user, cloud)
    saved = strategy.update(cloud, **changes)
    audit.record(
        "cloud.harvest_strategy",
        actor=user,
        request=request,
        target=cloud,
        organization=cloud.organization,
        intervals=saved.intervals,
        disabled_regions=saved.disabled_regions,
        dynamic=saved.dynamic,
    )
    return saved
