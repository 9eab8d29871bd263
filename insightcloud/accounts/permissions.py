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


def _granted(user: User, resource_field: str, *, manage: bool) -> Q | None:
    """Rows of granted clouds, or of resources in resource groups a role grants; None for 'all of them'."""
    condition = _cloud_filter(user, manage=manage)
    if condition is None:
        return None
    granted = Q(cloud__in=CloudAccount.objects.filter(condition))
    if user.access_level == AccessLevel.BASIC and user.organization_id:
        # A subquery, not a join, so a resource in two granted groups is listed once.
        memberships = ResourceGroup.resources.through.objects.filter(
            resourcegroup__in=_roles(user, manage=manage).values("resource_groups"),
            resourcegroup__organization_id=user.organization_id,
        )
        granted |= Q(**{f"{resource_field}__in": memberships.values("resource_id")})
    return granted


def _resources_granted(user: User, *, manage: bool) -> QuerySet[Resource]:
    granted = _granted(user, "pk", manage=manage)
    return Resource.objects.all() if granted is None else Resource.objects.filter(granted)


def resources_visible_to(user: User) -> QuerySet[Resource]:
    return _resources_granted(user, manage=False)


def resources_managed_by(user: User) -> QuerySet[Resource]:
    """The resources this user may act on (run actions, exempt, put in resource groups)."""
    return _resources_granted(user, manage=True)


def findings_visible_to(user: User) -> QuerySet:
    """Findings (open, resolved, exempted) of the resources the user may see."""
    from compliance.models import Finding

    visible = _granted(user, "resource_id", manage=False)
    return Finding.objects.all() if visible is None else Finding.objects.filter(visible)


def pack_results_visible_to(user: User, model: type, packs: dict) -> QuerySet:
    """Rows of ``model`` (Scorecard, DailyScore) for these packs on the clouds the user sees.

    ``packs`` are the user's (compliance.library.packs_for): a custom pack counts only on its own
    organization's clouds, since another organization's custom pack of the same id is another pack.
    """
    builtin = [pack_id for pack_id, pack in packs.items() if pack.source != "custom"]
    custom = [pack_id for pack_id, pack in packs.items() if pack.source == "custom"]
    of_packs = Q(pack_id__in=builtin) | Q(pack_id__in=custom, cloud__organization_id=user.organization_id)
    return model.objects.filter(of_packs, cloud__in=clouds_visible_to(user))


# --- Exempting findings -----------------------------------------------------------------------
#
# The right to exempt a resource's findings is the right to manage the resource (can_manage_resource,
# resources_managed_by): the GUI's single and bulk exemptions and the API all ask these functions.


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


def can_set_cloud_endpoints(user: User) -> bool:
    """Custom endpoints (AWS-compatible, Apsara Stack, private GCP/Azure) make the server connect to
    any address: domain admins only, unless INSIGHTCLOUD_CLOUD_ENDPOINTS lets every cloud manager."""
    from django.conf import settings

    return is_domain_admin(user) or settings.CLOUD_ENDPOINTS == "cloud-managers"


# --- Custom insights and packs --------------------------------------------------------------


def can_edit_insights(user: User) -> bool:
    """Create, edit and delete the organization's custom insights and packs.

    A custom insight applies to every cloud of the organization, so a basic user needs a managing
    role over all of its clouds; domain viewers never edit.
    """
    if not user.is_authenticated or user.organization_id is None:
        return False
    if is_domain_admin(user) or user.access_level == AccessLevel.ORGANIZATION_ADMIN:
        return True
    if user.access_level != AccessLevel.BASIC:
        return False
    return _roles(user, manage=True).filter(all_clouds=True).exists()


def custom_insights_visible_to(user: User) -> QuerySet:
    """The user's organization's custom insights (custom insights of other organizations: 404)."""
    from compliance.models import CustomInsight

    return CustomInsight.objects.filter(organization_id=user.organization_id)


def custom_packs_visible_to(user: User) -> QuerySet:
    from compliance.models import CustomPack

    return CustomPack.objects.filter(organization_id=user.organization_id)
