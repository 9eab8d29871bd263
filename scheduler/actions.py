"""On-demand actions on one resource (stop an instance, block a bucket's public access …), run as p0 jobs.

An action is registered per cloud in ``harvesters/<cloud>/actions.py``::

    @action(
        "aws.instance.stop",
        resource_types=("aws.ec2.instance",),
        permissions=("ec2:StopInstances",),
        applies_to=property_in("state", {"running", "pending"}),
    )
    def stop_instance(ctx: ActionContext) -> dict:
        '''Stop a running EC2 instance.'''

``applies_to`` (a :class:`Condition` on the resource's normalized properties) says when the action
makes sense: the resource page and the API offer only the actions that apply to a resource as the
inventory last saw it, and a request for one that does not is refused. The inventory can be
stale, so that is only the first gate: the handler checks, against the cloud itself, that the
resource still exists and is in the state the action expects (raising :class:`ActionRefused`
otherwise), does nothing but report what it would do when ``ctx.dry_run``, and returns what
happened (``{"changed": bool, ...}``). The job records who asked and the outcome on the Job and
in the audit log, then asks for a p0 harvest of the resource's type and region so the inventory
shows the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from insightcloud.registry import registry
from scheduler.jobs import job_kind
from scheduler.models import Job
from scheduler.queues import P0

logger = logging.getLogger(__name__)

ACTION_KIND = "action"


class ActionRefused(Exception):
    """The resource is gone or not in the state the action expects; nothing was changed."""

    transient = False


@dataclass(frozen=True)
class Condition:
    """When an action applies, judged on a resource's normalized properties.

    ``test`` answers True, False, or None when the inventory does not know (the property is
    missing or ``unknown``). Unknown counts as applying: the handler checks the cloud itself, and
    hiding an action because a harvester could not read a property would leave the user stuck.
    """

    summary: str  # for people: "state is running or pending"
    test: Callable[[dict], bool | None]
    key: str = ""  # the property the test reads, named in refusals when there is just one

    def holds_for(self, properties: dict | None) -> bool:
        return self.test(properties or {}) is not False

    def refusal(self, properties: dict | None) -> str:
        shown = f"the inventory shows {self.key} {(properties or {}).get(self.key)!r}" if self.key else "not so"
        return f"it applies when {self.summary}, and {shown} (harvest the resource again if that is stale)"


ALWAYS = Condition("always", lambda properties: True)


def property_in(key: str, values: set[str]) -> Condition:
    """The action applies when the normalized property ``key`` is one of ``values``."""
    allowed = frozenset(values)

    def test(properties: dict) -> bool | None:
        value = properties.get(key)
        return None if value in (None, "unknown") else value in allowed

    return Condition(f"{key} is {' or '.join(sorted(allowed))}", test, key)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    handler: Callable[[ActionContext], dict]
    resource_types: tuple[str, ...]  # native types, e.g. aws.ec2.instance
    permissions: tuple[str, ...]
    parameters: tuple[str, ...]  # required parameters (e.g. access_key_id)
    description: str
    applies_to: Condition = ALWAYS

    def applies(self, resource: Any) -> bool:
        """Whether the action makes sense for this inventory resource as last harvested."""
        return (
            resource.deleted_at is None
            and resource.native_type in self.resource_types
            and self.applies_to.holds_for(resource.properties)
        )


@dataclass
class ActionContext:
    job: Job | None
    resource: Any  # inventory.Resource, with .cloud
    dry_run: bool = False
    params: dict[str, str] = field(default_factory=dict)

    @property
    def cloud(self) -> Any:
        return self.resource.cloud

    def log(self, line: str) -> None:
        if self.job is not None:
            self.job.write_log(line)


def action(
    name: str,
    *,
    resource_types: tuple[str, ...],
    permissions: tuple[str, ...],
    parameters: tuple[str, ...] = (),
    applies_to: Condition = ALWAYS,
) -> Callable[[Callable], Callable]:
    def wrap(handler: Callable) -> Callable:
        doc = (handler.__doc__ or "").strip()
        spec = ActionSpec(name, handler, tuple(resource_types), tuple(permissions), tuple(parameters), doc, applies_to)
        registry.register("actions", name, spec)
        return handler

    return wrap


def get_action(name: str) -> ActionSpec:
    return registry.get("actions", name)


def registered_for(native_type: str) -> list[ActionSpec]:
    """Every action registered for this native type, whatever a resource's state."""
    return [spec for _, spec in registry.items("actions") if native_type in spec.resource_types]


def actions_for(resource: Any) -> list[ActionSpec]:
    """The actions that apply to this inventory resource in its last harvested state (GUI and API)."""
    return [spec for spec in registered_for(resource.native_type) if spec.applies(resource)]


