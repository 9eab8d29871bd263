"""The GCP cloud driver: connect a CloudAccount (one project), list its regions, classify errors.

googleapiclient, google-auth and httplib2 are imported only when a driver method runs (through
harvesters.gcp.session), so registering the driver does not load them in the interface server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvesters.base import HarvestError, InvalidCredentials, cloud_driver

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext

AUTH_TYPE = "service_account_key"


def list_regions(ctx: GcpContext, project_id: str | None = None) -> list[str]:
    """Compute Engine regions that are up for the project (the context's, or ``project_id``)."""
    project = project_id or ctx.project_id
    regions = ctx.items(ctx.api("compute").regions().list, "items", project=project, maxResults=500)
    return sorted(r["name"] for r in regions if r.get("status", "UP") == "UP")


@cloud_driver("gcp")
class GcpDriver:
    """Service-account key credentials; one CloudAccount per project."""

    provider = "gcp"

    def connect(self, cloud: Any) -> GcpContext:
        from harvesters.gcp import session

        if cloud.auth_type != AUTH_TYPE:
            raise InvalidCredentials(f"unsupported GCP auth type {cloud.auth_type!r}; expected {AUTH_TYPE}")
        return session.connect(cloud.account_id, dict(cloud.auth_settings or {}), dict(cloud.credentials or {}))

    def regions(self, ctx: GcpContext) -> list[str]:
        return list_regions(ctx)

    def is_transient(self, exc: BaseException) -> bool:
        from harvesters.gcp import session

        return session.is_transient(exc)

    def classify(self, exc: BaseException) -> HarvestError:
        from harvesters.gcp import session

        return session.classify(exc)
