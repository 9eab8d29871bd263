"""``Resource.has_open_findings``: the inventory's "has findings" flag, kept current from findings.

What counts: a finding that is **open and not exempted**, an exemption counting only while it is
active (``starts_at <= now < expires_at``). That is what the resource page shows as open rather
than exempted, and what scorecards count as failing. A resource whose every open finding is
exempted has no findings in the inventory's filter; resolved findings never count.

The flag is written set-wise, one ``UPDATE … SET has_open_findings = EXISTS(…) WHERE id IN (…)``
per batch of resource ids (:func:`refresh`; evaluation, which knows more, writes only the answers
that changed), wherever findings or their exemptions change:

- evaluation: per page of resources, those whose findings opened or resolved and whose answer
  (:func:`flagged_among` after the page's writes) differs from the flag read with the page
  (:func:`write_flips`);
- exemptions: :func:`compliance.evaluate.apply_exemptions` (each evaluation, each new exemption)
  for findings it links or unlinks, and for findings whose exemption has expired since;
  :func:`compliance.evaluate.revoke`; an exemption deleted (its findings lose it, see :func:`connect`).

An exemption that simply reaches ``expires_at`` writes nothing: until the next evaluation of its
cloud sweeps it, the flag of its resources is stale, so the filter adds them at read time
(:func:`stale_resource_ids`, normally empty and cheap to ask).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.signals import pre_delete
from django.utils import timezone

BATCH = 1000
OPEN = "open"


def exemption_inactive(now: datetime, prefix: str = "exemption__") -> Q:
    """Findings whose exemption, if any, does not apply at ``now`` (the complement of an active one)."""
    return (
        Q(**{f"{prefix}isnull": True}) | Q(**{f"{prefix}starts_at__gt": now}) | Q(**{f"{prefix}expires_at__lte": now})
    )


def counted_findings(finding_model, now: datetime) -> QuerySet:  # noqa: ANN001  (current or historical model)
    """The findings that give a resource the flag: open, and no exemption active at ``now`` covers them."""
    return finding_model.objects.filter(status=OPEN).filter(exemption_inactive(now))


def flag_expression(finding_model, now: datetime) -> Exists:  # noqa: ANN001
    """The flag of the outer resource, computed from its findings."""
    return Exists(counted_findings(finding_model, now).filter(resource=OuterRef("pk")))


def refresh_queryset(resources: QuerySet, now: datetime | None = None) -> int:
    """Recompute the flag of ``resources`` in one UPDATE (the migration's backfill calls this too)."""
    finding_model = resources.model._meta.get_field("findings").related_model
    return resources.update(has_open_findings=flag_expression(finding_model, now or timezone.now()))


def refresh(resource_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute the flag of these resources: one UPDATE per batch of ids. Returns the rows matched."""
    from insightcloud.inventory.models import Resource

    now = now or timezone.now()
    ids = sorted(set(resource_ids))
    matched = 0
    for start in range(0, len(ids), BATCH):
        matched += refresh_queryset(Resource.objects.filter(pk__in=ids[start : start + BATCH]), now)
    return matched


def flagged_among(resource_ids: Iterable[int], now: datetime) -> set[int]:
    """Which of these resources should have the flag: one SELECT per batch, on findings only."""
    from compliance.models import Finding

    ids = sorted(set(resource_ids))
    flagged: set[int] = set()
    for start in range(0, len(ids), BATCH):
        counted = counted_findings(Finding, now).filter(resource_id__in=ids[start : start + BATCH])
        flagged.update(counted.values_list("resource_id", flat=True).distinct())
    return flagged


def write_flips(flagged_before: set[int], flagged_after: set[int]) -> int:
    """Set the flag of resources in ``flagged_after`` but not in ``flagged_before``; clear it for the reverse.

    Only those rows are touched (an UPDATE reads every row it names, and resource rows are big):
    an evaluation that changes findings without changing any answer writes no resource.
    """
    from insightcloud.inventory.models import Resource

    written = 0
    for value, ids in ((True, sorted(flagged_after - flagged_before)), (False, sorted(flagged_before - flagged_after))):
        for start in range(0, len(ids), BATCH):
            written += Resource.objects.filter(pk__in=ids[start : start + BATCH]).update(has_open_findings=value)
    return written


def _inactive_exemption_ids(now: datetime, organization_id: int | None = None) -> list[int]:
    from compliance.models import Exemption

    exemptions = Exemption.objects.inactive(now)
    if organization_id is not None:
        exemptions = exemptions.filter(organization_id=organization_id)
    return list(exemptions.values_list("pk", flat=True))


def stale_resources(now: datetime, organization_id: int | None = None, cloud_id: int | None = None) -> QuerySet:
    """Resource ids (a values queryset) whose flag is unset although an open finding of theirs is
    linked to an exemption that no longer applies (it expired by the clock since the last sweep)."""
    from compliance.models import Finding

    inactive = _inactive_exemption_ids(now, organization_id)
    findings = Finding.objects.filter(exemption_id__in=inactive, status=OPEN, resource__has_open_findings=False)
    if cloud_id is not None:
        findings = findings.filter(cloud_id=cloud_id)
    return findings.values("resource_id")


def stale_resource_ids(now: datetime | None = None) -> QuerySet | None:
    """For readers: the stale resources as a subquery, or None (the usual case) when there are none."""
    stale = stale_resources(now or timezone.now())
    return stale if stale.exists() else None


def sweep_expired(cloud_id: int, organization_id: int, now: datetime) -> int:
    """Set the flag of the cloud's resources whose findings' exemptions expired since the last sweep."""
    return refresh(list(stale_resources(now, organization_id, cloud_id).values_list("resource_id", flat=True)), now)


def _before_exemption_delete(sender, instance, **kwargs) -> None:  # noqa: ANN001
    """A deleted exemption leaves its findings unexempted (SET_NULL): unlink them now and refresh."""
    from compliance.models import Finding

    findings = Finding.objects.filter(exemption_id=instance.pk)
    resource_ids = list(findings.values_list("resource_id", flat=True).distinct())
    if resource_ids:
        findings.update(exemption=None)
        refresh(resource_ids)


def connect() -> None:
    from compliance.models import Exemption

    pre_delete.connect(_before_exemption_delete, sender=Exemption, dispatch_uid="findings_flag_exemption_delete")