def request_action(
    name: str,
    resource_id: int,
    *,
    dry_run: bool = False,
    requested_by: str = "",
    params: dict[str, str] | None = None,
) -> tuple[Job, bool]:
    """Validate and enqueue a p0 action job (for the CLI and the API). Raises ValueError on bad input."""
    from insightcloud.inventory.models import Resource
    from insightcloud.registry import RegistryError
    from scheduler.runner import enqueue

    try:
        spec = get_action(name)
    except RegistryError as exc:
        raise ValueError(str(exc)) from None
    resource = Resource.objects.select_related("cloud").filter(pk=resource_id, deleted_at__isnull=True).first()
    if resource is None:
        raise ValueError(f"no live resource with id {resource_id}")
    if resource.native_type not in spec.resource_types:
        raise ValueError(f"{name} applies to {', '.join(spec.resource_types)}, not to {resource.native_type}")
    if not spec.applies_to.holds_for(resource.properties):
        raise ValueError(f"{name} does not apply to {resource}: {spec.applies_to.refusal(resource.properties)}")
    params = dict(params or {})
    missing = [p for p in spec.parameters if not params.get(p)]
    if missing:
        raise ValueError(f"{name} needs --param {missing[0]}=VALUE")
    unknown = sorted(set(params) - set(spec.parameters))
    if unknown:
        raise ValueError(f"{name} takes no parameter {unknown[0]!r}")
    return enqueue(
        ACTION_KIND,
        {"action": name, "resource_id": resource.pk, "dry_run": dry_run, "params": params},
        priority=P0,
        dedup_key=f"action:{name}:resource={resource.pk}:dry_run={int(dry_run)}",
        cloud_id=resource.cloud_id,
        organization_id=resource.cloud.organization_id,
        requested_by=requested_by,
    )


@job_kind(ACTION_KIND, priority=P0, time_limit=300)
def run_action(job: Job, action: str, resource_id: int, dry_run: bool = False, params: dict | None = None) -> dict:
    """Run one on-demand action on one resource, audit it, and harvest the resource again."""
    from insightcloud.inventory.models import Resource

    spec = get_action(action)
    resource = Resource.objects.select_related("cloud").filter(pk=resource_id).first()
    who = job.requested_by or "system"
    try:
        if resource is None or resource.deleted_at is not None:
            raise ActionRefused(f"resource {resource_id} no longer exists in the inventory")
        job.write_log(f"{who} asked for {action} on {resource.native_type} {resource.native_id} (dry run: {dry_run})")
        outcome = spec.handler(ActionContext(job, resource, dry_run, dict(params or {})))
    except Exception as exc:
        _audit(job, action, resource, dry_run, {"error": f"{type(exc).__name__}: {exc}"})
        raise
    _audit(job, action, resource, dry_run, outcome)
    job.write_log(f"outcome: {outcome}")
    result = {"action": action, "resource_id": resource_id, "dry_run": dry_run, "requested_by": who, "outcome": outcome}
    if outcome.get("changed") and not dry_run:
        harvest = _harvest_again(job, resource)
        result["harvest_job"] = harvest.pk if harvest else None
    return result


def _audit(job: Job, action: str, resource: Any, dry_run: bool, outcome: dict) -> None:
    from insightcloud.accounts.models import AuditEvent, User

    who = job.requested_by or "system"
    AuditEvent.objects.create(
        actor=User.objects.filter(username=who).first(),
        actor_name=who,
        organization_id=job.organization_id,
        action=f"action.{action}" + (".dry_run" if dry_run else ""),
        target=f"{resource.native_type} {resource.native_id}" if resource is not None else "",
        details={"job": job.pk, "resource_id": getattr(resource, "pk", None), "outcome": outcome},
    )


def _harvest_again(job: Job, resource: Any) -> Job | None:
    from scheduler.planner import HARVEST_KIND, harvest_dedup_key
    from scheduler.runner import enqueue

    if HARVEST_KIND not in registry.names("jobs"):
        logger.info("no harvest job kind registered; not harvesting %s again", resource.native_id)
        return None
    harvest, _ = enqueue(
        HARVEST_KIND,
        {"cloud_id": resource.cloud_id, "regions": [resource.region], "types": [resource.native_type]},
        priority=P0,
        dedup_key=harvest_dedup_key(resource.cloud_id, resource.region, resource.native_type),
        cloud_id=resource.cloud_id,
        organization_id=job.organization_id,
        requested_by=job.requested_by,
    )
    job.write_log(f"harvest job {harvest.pk} asked for {resource.native_type} in {resource.region}")
    return harvest
