"""Lambda functions: runtime, execution role, resource policy and function URL authentication.

Environment variable values are dropped from ``raw``: they are where people put secrets, and
the inventory is no place for them (their names are kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harvesters.aws.support import UNAVAILABLE, iso, json_safe, known, optional, parse_policy, public_statements
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


def _without_secrets(function: dict) -> dict:
    raw = json_safe(function)
    environment = raw.get("Environment")
    if isinstance(environment, dict) and isinstance(environment.get("Variables"), dict):
        environment["VariableNames"] = sorted(environment.pop("Variables"))
    return raw


def function_urls(client: Any, name: str) -> list[dict] | object:
    """The function's URL configurations (the function's own and its aliases'), UNAVAILABLE when unknown.

    ListFunctionUrlConfigs covers aliases; where an endpoint lacks it (moto), GetFunctionUrlConfig
    still answers for the function itself.
    """
    listed = optional(
        lambda: client.list_function_url_configs(FunctionName=name),
        absent=("ResourceNotFoundException",),
        what="ListFunctionUrlConfigs",
    )
    if listed is not UNAVAILABLE:
        return (listed or {}).get("FunctionUrlConfigs", [])
    single = optional(
        lambda: client.get_function_url_config(FunctionName=name),
        absent=("ResourceNotFoundException",),
        what="GetFunctionUrlConfig",
    )
    if single is UNAVAILABLE:
        return UNAVAILABLE
    return [single] if single else []


@resource_type(
    "aws.lambda.function",
    resource_type="serverless_function",
    service="lambda",
    interval_minutes=30,
    permissions=("lambda:ListFunctions", "lambda:GetPolicy", "lambda:ListFunctionUrlConfigs", "lambda:ListTags"),
)
def collect_functions(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """Lambda functions: runtime, role, resource policy (public when it allows anyone), function URL auth type,
    VPC placement, KMS key for environment variables."""
    client = ctx.client("lambda", region)
    for page in client.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            name = function["FunctionName"]
            arn = function["FunctionArn"]
            policy_response = optional(
                lambda name=name: client.get_policy(FunctionName=name),
                absent=("ResourceNotFoundException",),
                what="GetPolicy",
            )
            urls = function_urls(client, name)
            tags = optional(lambda arn=arn: client.list_tags(Resource=arn), what="ListTags")
            policy = parse_policy((known(policy_response) or {}).get("Policy"))
            url_configs = known(urls) or []
            # The weakest URL decides: one open URL makes the function callable by anyone.
            auth_types = {config.get("AuthType") for config in url_configs}
            url_auth = "NONE" if "NONE" in auth_types else (sorted(auth_types)[0] if auth_types else None)
            reasons = public_statements(policy)
            if url_auth == "NONE":
                reasons.append("function URL requires no authentication")
            properties = {
                "runtime": function.get("Runtime"),  # None for container-image functions
                "public": bool(reasons),
                "policy": policy,
                "url_auth_type": url_auth,
                "role": function.get("Role"),
                # AWS specifics
                "public_reasons": reasons,
                "policy_available": policy_response is not UNAVAILABLE,
                "url_configs_available": urls is not UNAVAILABLE,
                "url": url_configs[0].get("FunctionUrl") if url_configs else None,
                "package_type": function.get("PackageType"),
                "handler": function.get("Handler"),
                "vpc_id": (function.get("VpcConfig") or {}).get("VpcId") or None,
                "kms_key_id": function.get("KMSKeyArn"),
                "tracing": (function.get("TracingConfig") or {}).get("Mode"),
                "environment_variables": sorted((function.get("Environment") or {}).get("Variables") or {}),
                "architectures": function.get("Architectures", []),
                "last_modified_at": iso(function.get("LastModified")),
            }
            yield ResourceRecord(
                resource_type="serverless_function",
                native_type="aws.lambda.function",
                region=region,
                native_id=arn,
                name=name,
                properties=properties,
                raw=_without_secrets(function),
                tags=dict((known(tags) or {}).get("Tags") or {}),
            )
