"""Load balancers: application/network/gateway (ELBv2) and classic (ELB), with listeners and TLS policies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harvesters.aws.support import UNAVAILABLE, iso, json_safe, known, optional, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

_SECURE = {"HTTPS", "TLS", "SSL"}
_TAG_BATCH = 20  # DescribeTags takes at most 20 load balancers


def _redirects_to_https(listener: dict) -> bool:
    return any(
        action.get("Type") == "redirect" and (action.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
        for action in listener.get("DefaultActions", [])
    )


def _v2_tags(elb: Any, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), _TAG_BATCH):
        response = optional(lambda start=start: elb.describe_tags(ResourceArns=arns[start : start + _TAG_BATCH]))
        for description in (known(response) or {}).get("TagDescriptions", []):
            tags[description["ResourceArn"]] = tags_from_list(description.get("Tags"))
    return tags


@resource_type(
    "aws.elbv2.load_balancer",
    resource_type="load_balancer",
    service="elbv2",
    interval_minutes=30,
    permissions=(
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
)
def collect_v2_load_balancers(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """Application, network and gateway load balancers: scheme, listeners (protocol, port, TLS policy,
    certificate), HTTPS-only, access logging, deletion protection."""
    elb = ctx.client("elbv2", region)
    for page in elb.get_paginator("describe_load_balancers").paginate():
        balancers = page.get("LoadBalancers", [])
        tags = _v2_tags(elb, [lb["LoadBalancerArn"] for lb in balancers])
        for lb in balancers:
            arn = lb["LoadBalancerArn"]
            listeners = []
            try:
                for listener_page in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=arn):
                    listeners.extend(listener_page.get("Listeners", []))
            except elb.exceptions.LoadBalancerNotFoundException:
                continue  # deleted between the listing and now
            attributes = optional(
                lambda arn=arn: elb.describe_load_balancer_attributes(LoadBalancerArn=arn),
                what="DescribeLoadBalancerAttributes",
            )
            attribute_map = {a["Key"]: a.get("Value") for a in (known(attributes) or {}).get("Attributes", [])}
            normalized = [
                {
                    "protocol": listener.get("Protocol"),
                    "port": listener.get("Port"),
                    # only TLS listeners have a policy (moto gives plain HTTP ones a default too)
                    "tls_policy": listener.get("SslPolicy") if listener.get("Protocol") in _SECURE else None,
                    "certificate": next(iter(listener.get("Certificates") or []), {}).get("CertificateArn"),
                    "redirects_to_https": _redirects_to_https(listener),
                }
                for listener in sorted(listeners, key=lambda item: item.get("Port") or 0)
            ]
            policies = sorted({item["tls_policy"] for item in normalized if item["tls_policy"]})
            properties = {
                "scheme": lb.get("Scheme"),
                "listeners": normalized,
                "https_only": bool(normalized)
                and all(item["protocol"] in _SECURE or item["redirects_to_https"] for item in normalized),
                "tls_policy": policies[0] if policies else None,
                "logging_enabled": None
                if attributes is UNAVAILABLE
                else attribute_map.get("access_logs.s3.enabled") == "true",
                # AWS specifics
                "type": lb.get("Type"),
                "tls_policies": policies,
                "dns_name": lb.get("DNSName"),
                "network_id": lb.get("VpcId"),
                "security_groups": lb.get("SecurityGroups", []),
                "deletion_protection": attribute_map.get("deletion_protection.enabled") == "true"
                if attribute_map
                else None,
                "drops_invalid_headers": attribute_map.get("routing.http.drop_invalid_header_fields.enabled") == "true"
                if "routing.http.drop_invalid_header_fields.enabled" in attribute_map
                else None,
                "created_at": iso(lb.get("CreatedTime")),
            }
            raw = json_safe(lb)
            raw["Listeners"] = json_safe(listeners)
            raw["Attributes"] = attribute_map
            raw.pop("State", None)  # provisioning/active transitions are not configuration
            yield ResourceRecord(
                resource_type="load_balancer",
                native_type="aws.elbv2.load_balancer",
                region=region,
                native_id=arn,
                name=lb["LoadBalancerName"],
                properties=properties,
                raw=raw,
                tags=tags.get(arn, {}),
            )


def _classic_tls_policy(elb: Any, name: str, policy_names: list[str]) -> str | None | object:
    """The predefined security policy (``Reference-Security-Policy``) behind a listener's SSL negotiation policy."""
    if not policy_names:
        return None
    response = optional(
        lambda: elb.describe_load_balancer_policies(LoadBalancerName=name, PolicyNames=policy_names),
        what="DescribeLoadBalancerPolicies",
    )
    if response is UNAVAILABLE:
        return UNAVAILABLE
    for policy in (response or {}).get("PolicyDescriptions", []):
        if policy.get("PolicyTypeName") not in (None, "SSLNegotiationPolicyType"):
            continue
        for attribute in policy.get("PolicyAttributeDescriptions", []):
            if attribute.get("AttributeName") == "Reference-Security-Policy":
                return attribute.get("AttributeValue")
        if policy.get("PolicyTypeName") == "SSLNegotiationPolicyType":
            return policy.get("PolicyName")  # a custom cipher list: its own name is all there is
    return None


