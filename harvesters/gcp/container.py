"""GKE clusters: legacy ABAC, private endpoint, network policy, logging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.base import ResourceRecord, TransientError, resource_type
from harvesters.gcp.common import region_of_zone, utc_iso

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only


def _by_region(ctx: GcpContext) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    clusters = ctx.api("container").projects().locations().clusters()
    # "locations/-" lists every zone and region at once; the API does not page.
    response = ctx.execute(clusters.list(parent=f"projects/{ctx.project_id}/locations/-"))
    if response.get("missingZones"):
        raise TransientError(f"GKE could not list zones {', '.join(response['missingZones'][:5])}")
    for cluster in response.get("clusters") or []:
        grouped.setdefault(region_of_zone(cluster.get("location") or cluster.get("zone") or ""), []).append(cluster)
    return grouped


def logging_enabled(cluster: dict) -> bool:
    components = ((cluster.get("loggingConfig") or {}).get("componentConfig") or {}).get("enableComponents")
    if components is not None:
        return bool(components)
    return cluster.get("loggingService") not in (None, "", "none")


@resource_type(
    "gcp.container.cluster",
    resource_type="container_cluster",
    service="container",
    permissions=("container.clusters.list",),
)
def collect_clusters(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """GKE clusters (zonal and regional): legacy ABAC, private endpoint, network policy, logging, basic auth."""
    for cluster in ctx.regional("container.clusters", lambda: _by_region(ctx), region):
        private = cluster.get("privateClusterConfig") or {}
        authorized = cluster.get("masterAuthorizedNetworksConfig") or {}
        master_auth = cluster.get("masterAuth") or {}
        legacy_abac = bool((cluster.get("legacyAbac") or {}).get("enabled"))
        dataplane_v2 = (cluster.get("networkConfig") or {}).get("datapathProvider") == "ADVANCED_DATAPATH"
        location = cluster.get("location") or cluster.get("zone")
        properties = {
            "version": cluster.get("currentMasterVersion"),
            "endpoint_public": not private.get("enablePrivateEndpoint"),
            "logging_enabled": logging_enabled(cluster),
            # Kubernetes RBAC is always on in GKE; legacy ABAC grants around it.
            "rbac_enabled": not legacy_abac,
            "network_policy_enabled": bool((cluster.get("networkPolicy") or {}).get("enabled")) or dataplane_v2,
            # GCP-specific
            "location": location,
            "legacy_abac_enabled": legacy_abac,
            "private_nodes": bool(private.get("enablePrivateNodes")),
            "master_authorized_networks": (
                [c.get("cidrBlock") for c in authorized.get("cidrBlocks") or []] if authorized.get("enabled") else None
            ),
            "basic_auth_enabled": bool(master_auth.get("username")),
            "client_certificate_enabled": bool(
                (master_auth.get("clientCertificateConfig") or {}).get("issueClientCertificate")
            ),
            "monitoring_enabled": cluster.get("monitoringService") not in (None, "", "none")
            or bool((cluster.get("monitoringConfig") or {}).get("componentConfig", {}).get("enableComponents")),
            "shielded_nodes": bool((cluster.get("shieldedNodes") or {}).get("enabled")),
            "workload_identity": bool((cluster.get("workloadIdentityConfig") or {}).get("workloadPool")),
            "binary_authorization": (cluster.get("binaryAuthorization") or {}).get("evaluationMode"),
            "network": cluster.get("network"),
            "status": cluster.get("status"),
            "created_at": utc_iso(cluster.get("createTime")),
        }
        yield ResourceRecord(
            resource_type="container_cluster",
            native_type="gcp.container.cluster",
            region=region,
            native_id=f"projects/{ctx.project_id}/locations/{location}/clusters/{cluster['name']}",
            name=cluster["name"],
            properties=properties,
            raw=cluster,
            tags=dict(cluster.get("resourceLabels") or {}),
        )
