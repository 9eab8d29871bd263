"""Harvest strategies: what is due for each cloud, region and resource type, and enqueuing it on p2.

- Interval per type: the cloud's :class:`HarvestStrategy` override (by native or normalized
  type), else the type's ``interval_minutes`` if its harvester chose one, else the default of its
  normalized type (instances and security groups 15 min, storage 30, IAM 120, account settings
  240, regions 480).
- Dynamic scheduling: a type found empty in a region is harvested half as often after each empty
  harvest, up to once a day, and back to its interval as soon as something appears.
- Staggering: due times sit on a per-cloud grid shifted by a stable offset (a hash of the cloud
  id), so a hundred clouds with the same intervals do not all fire in the same tick.
- Clouds whose credentials were refused, paused or closed are not harvested.
"""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from insightcloud.inventory.models import CloudAccount, CloudStatus, Resource
from insightcloud.registry import registry
from scheduler.bulk import JobRequest, enqueue_many
from scheduler.models import ACTIVE_STATUSES, HarvestState, HarvestStrategy, JobStatus
from scheduler.queues import P2

logger = logging.getLogger("insightcloud.scheduler")

HARVEST_KIND = "harvest"
GLOBAL = "global"  # harvesters.base.GLOBAL (not imported: the scheduler loads no harvester code)
ALL_REGIONS = "all"  # a cloud with no region list: the harvester works out the enabled regions
MAX_INTERVAL_MINUTES = 24 * 60
DECORATOR_DEFAULT_MINUTES = 15  # harvesters.base.resource_type's default: "the type did not choose"

PAUSED_STATUSES = (
    CloudStatus.INVALID_CREDENTIALS,
    CloudStatus.ASSUME_ROLE_FAILED,
    CloudStatus.PAUSED,
    CloudStatus.CLOSED,
)

#: Minutes between harvests by normalized type, when neither the cloud nor the type says otherwise.
DEFAULT_INTERVALS = {
    "instance": 15,
    "security_group": 15,
    "volume": 30,
    "snapshot": 30,
    "storage_container": 30,
    "database_instance": 30,
    "load_balancer": 30,
    "serverless_function": 30,
    "service_user": 120,
    "service_role": 120,
    "service_policy": 120,
    "service_group": 120,
    "cloud_account": 240,
    "api_accounting_config": 240,
    "region": 480,
}
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_ENSURE_EVERY = timedelta(minutes=5)
#: cloud id -> (when its states were last ensured, the cloud and strategy versions then)
_last_ensured: dict[int, tuple[datetime, tuple]] = {}


def _version(cloud: CloudAccount) -> tuple:
    strategy = strategy_of(cloud)
    return (cloud.updated_at, cloud.regions, strategy.updated_at if strategy else None)


def base_interval(spec, strategy: HarvestStrategy | None) -> int:  # noqa: ANN001  (a ResourceTypeSpec)
    overrides = strategy.intervals if strategy else {}
    for key in (spec.native_type, spec.resource_type):
        if key in overrides:
            return max(1, int(overrides[key]))
    if spec.interval_minutes != DECORATOR_DEFAULT_MINUTES:
        return spec.interval_minutes
    return DEFAULT_INTERVALS.get(spec.resource_type, DECORATOR_DEFAULT_MINUTES)


def effective_interval(base_minutes: int, empty_runs: int, dynamic: bool = True) -> int:
    """Double the interval for each harvest in a row that found nothing, up to once a day."""
    if not dynamic or not empty_runs:
        return base_minutes
    return min(MAX_INTERVAL_MINUTES, base_minutes * 2 ** min(empty_runs, 10))


def stagger_offset(cloud_id: int) -> int:
    """A stable offset in seconds, the same for a cloud in every scheduler process."""
    return zlib.crc32(f"cloud:{cloud_id}".encode()) % (MAX_INTERVAL_MINUTES * 60)


