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


def resources_visible_to(user: User) -> QuerySet[Resource]:
    condition = _cloud_filter(user, manage=False)
    if condition is None:
        return Resource.objects.all()
    visible = Q(cloud__in=CloudAccount.objects.filter(condition))
    if user.access_level == AccessLevel.BASIC and user.organization_id:
        # A subquery, not a join, so a resource in two granted groups is listed once.
        memberships = ResourceGroup.resources.through.objects.filter(
            resourcegroup__in=_roles(user, manage=False).values("resource_groups"),
            resourcegroup__organization_id=user.organization_id,
        )
        visible |= Q(pk__in=memberships.values("resource_id"))
    return Resource.objects.filter(visible)


def can_manage_cloud(user: User, cloud: CloudAccount) -> bool:
    return clouds_managed_by(user).filter(pk=cloud.pk).exists()


def can_manage_resource(user: User, resource: Resource) -> bool:
    if can_manage_cloud(user, resource.cloud):
        return True
    if user.access_level != AccessLevel.BASIC:
        return False
    groups = _roles(user, manage=True).values("resource_groups")
    return resource.groups.filter(pk__in=groups).exists()


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


def organizations_where_clouds_can_be_added(user: User) -> QuerySet[Organization]:
    """Domain admins onboard clouds anywhere; organization admins, and basic users whose role manages
    all clouds, in their own organization; nobody else."""
    if is_domain_admin(user):
        return Organization.objects.all()
    if user.organization_id is None or user.access_level == AccessLevel.DOMAIN_VIEWER:
        return Organization.objects.none()
    own = Organization.objects.filter(pk=user.organization_id)
    if user.access_level == AccessLevel.ORGANIZATION_ADMIN:
        return own
    return own if _roles(user, manage=True).filter(all_clouds=True).exists() else Organization.objects.none()


def can_add_clouds(user: User) -> bool:
    return user.is_authenticated and organizations_where_clouds_can_be_added(user).exists()


def can_use_server_credentials(user: User) -> bool:
    """The server's own credentials (AWS instance role) reach the platform's account: domain admins only."""
    return is_domain_admin(user)
