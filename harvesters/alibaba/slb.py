"""SLB (Classic Load Balancer): address type, listeners and their TLS policies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harvesters.alibaba.common import classified, iso, listed, tags_of
from harvesters.alibaba.driver import AlibabaContext, pages_by_number, rpc
from harvesters.base import ResourceRecord, resource_type


@resource_type(
    "alibaba.slb.load_balancer",
    resource_type="load_balancer",
    service="slb",
    permissions=(
        "slb:DescribeLoadBalancers",
        "slb:DescribeLoadBalancerAttribute",
        "slb:DescribeLoadBalancerHTTPSListenerAttribute",
    ),
)
@classified
def collect_load_balancers(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """SLB instances with every listener, its protocol, TLS cipher policy and certificate."""
    for page in pages_by_number(ctx, rpc("slb", "DescribeLoadBalancers"), region, ("LoadBalancers", "LoadBalancer")):

        def build(lb: Any) -> ResourceRecord:
            lb_id = lb["LoadBalancerId"]
            attribute = ctx.call(rpc("slb", "DescribeLoadBalancerAttribute")(), region, LoadBalancerId=lb_id)
            listeners = []
            for item in listed(attribute.get("ListenerPortsAndProtocol"), "ListenerPortAndProtocol"):
                protocol = str(item.get("ListenerProtocol", "")).lower()
                listener = {
                    "protocol": protocol,
                    "port": item.get("ListenerPort"),
                    "tls_policy": None,
                    "certificate": None,
                }
                if protocol == "https":
                    https = ctx.call(
                        rpc("slb", "DescribeLoadBalancerHTTPSListenerAttribute")(),
                        region,
                        LoadBalancerId=lb_id,
                        ListenerPort=item.get("ListenerPort"),
                    )
                    listener["tls_policy"] = https.get("TLSCipherPolicy") or None
                    listener["certificate"] = https.get("ServerCertificateId") or None
                listeners.append(listener)
            tls_policies = sorted({x["tls_policy"] for x in listeners if x["tls_policy"]})
            properties = {
                "scheme": "internet-facing" if lb.get("AddressType") == "internet" else "internal",
                "listeners": listeners,
                "https_only": bool(listeners) and not any(x["protocol"] == "http" for x in listeners),
                # Cipher policy names sort from the oldest TLS version up: the first is the weakest.
                "tls_policy": tls_policies[0] if tls_policies else None,
                "logging_enabled": None,
                "address": lb.get("Address"),
                "network_id": lb.get("VpcId") or None,
                "status": lb.get("LoadBalancerStatus"),
                "created_at": iso(lb.get("CreateTime")),
            }
            return ResourceRecord(
                resource_type="load_balancer",
                native_type="alibaba.slb.load_balancer",
                region=region,
                native_id=lb_id,
                name=lb.get("LoadBalancerName") or lb_id,
                properties=properties,
                raw={**lb, "Attribute": attribute},
                tags=tags_of(lb),
            )

        yield from ctx.map(build, page)