def next_slot(after: datetime, interval_minutes: int, cloud_id: int) -> datetime:
    """The first point after ``after`` on the cloud's grid: epoch + offset + k × interval."""
    interval = interval_minutes * 60
    offset = stagger_offset(cloud_id) % interval
    elapsed = (after - _EPOCH).total_seconds() - offset
    k = int(elapsed // interval) + 1
    return _EPOCH + timedelta(seconds=offset + k * interval)


def next_due(after: datetime, interval_minutes: int, cloud_id: int) -> datetime:
    """The next run: the first grid slot at least half an interval after ``after`` (so on average
    one interval later, never twice in a row within minutes, and still staggered)."""
    return next_slot(after + timedelta(minutes=interval_minutes / 2), interval_minutes, cloud_id)


def harvest_dedup_key(cloud_id: int, region: str, native_type: str) -> str:
    return f"harvest:cloud={cloud_id}:region={region}:type={native_type}"


def strategy_of(cloud: CloudAccount) -> HarvestStrategy | None:
    try:
        return cloud.harvest_strategy
    except HarvestStrategy.DoesNotExist:
        return None


def _specs(provider: str) -> list:
    return [spec for _, spec in registry.items("resource_types") if spec.provider == provider]


def ensure_states(cloud: CloudAccount, now: datetime) -> int:
    """Create the HarvestState rows a cloud needs (new types, new regions); returns how many."""
    strategy = strategy_of(cloud)
    disabled = set(strategy.disabled_regions) if strategy else set()
    regions = [r for r in (cloud.regions or [ALL_REGIONS]) if r not in disabled]
    existing = set(cloud.harvest_states.values_list("region", "native_type"))
    new = []
    for spec in _specs(cloud.provider):
        for region in [GLOBAL] if spec.scope == "global" else regions:
            if (region, spec.native_type) in existing:
                continue
            # A cloud never harvested starts now; a type added later joins its staggered grid.
            due = now if cloud.last_harvest_at is None else next_due(now, base_interval(spec, strategy), cloud.pk)
            new.append(HarvestState(cloud=cloud, region=region, native_type=spec.native_type, next_due_at=due))
    HarvestState.objects.bulk_create(new, ignore_conflicts=True)
    _last_ensured[cloud.pk] = (now, _version(cloud))
    return len(new)


def plan_harvests(now: datetime | None = None, harvest_kind: str = HARVEST_KIND) -> list[int]:
    """One scheduler pass: account for finished harvests, enqueue what is due. Returns new job ids."""
    now = now or timezone.now()
    if harvest_kind not in registry.names("jobs"):
        logger.debug("no %r job kind registered; nothing to harvest", harvest_kind)
        return []
    clouds = {
        cloud.pk: cloud
        for cloud in CloudAccount.objects.exclude(status__in=PAUSED_STATUSES).select_related("harvest_strategy")
    }
    for cloud in clouds.values():
        ensured_at, version = _last_ensured.get(cloud.pk, (None, None))
        if ensured_at is None or version != _version(cloud) or abs(now - ensured_at) > _ENSURE_EVERY:
            ensure_states(cloud, now)
    specs = {spec.native_type: spec for _, spec in registry.items("resource_types")}
    enqueued: list[int] = []
    due: list[tuple[HarvestState, CloudAccount, int]] = []  # (state, cloud, interval in minutes)
    requests: list[JobRequest] = []
    states = (
        HarvestState.objects.filter(cloud_id__in=list(clouds))
        .filter(Q(next_due_at__lte=now) | Q(last_job__isnull=False))
        .select_related("last_job")
        .order_by("next_due_at")
    )
    for state in states:
        cloud, spec = clouds[state.cloud_id], specs.get(state.native_type)
        strategy = strategy_of(cloud)
        if spec is None or (strategy and not strategy.enabled):
            continue
        if strategy and state.region in strategy.disabled_regions:
            continue
        base = base_interval(spec, strategy)
        if state.last_job is not None:
            if state.last_job.status in ACTIVE_STATUSES:
                continue
            _account(state, cloud, base, strategy)
        if state.next_due_at > now:
            continue
        due.append((state, cloud, effective_interval(base, state.empty_runs, strategy.dynamic if strategy else True)))
        requests.append(
            JobRequest(
                harvest_kind,
                {
                    "cloud_id": cloud.pk,
                    "regions": None if state.region == ALL_REGIONS else [state.region],
                    "types": [state.native_type],
                },
                priority=P2,
                dedup_key=harvest_dedup_key(cloud.pk, state.region, state.native_type),
                cloud_id=cloud.pk,
                organization_id=cloud.organization_id,
                requested_by="scheduler",
            )
        )
    # One INSERT for every harvest due this tick, one UPDATE per batch of states.
    for (state, cloud, interval), (job, created) in zip(due, enqueue_many(requests), strict=True):
        state.last_job = job
        state.last_enqueued_at = now
        state.next_due_at = next_due(now, interval, cloud.pk)
        if created:
            enqueued.append(job.pk)
    HarvestState.objects.bulk_update(
        [state for state, _, _ in due], ["last_job", "last_enqueued_at", "next_due_at"], batch_size=500
    )
    if enqueued:
        logger.info("enqueued %d harvest jobs", len(enqueued))
    return enqueued


def _account(state: HarvestState, cloud: CloudAccount, base: int, strategy: HarvestStrategy | None) -> None:
    """A harvest finished: count what it found, and push the next one out if it found nothing."""
    if state.last_job.status == JobStatus.SUCCEEDED:
        live = Resource.objects.filter(cloud_id=cloud.pk, native_type=state.native_type, deleted_at__isnull=True)
        if state.region != ALL_REGIONS:
            live = live.filter(region=state.region)
        state.last_count = live.count()
        state.empty_runs = state.empty_runs + 1 if state.last_count == 0 else 0
        interval = effective_interval(base, state.empty_runs, strategy.dynamic if strategy else True)
        state.next_due_at = next_due(state.last_enqueued_at or timezone.now(), interval, cloud.pk)
    state.last_job = None
    state.save(update_fields=["last_count", "empty_runs", "next_due_at", "last_job"])
