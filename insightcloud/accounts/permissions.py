"""Tenancy and roles: what a user may see and manage.

Domain admins see and manage everything; domain viewers see everything and manage nothing;
organization admins see and manage all of their organization; basic users see what their
roles grant inside their organization (all clouds, chosen clouds, or chosen resource groups)
and manage only where a role says so. Everything else is invisible (404, never 403).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from insightcloud.accounts.models import AccessLevel, AuditEvent, Role, User
from insightcloud.inventory.models import CloudAccount, Organization, Resource, ResourceGroup


def is_domain_admin(user: User) -> bool:
    return user.is_superuser or user.access_level == AccessLevel.DOMAIN_ADMIN


def sees_whole_domain(user: User) -> bool:
    return is_domain_admin(user) or user.access_level == AccessLevel.DOMAIN_VIEWER


def organizations_visible_to(user: User) -> QuerySet[Organization]:
    if sees_whole_domain(user):
        return Organization.objects.all()
    return Organization.objects.filter(pk=user.organization_id)


def _roles(user: User, *, manage: bool) -> QuerySet[Role]:
    roles = Role.objects.filter(users=user, organization_id=user.organization_id)
    return roles.filter(can_manage=True) if manage else roles


def _cloud_filter(user: User, *, manage: bool) -> Q | None:
    """A filter on CloudAccount, or None for 'all of them'."""
    if is_domain_admin(user):
        return None
    if user.access_level == AccessLevel.DOMAIN_VIEWER:
        return None if not manage else Q(pk__in=[])
    if user.organization_id is None:
        return Q(pk__in=[])
    in_org = Q(organization_id=user.organization_id)
    if user.access_level == AccessLevel.ORGANIZATION_ADMIN:
        return in_org
    roles = _roles(user, manage=manage)
    if roles.filter(all_clouds=True).exists():
        return in_org
    return in_org & Q(pk__in=roles.values("clouds"))


def clouds_visible_to(user: User) -> QuerySet[CloudAccount]:
    condition = _cloud_filter(user, manage=False)
    return CloudAccount.objects.all() if condition is None else CloudAccount.objects.filter(condition)


def clouds_managed_by(user: User) -> QuerySet[CloudAccount]:
    condition = _cloud_filter(user, manage=True)
    return CloudAccount.objects.all() if condition is None else CloudAccount.objects.filter(condition)


def _resources_granted(user: User, *, manage: bool) -> QuerySet[Resource]:
    condition = _cloud_filter(user, manage=manage)
    if condition is None:
        return Resource.objects.all()
    granted = Q(cloud__in=CloudAccount.objects.filter(condition))
    if user.access_level == AccessLevel.BASIC and user.organization_id:
        # A subquery, not a join, so a resource in two granted groups is listed once.
        memberships = ResourceGroup.resources.through.objects.filter(
            resourcegroup__in=_roles(user, manage=manage).values("resource_groups"),
            resourcegroup__organization_id=user.organization_id,
        )
        granted |= Q(pk__in=memberships.values("resource_id"))
    return Resource.objects.filter(granted)


def resources_visible_to(user: User) -> QuerySet[Resource]:
    return _resources_granted(user, manage=False)


def resources_managed_by(user: User) -> QuerySet[Resource]:
    """The resources this user may act on (run actions, exempt, put in resource groups)."""
    return _resources_granted(user, manage=True)


def can_manage_cloud(user: User, cloud: CloudAccount) -> bool:
    return clouds_managed_by(user).filter(pk=cloud.pk).exists()


def can_manage_resource(user: User, resource: Resource) -> bool:
    return resources_managed_by(user).filter(pk=resource.pk).exists()


def resource_groups_visible_to(user: User) -> QuerySet[ResourceGroup]:
    """Domain-wide users see every group; everyone else the groups of their own organization."""
    if sees_whole_domain(user):
        return ResourceGroup.objects.all()
    return ResourceGroup.objects.filter(organization_id=user.organization_id or -1)


def can_manage_resource_groups(user: User, organization_id: int | None) -> bool:
    """Create groups and change their members in this organization: domain admins anywhere,
    organization admins in theirs, basic users in theirs when a role lets them manage something
    (and then only with resources they manage)."""
    if is_domain_admin(user):
        return True
    if organization_id is None or user.organization_id != organization_id:
        return False
    if user.access_level == AccessLevel.ORGANIZATION_ADMIN:
        return True
    return user.access_level == AccessLevel.BASIC and _roles(user, manage=True).exists()


def jobs_visible_to(user: User) -> QuerySet:
    from scheduler.models import Job

    if sees_whole_domain(user):
        return Job.objects.all()
    return Job.objects.filter(cloud__in=clouds_visible_to(user))


def can_cancel_job(user: User, job) -> bool:  # noqa: ANN001
    return is_domain_admin(user) or bool(job.cloud_id and can_manage_cloud(user, job.cloud))


def audit_events_visible_to(user: User) -> QuerySet[AuditEvent]:
    """Domain-wide users see every event, organization admins their organization's, others their own."""
    if sees_whole_domain(user):
        return AuditEvent.objects.all()
    if user.access_level == AccessLevel.ORGANIZATION_ADMIN:
        return AuditEvent.objects.filter(organization_id=user.organization_id)
    return AuditEvent.objects.filter(actor=user)
