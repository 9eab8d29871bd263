"""What users do to resource groups: create one, add resources, remove them. Shared by GUI and
API, so both check the same rights and leave the same audit trail.

A group belongs to one organization and holds only that organization's resources; roles can
then grant view or manage over it (insightcloud/accounts/permissions.py). Callers look the
resources up among those the user may see (another organization's ids answer 404); here we
check the user may also manage each of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from insightcloud.accounts import audit
from insightcloud.accounts.models import AccessLevel
from insightcloud.accounts.permissions import (
    can_manage_resource_groups,
    resource_groups_visible_to,
    resources_managed_by,
    resources_visible_to,
)
from insightcloud.inventory.models import Organization, Resource, ResourceGroup

NAME_MAX = ResourceGroup._meta.get_field("name").max_length


class GroupError(ValueError):
    """Bad input (empty or taken name, resources of another organization); nothing was changed."""


def groups_with_member_counts(user: Any) -> QuerySet[ResourceGroup]:
    """Visible groups, each with how many of its live members this user can see."""
    members = Q(resources__deleted_at__isnull=True)
    if user.access_level == AccessLevel.BASIC and not user.is_superuser:
        # A basic user may see only some members; counting the others would leak them.
        members &= Q(resources__in=resources_visible_to(user))
    groups = resource_groups_visible_to(user).select_related("organization")
    return groups.annotate(member_count=Count("resources", filter=members)).order_by("organization__name", "name")


def visible_resources(user: Any, ids: Iterable[Any]) -> list[Resource]:
    """The resources with these ids, all visible to the user; any other id answers 404 (tenancy)."""
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError):
        raise GroupError("resource ids are numbers") from None
    found = list(resources_visible_to(user).filter(pk__in=wanted).select_related("cloud__organization"))
    if len(found) != len(wanted):
        raise Http404("no such resource")
    return found


def _require_manage(user: Any, organization_id: int) -> None:
    if not can_manage_resource_groups(user, organization_id):
        raise PermissionDenied("you may not manage resource groups in this organization")


def create_group(
    user: Any, organization: Organization, name: str, description: str = "", request: Any = None
) -> ResourceGroup:
    _require_manage(user, organization.pk)
    name = (name or "").strip()
    if not name:
        raise GroupError("a group needs a name")
    if len(name) > NAME_MAX:
        raise GroupError(f"a group name has at most {NAME_MAX} characters")
    try:
        with transaction.atomic():
            group = ResourceGroup.objects.create(organization=organization, name=name, description=description or "")
    except IntegrityError:
        raise GroupError(f"{organization.name} already has a group named {name!r}") from None
    audit.record("resource_group.create", actor=user, request=request, target=group, organization=organization)
    return group


def _checked(user: Any, group: ResourceGroup, resources: Iterable[Resource]) -> list[Resource]:
    _require_manage(user, group.organization_id)
    resources = list(resources)
    if not resources:
        raise GroupError("select at least one resource")
    foreign = [r for r in resources if r.cloud.organization_id != group.organization_id]
    if foreign:
        raise GroupError(f"{foreign[0]} is not in {group.organization.name}, the organization of group {group.name}")
    managed = set(resources_managed_by(user).filter(pk__in=[r.pk for r in resources]).values_list("pk", flat=True))
    refused = [r for r in resources if r.pk not in managed]
    if refused:
        raise PermissionDenied(f"you may view {refused[0]} but not manage it")
    return resources


def add_resources(user: Any, group: ResourceGroup, resources: Iterable[Resource], request: Any = None) -> int:
    """Add the resources (all or none); returns how many were not members yet."""
    resources = _checked(user, group, resources)
    with transaction.atomic():
        present = set(group.resources.filter(pk__in=[r.pk for r in resources]).values_list("pk", flat=True))
        added = [r for r in resources if r.pk not in present]
        group.resources.add(*added)
        _audit("resource_group.add", user, request, group, added)
    return len(added)


def remove_resources(user: Any, group: ResourceGroup, resources: Iterable[Resource], request: Any = None) -> int:
    """Remove the resources from the group (not from the inventory); returns how many were members."""
    resources = _checked(user, group, resources)
    with transaction.atomic():
        present = set(group.resources.filter(pk__in=[r.pk for r in resources]).values_list("pk", flat=True))
        removed = [r for r in resources if r.pk in present]
        group.resources.remove(*removed)
        _audit("resource_group.remove", user, request, group, removed)
    return len(removed)


def _audit(action: str, user: Any, request: Any, group: ResourceGroup, resources: list[Resource]) -> None:
    if resources:
        audit.record(
            action,
            actor=user,
            request=request,
            target=group,
            organization=group.organization,
            group=group.pk,
            resources=[{"id": r.pk, "native_id": r.native_id} for r in resources[:500]],
            count=len(resources),
        )
