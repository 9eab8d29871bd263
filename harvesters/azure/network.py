"""Network security groups (rules normalized like AWS security groups), virtual networks, subnets, flow logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from harvesters.azure.common import harvest_errors, in_region, location, lower_id, props, record, ref_id
from harvesters.azure.session import AzureContext, items, pages, parse_id
from harvesters.base import ResourceRecord, resource_type

#: NSG source/destination words that mean "anywhere".
ANYWHERE = {"*", "internet", "any", "0.0.0.0/0", "0.0.0.0"}
_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "*": "all", "any": "all"}


def _ports(value: str) -> tuple[int | None, int | None]:
    value = (value or "*").strip()
    if value in ("*", "0-65535"):
        return None, None
    low, _, high = value.partition("-")
    return int(low), int(high or low)


def _address(prefix: str) -> tuple[str | None, str | None]:
    """(cidr, service_tag) for an NSG address prefix: '*'/'Internet' -> 0.0.0.0/0, tags stay tags."""
    text = (prefix or "*").strip()
    if text.lower() in ANYWHERE:
        return "0.0.0.0/0", None
    try:
        return str(ipaddress.ip_network(text, strict=False)), None
    except ValueError:
        return None, text  # a service tag: VirtualNetwork, AzureLoadBalancer, Storage …


def normalize_rule(rule: dict, *, default: bool = False) -> list[dict]:
    """One NSG rule as normalized rules: one per (address prefix, port range), like an AWS permission."""
    p = props(rule)
    inbound = (p.get("direction") or "Inbound").lower() == "inbound"
    if inbound:
        prefixes = p.get("sourceAddressPrefixes") or [p.get("sourceAddressPrefix") or "*"]
        groups = p.get("sourceApplicationSecurityGroups") or []
    else:
        prefixes = p.get("destinationAddressPrefixes") or [p.get("destinationAddressPrefix") or "*"]
        groups = p.get("destinationApplicationSecurityGroups") or []
    ranges = p.get("destinationPortRanges") or [p.get("destinationPortRange") or "*"]
    protocol = _PROTOCOLS.get((p.get("protocol") or "*").lower(), (p.get("protocol") or "").lower())
    common = {
        "protocol": protocol,
        "action": "allow" if (p.get("access") or "Allow").lower() == "allow" else "deny",
        "description": p.get("description") or None,
        "name": rule.get("name"),
        "priority": p.get("priority"),
        "default_rule": default,
    }
    out = []
    for port_range in ranges:
        from_port, to_port = (None, None) if protocol in ("icmp", "all") and port_range == "*" else _ports(port_range)
        for prefix in prefixes:
            cidr, tag = _address(prefix)
            out.append(
                {
                    **common,
                    "from_port": from_port,
                    "to_port": to_port,
                    "cidr": cidr,
                    "service_tag": tag,
                    "source_group": None,
                }
            )
        for group in groups:
            out.append(
                {
                    **common,
                    "from_port": from_port,
                    "to_port": to_port,
                    "cidr": None,
                    "service_tag": None,
                    "source_group": ref_id(group),
                }
            )
    return out


def _rules(body: dict, direction: str) -> list[dict]:
    p = props(body)
    rules: list[dict] = []
    for default, key in ((False, "securityRules"), (True, "defaultSecurityRules")):
        chosen = [r for r in p.get(key) or [] if (props(r).get("direction") or "").lower() == direction]
        for rule in sorted(chosen, key=lambda r: props(r).get("priority") or 0):
            rules.extend(normalize_rule(rule, default=default))
    return rules


def flow_log_targets(ctx: AzureContext, region: str) -> set[str]:
    """Lower-cased ids of the NSGs, VNets and subnets with an enabled flow log in ``region``."""
    client = ctx.client("network")
    targets: set[str] = set()
    for watcher in in_region(items(client.network_watchers.list_all()), region):
        group = parse_id(watcher["id"])["resource_group"]
        for flow_log in items(client.flow_logs.list(group, watcher["name"])):
            if props(flow_log).get("enabled"):
                targets.add(lower_id(props(flow_log).get("targetResourceId")) or "")
    return targets


@resource_type(
    "azure.network.security_group",
    resource_type="security_group",
    service="network",
    permissions=("Microsoft.Network/networkSecurityGroups/read", "Microsoft.Network/networkWatchers/flowLogs/read"),
)
@harvest_errors
def collect_security_groups(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Network security groups with their rules (custom then default, by priority) normalized like AWS's."""
    flow_logged = flow_log_targets(ctx, region)
    for page in pages(ctx.client("network").network_security_groups.list_all()):
        for body in in_region(page, region):
            p = props(body)
            yield record(
                "security_group",
                "azure.network.security_group",
                region,
                body,
                {
                    "description": None,
                    "network_id": None,  # an NSG is attached to subnets and NICs, not to one VNet
                    "ingress": _rules(body, "inbound"),
                    "egress": _rules(body, "outbound"),
                    "is_default": False,
                    "subnets": sorted(ref_id(s) or "" for s in p.get("subnets") or []),
                    "network_interfaces": sorted(ref_id(n) or "" for n in p.get("networkInterfaces") or []),
                    "flow_logs_enabled": lower_id(body["id"]) in flow_logged,
                },
            )


