"""The project itself (cloud_account): IAM bindings, primitive roles, public members, audit config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.base import PermissionDenied, ResourceRecord, resource_type
from harvesters.gcp.common import PRIMITIVE_ROLES, PUBLIC_MEMBERS, bindings, metadata_items, truthy, utc_iso
from harvesters.gcp.iam import project_policy

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only

_DATA_ACCESS = {"DATA_READ", "DATA_WRITE"}


def audit_configs(policy: dict) -> list[dict]:
    return [
        {
            "service": config.get("service"),
            "log_types": sorted(c.get("logType", "") for c in config.get("auditLogConfigs") or []),
            "exempted_members": sorted(
                {m for c in config.get("auditLogConfigs") or [] for m in c.get("exemptedMembers") or []}
            ),
        }
        for config in policy.get("auditConfigs") or []
    ]


def _os_login(ctx: GcpContext) -> bool | None:
    try:
        project = ctx.execute(ctx.api("compute").projects().get(project=ctx.project_id))
    except PermissionDenied:
        return None  # Compute Engine API not enabled (or not readable): no project-wide metadata
    return bool(truthy(metadata_items(project.get("commonInstanceMetadata")).get("enable-oslogin")))


@resource_type(
    "gcp.resourcemanager.project",
    resource_type="cloud_account",
    service="cloudresourcemanager",
    scope="global",
    permissions=("resourcemanager.projects.get", "resourcemanager.projects.getIamPolicy", "compute.projects.get"),
)
def collect_project(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """The project: IAM policy bindings (primitive roles, allUsers/allAuthenticatedUsers), audit logging config."""
    project = ctx.execute(ctx.api("cloudresourcemanager").projects().get(name=f"projects/{ctx.project_id}"))
    policy = project_policy(ctx)
    iam_bindings = bindings(policy)
    configs = audit_configs(policy)
    all_services = next((c for c in configs if c["service"] == "allServices"), None)
    properties = {
        "password_policy": None,
        "root_mfa_enabled": None,
        "root_access_keys_present": None,
        "root_last_used_at": None,
        "public_access_block": None,
        "iam_bindings": iam_bindings,
        "security_center": None,
        # GCP-specific
        "project_number": project.get("name", "").rsplit("/", 1)[-1],
        "state": project.get("state"),
        "parent": project.get("parent"),
        "public_members": [
            {"role": b["role"], "member": m} for b in iam_bindings for m in b["members"] if m in PUBLIC_MEMBERS
        ],
        "primitive_role_bindings": [b for b in iam_bindings if b["role"] in PRIMITIVE_ROLES],
        "service_accounts_with_primitive_roles": sorted(
            {
                m.split(":", 1)[1]
                for b in iam_bindings
                if b["role"] in ("roles/owner", "roles/editor")
                for m in b["members"]
                if m.startswith("serviceAccount:")
            }
        ),
        "audit_configs": configs,
        # CIS GCP 2.1: data-access audit logs for every service, with no one exempted.
        "data_access_logging_all_services": bool(
            all_services and set(all_services["log_types"]) >= _DATA_ACCESS and not all_services["exempted_members"]
        ),
        "os_login_enabled": _os_login(ctx),
        "created_at": utc_iso(project.get("createTime")),
    }
    yield ResourceRecord(
        resource_type="cloud_account",
        native_type="gcp.resourcemanager.project",
        region=region,
        native_id=f"projects/{ctx.project_id}",
        name=project.get("displayName") or ctx.project_id,
        properties=properties,
        raw={"project": project, "iam_policy": policy},
        tags=dict(project.get("labels") or {}),
    )
