"""Tenancy and roles: what a user may see and manage.

Domain admins see and manage everything; domain viewers see everything and manage nothing;
organization admins see and manage all of their organization; basic users see what their
roles grant inside their organization (all clouds, chosen clouds, or chosen resource groups)
and manage only where a role says so. Everything else is invisible (404, never 403).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from insightcloud.accounts.models import AccessLevel, ApiKey, AuditEvent, Role, User
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


def _visible(user: User, resource_field: str) -> Q | None:
    """Rows of visible clouds, or of resources in resource groups a role grants; None for 'all of them'."""
    condition = _cloud_filter(user, manage=False)
    if condition is None:
        return None
    visible = Q(cloud__in=CloudAccount.objects.filter(condition))
    if user.access_level == AccessLevel.BASIC and user.organization_id:
        # A subquery, not a join, so a resource in two granted groups is listed once.
        memberships = ResourceGroup.resources.through.objects.filter(
            resourcegroup__in=_roles(user, manage=False).values("resource_groups"),
            resourcegroup__organization_id=user.organization_id,
        )
        visible |= Q(**{f"{resource_field}__in": memberships.values("resource_id")})
    return visible


def resources_visible_to(user: User) -> QuerySet[Resource]:
    visible = _visible(user, "pk")
    return Resource.objects.all() if visible is None else Resource.objects.filter(visible)


def findings_visible_to(user: User) -> QuerySet:
    """Findings (open, resolved, exempted) of the resources the user may see."""
    from compliance.models import Finding

    visible = _visible(user, "resource_id")
    return Finding.objects.all() if visible is None else Finding.objects.filter(visible)


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


# --- Administration of users, roles and API keys -------------------------------------------
#
# Domain admins administer everyone; organization admins administer the organization admins and
# basic users of their own organization (never a domain-wide user, even one filed under it);
# domain viewers read what domain admins see and change nothing; basic users have no access.

ORGANIZATION_LEVELS = (AccessLevel.ORGANIZATION_ADMIN, AccessLevel.BASIC)


def may_view_administration(user: User) -> bool:
    return sees_whole_domain(user) or (
        user.access_level == AccessLevel.ORGANIZATION_ADMIN and bool(user.organization_id)
    )


def may_administer(user: User) -> bool:
    return is_domain_admin(user) or (user.access_level == AccessLevel.ORGANIZATION_ADMIN and bool(user.organization_id))


def users_visible_to(user: User) -> QuerySet[User]:
    """The users an administrator (or a domain viewer) may list and open; nobody for the others."""
    if sees_whole_domain(user):
        return User.objects.all()
    if may_administer(user):
        return User.objects.filter(
            organization_id=user.organization_id, access_level__in=ORGANIZATION_LEVELS, is_superuser=False
        )
    return User.objects.none()


def users_administered_by(user: User) -> QuerySet[User]:
    return users_visible_to(user) if may_administer(user) else User.objects.none()


def access_levels_grantable_by(user: User) -> list[str]:
    """Organization admins cannot make domain-wide users: that would see past their organization."""
    if is_domain_admin(user):
        return list(AccessLevel.values)
    if may_administer(user):
        return list(ORGANIZATION_LEVELS)
    return []


def organizations_administered_by(user: User) -> QuerySet[Organization]:
    if is_domain_admin(user):
        return Organization.objects.all()
    if may_administer(user):
        return Organization.objects.filter(pk=user.organization_id)
    return Organization.objects.none()


def roles_visible_to(user: User) -> QuerySet[Role]:
    if sees_whole_domain(user):
        return Role.objects.all()
    return Role.objects.filter(organization__in=organizations_administered_by(user))


def roles_administered_by(user: User) -> QuerySet[Role]:
    return Role.objects.filter(organization__in=organizations_administered_by(user))


def api_keys_visible_to(user: User) -> QuerySet[ApiKey]:
    """Your own keys, plus the keys of the users you may see as an administrator or domain viewer."""
    return ApiKey.objects.filter(Q(user=user) | Q(user__in=users_visible_to(user)))


def can_revoke_api_key(user: User, key: ApiKey) -> bool:
    return key.user_id == user.pk or users_administered_by(user).filter(pk=key.user_id).exists()


def user_change_problems(
    actor: User, *, organization: Organization | None, access_level: str, target: User | None = None
) -> dict[str, str]:
    """Why ``actor`` may not give a user this organization and access level ({} when it may).

    Shared by the System pages' forms and the API's serializers, so both refuse the same things.
    """
    problems = {}
    if access_level not in access_levels_grantable_by(actor):
        problems["access_level"] = "you may not grant this access level"
    if organization is None:
        if access_level in ORGANIZATION_LEVELS:
            problems["organization"] = "organization admins and basic users belong to an organization"
    elif not organizations_administered_by(actor).filter(pk=organization.pk).exists():
        problems["organization"] = "you do not administer this organization"
    if target is not None and target.pk == actor.pk and access_level != actor.access_level:
        problems["access_level"] = "you may not change your own access level"
    return problems


def role_member_problems(organization: Organization, *, clouds=(), resource_groups=(), users=()) -> dict[str, str]:  # noqa: ANN001
    """A role grants rights inside one organization: its clouds, groups and members must be there."""
    problems = {}
    if any(cloud.organization_id != organization.pk for cloud in clouds):
        problems["clouds"] = f"every cloud must belong to {organization}"
    if any(group.organization_id != organization.pk for group in resource_groups):
        problems["resource_groups"] = f"every resource group must belong to {organization}"
    if any(member.organization_id != organization.pk for member in users):
        problems["users"] = f"every member must belong to {organization}"
    return problems


# --- Enqueueing jobs by hand ------------------------------------------------------------------

#: Job kinds a user may enqueue from the Jobs page or the API, each for a cloud they manage.
ENQUEUEABLE_JOB_KINDS = {"harvest": "Harvest", "evaluate": "Compliance evaluation"}


def job_kinds_enqueueable_by(user: User) -> dict[str, str]:
    return dict(ENQUEUEABLE_JOB_KINDS) if clouds_managed_by(user).exists() else {}


# --- Exempting findings -----------------------------------------------------------------------
#
# The right to exempt a resource's findings is the right to manage the resource (can_manage_resource):
# the GUI's single and bulk exemptions and the API all ask the functions below.


def resources_managed_by(user: User) -> QuerySet[Resource]:
    """What :func:`can_manage_resource` answers, as one query: the resources whose findings the user may exempt."""
    condition = _cloud_filter(user, manage=True)
    if condition is None:
        return Resource.objects.all()
    managed = Q(cloud__in=CloudAccount.objects.filter(condition))
    if user.access_level == AccessLevel.BASIC and user.organization_id:
        memberships = ResourceGroup.resources.through.objects.filter(
            resourcegroup__in=_roles(user, manage=True).values("resource_groups"),
            resourcegroup__organization_id=user.organization_id,
        )
        managed |= Q(pk__in=memberships.values("resource_id"))
    return Resource.objects.filter(managed)


def may_exempt_findings(user: User) -> bool:
    """Whether to offer exempting at all (each resource is still checked when exempting)."""
    return user.is_authenticated and resources_managed_by(user).exists()


def exemptions_visible_to(user: User) -> QuerySet:
    """Exemptions of the resources the user sees; rule exemptions of the clouds they see; an
    organization-wide rule for the organization's admins (and the domain-wide users)."""
    from compliance.models import Exemption

    if sees_whole_domain(user):
        return Exemption.objects.all()
    visible = Q(resource__in=resources_visible_to(user)) | Q(resource__isnull=True, cloud__in=clouds_visible_to(user))
    if user.access_level == AccessLevel.ORGANIZATION_ADMIN and user.organization_id:
        visible |= Q(organization_id=user.organization_id)
    return Exemption.objects.filter(visible)


def can_manage_exemption(user: User, exemption) -> bool:  # noqa: ANN001
    """Revoke it: whoever may exempt what it covers."""
    if exemption.resource_id:
        return can_manage_resource(user, exemption.resource)
    if exemption.cloud_id:
        return can_manage_cloud(user, exemption.cloud)
    return is_domain_admin(user) or (
        user.access_level == AccessLevel.ORGANIZATION_ADMIN and user.organization_id == exemption.organization_id
    )
