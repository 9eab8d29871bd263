"""AKS clusters: Kubernetes RBAC, private API server, network policy, monitoring."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import harvest_errors, in_region, props, record
from harvesters.azure.session import AzureContext, pages
from harvesters.base import ResourceRecord, resource_type


@resource_type(
    "azure.containerservice.managed_cluster",
    resource_type="container_cluster",
    service="containerservice",
    permissions=("Microsoft.ContainerService/managedClusters/read",),
)
@harvest_errors
def collect_managed_clusters(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """AKS clusters: version, RBAC and Entra integration, private or IP-restricted API server, network policy."""
    for page in pages(ctx.client("containerservice").managed_clusters.list()):
        for body in in_region(page, region):
            p = props(body)
            api = p.get("apiServerAccessProfile") or {}
            network = p.get("networkProfile") or {}
            addons = p.get("addonProfiles") or {}
            monitoring = bool((addons.get("omsagent") or addons.get("omsAgent") or {}).get("enabled")) or bool(
                ((p.get("azureMonitorProfile") or {}).get("metrics") or {}).get("enabled")
            )
            policy = network.get("networkPolicy")
            aad = p.get("aadProfile") or {}
            yield record(
                "container_cluster",
                "azure.containerservice.managed_cluster",
                region,
                body,
                {
                    "version": p.get("kubernetesVersion") or p.get("currentKubernetesVersion"),
                    "endpoint_public": not api.get("enablePrivateCluster"),
                    "logging_enabled": monitoring,
                    "rbac_enabled": bool(p.get("enableRBAC")),
                    "network_policy_enabled": bool(policy) and str(policy).lower() != "none",
                    "network_policy": policy,
                    "network_plugin": network.get("networkPlugin"),
                    "private_cluster": bool(api.get("enablePrivateCluster")),
                    "authorized_ip_ranges": list(api.get("authorizedIPRanges") or []),
                    "aad_enabled": bool(aad),
                    "azure_rbac_enabled": bool(aad.get("enableAzureRBAC")),
                    "local_accounts_disabled": bool(p.get("disableLocalAccounts")),
                    "fqdn": p.get("fqdn"),
                },
            )