@resource_type(
    "azure.network.virtual_network",
    resource_type="network",
    service="network",
    permissions=("Microsoft.Network/virtualNetworks/read", "Microsoft.Network/networkWatchers/flowLogs/read"),
)
@harvest_errors
def collect_virtual_networks(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Virtual networks: address space, peerings, DDoS protection and VNet flow logs."""
    flow_logged = flow_log_targets(ctx, region)
    for page in pages(ctx.client("network").virtual_networks.list_all()):
        for body in in_region(page, region):
            p = props(body)
            yield record(
                "network",
                "azure.network.virtual_network",
                region,
                body,
                {
                    "cidr_blocks": list((p.get("addressSpace") or {}).get("addressPrefixes") or []),
                    "is_default": False,
                    "flow_logs_enabled": lower_id(body["id"]) in flow_logged,
                    "ddos_protection_enabled": bool(p.get("enableDdosProtection")),
                    "peerings": sorted(
                        ref_id(props(x).get("remoteVirtualNetwork")) or ""
                        for x in p.get("virtualNetworkPeerings") or []
                    ),
                    "subnet_count": len(p.get("subnets") or []),
                },
            )


@resource_type(
    "azure.network.subnet",
    resource_type="subnet",
    service="network",
    permissions=("Microsoft.Network/virtualNetworks/read", "Microsoft.Network/networkWatchers/flowLogs/read"),
)
@harvest_errors
def collect_subnets(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Subnets of every virtual network: NSG, service endpoints, and flow logs (their own, VNet's or NSG's)."""
    flow_logged = flow_log_targets(ctx, region)
    for page in pages(ctx.client("network").virtual_networks.list_all()):
        for vnet in in_region(page, region):
            vnet_id = lower_id(vnet["id"])
            for subnet in props(vnet).get("subnets") or []:
                p = props(subnet)
                prefixes = p.get("addressPrefixes") or ([p["addressPrefix"]] if p.get("addressPrefix") else [])
                nsg = ref_id(p.get("networkSecurityGroup"))
                body = {**subnet, "location": location(vnet)}
                yield record(
                    "subnet",
                    "azure.network.subnet",
                    region,
                    body,
                    {
                        "network_id": vnet_id,
                        "cidr_block": prefixes[0] if prefixes else None,
                        "cidr_blocks": prefixes,
                        "maps_public_ip_on_launch": False,  # Azure never assigns public IPs by subnet
                        "flow_logs_enabled": bool({lower_id(subnet.get("id")), vnet_id, nsg} & flow_logged),
                        "private_access_enabled": bool(p.get("serviceEndpoints") or p.get("privateEndpoints")),
                        "security_group": nsg,
                        "service_endpoints": sorted(e.get("service", "") for e in p.get("serviceEndpoints") or []),
                        "default_outbound_access": p.get("defaultOutboundAccess"),
                    },
                )