@resource_type(
    "aws.elb.load_balancer",
    resource_type="load_balancer",
    service="elb",
    interval_minutes=30,
    permissions=(
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerPolicies",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
)
def collect_classic_load_balancers(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """Classic load balancers: scheme, listeners with their SSL security policy and certificate, HTTPS-only,
    access logging."""
    elb = ctx.client("elb", region)
    for page in elb.get_paginator("describe_load_balancers").paginate():
        balancers = page.get("LoadBalancerDescriptions", [])
        names = [lb["LoadBalancerName"] for lb in balancers]
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(names), _TAG_BATCH):
            response = optional(
                lambda start=start, names=names: elb.describe_tags(LoadBalancerNames=names[start : start + _TAG_BATCH])
            )
            for description in (known(response) or {}).get("TagDescriptions", []):
                tags[description["LoadBalancerName"]] = tags_from_list(description.get("Tags"))
        for lb in balancers:
            name = lb["LoadBalancerName"]
            listeners = []
            for description in lb.get("ListenerDescriptions", []):
                listener = description.get("Listener", {})
                secure = listener.get("Protocol", "").upper() in _SECURE
                policy = _classic_tls_policy(elb, name, description.get("PolicyNames", [])) if secure else None
                listeners.append(
                    {
                        "protocol": listener.get("Protocol", "").upper(),
                        "port": listener.get("LoadBalancerPort"),
                        "tls_policy": known(policy),
                        "certificate": listener.get("SSLCertificateId"),
                        "instance_protocol": listener.get("InstanceProtocol"),
                        "instance_port": listener.get("InstancePort"),
                    }
                )
            listeners.sort(key=lambda item: item["port"] or 0)
            attributes = optional(
                lambda name=name: elb.describe_load_balancer_attributes(LoadBalancerName=name),
                what="DescribeLoadBalancerAttributes",
            )
            lb_attributes = (known(attributes) or {}).get("LoadBalancerAttributes", {})
            policies = sorted({item["tls_policy"] for item in listeners if item["tls_policy"]})
            properties = {
                "scheme": lb.get("Scheme"),
                "listeners": listeners,
                "https_only": bool(listeners) and all(item["protocol"] in _SECURE for item in listeners),
                "tls_policy": policies[0] if policies else None,
                "logging_enabled": None
                if attributes is UNAVAILABLE
                else bool((lb_attributes.get("AccessLog") or {}).get("Enabled")),
                # AWS specifics
                "type": "classic",
                "tls_policies": policies,
                "dns_name": lb.get("DNSName"),
                "network_id": lb.get("VPCId"),
                "security_groups": lb.get("SecurityGroups", []),
                "instances": sorted(i["InstanceId"] for i in lb.get("Instances", [])),
                "cross_zone": (lb_attributes.get("CrossZoneLoadBalancing") or {}).get("Enabled"),
                "connection_draining": (lb_attributes.get("ConnectionDraining") or {}).get("Enabled"),
                "created_at": iso(lb.get("CreatedTime")),
            }
            raw = json_safe(lb)
            raw["Attributes"] = json_safe(lb_attributes)
            yield ResourceRecord(
                resource_type="load_balancer",
                native_type="aws.elb.load_balancer",
                region=region,
                native_id=f"arn:{ctx.partition}:elasticloadbalancing:{region}:{ctx.account_id}:loadbalancer/{name}",
                name=name,
                properties=properties,
                raw=raw,
                tags=tags.get(name, {}),
            )
