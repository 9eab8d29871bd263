"""AWS on-demand actions: instance stop/start/reboot, S3 block public access, security group
revoke world-open ingress, IAM access key deactivate.

Each one is offered when the inventory's normalized properties say it applies (``applies_to``),
and still looks at the resource in AWS first (it must still exist and be in the expected state),
changes nothing on a dry run, and maps AWS errors to our error kinds (throttling is transient and
retried by the job; refused credentials fail it). boto3 is imported only when an action runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scheduler.actions import ActionContext, ActionRefused, Condition, action, property_in

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"


def _aws(ctx: ActionContext) -> Any:
    from harvesters.aws.session import connect

    cloud = ctx.cloud
    return connect(cloud.auth_type, cloud.auth_settings or {}, cloud.credentials or {})


def _call(fn: Callable[[], Any], not_found: set[str], gone: str) -> Any:
    """Run an AWS call; a not-found error code becomes ActionRefused, others our error kinds."""
    from harvesters.aws.session import classify, error_code

    try:
        return fn()
    except Exception as exc:
        if error_code(exc) in not_found:
            raise ActionRefused(gone) from None
        raise classify(exc) from None


# --- EC2 instances -----------------------------------------------------------------------

_INSTANCE_NOT_FOUND = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}


def _instance_state(ec2: Any, instance_id: str) -> str:
    reply = _call(
        lambda: ec2.describe_instances(InstanceIds=[instance_id]),
        _INSTANCE_NOT_FOUND,
        f"instance {instance_id} no longer exists",
    )
    instances = [i for r in reply.get("Reservations", []) for i in r.get("Instances", [])]
    if not instances:
        raise ActionRefused(f"instance {instance_id} no longer exists")
    return instances[0]["State"]["Name"]


def _instance_action(ctx: ActionContext, verb: str, expected: set[str], call: str) -> dict:
    instance_id = ctx.resource.native_id.rsplit("/", 1)[-1]  # an ARN or a bare id
    ec2 = _aws(ctx).client("ec2", ctx.resource.region)
    state = _instance_state(ec2, instance_id)
    if state not in expected:
        raise ActionRefused(f"instance {instance_id} is {state}; {verb} needs it {' or '.join(sorted(expected))}")
    if ctx.dry_run:
        return {"changed": False, "would": f"{verb} {instance_id}", "state": state}
    _call(lambda: getattr(ec2, call)(InstanceIds=[instance_id]), _INSTANCE_NOT_FOUND, f"{instance_id} vanished")
    after = _instance_state(ec2, instance_id)
    ctx.log(f"{verb} {instance_id}: {state} -> {after}")
    return {"changed": True, "state_before": state, "state_after": after}


@action(
    "aws.instance.stop",
    resource_types=("aws.ec2.instance",),
    permissions=("ec2:DescribeInstances", "ec2:StopInstances"),
    applies_to=property_in("state", {"running", "pending"}),
)
def stop_instance(ctx: ActionContext) -> dict:
    """Stop a running EC2 instance."""
    return _instance_action(ctx, "stop", {"running", "pending"}, "stop_instances")


@action(
    "aws.instance.start",
    resource_types=("aws.ec2.instance",),
    permissions=("ec2:DescribeInstances", "ec2:StartInstances"),
    applies_to=property_in("state", {"stopped"}),
)
def start_instance(ctx: ActionContext) -> dict:
    """Start a stopped EC2 instance."""
    return _instance_action(ctx, "start", {"stopped"}, "start_instances")


@action(
    "aws.instance.reboot",
    resource_types=("aws.ec2.instance",),
    permissions=("ec2:DescribeInstances", "ec2:RebootInstances"),
    applies_to=property_in("state", {"running"}),
)
def reboot_instance(ctx: ActionContext) -> dict:
    """Reboot a running EC2 instance."""
    return _instance_action(ctx, "reboot", {"running"}, "reboot_instances")


# --- S3 buckets ----------------------------------------------------------------------------


def _not_fully_blocked(properties: dict) -> bool | None:
    blocked = properties.get("public_access_block")
    return None if blocked is None else not blocked


_FULL_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@action(
    "aws.bucket.block_public_access",
    resource_types=("aws.s3.bucket",),
    permissions=("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    applies_to=Condition("the bucket does not block all public access", _not_fully_blocked, "public_access_block"),
)
def block_bucket_public_access(ctx: ActionContext) -> dict:
    """Turn on all four S3 Block Public Access settings of a bucket."""
    from harvesters.aws.session import classify, error_code

    bucket = ctx.resource.name or ctx.resource.native_id.rsplit(":", 1)[-1]
    s3 = _aws(ctx).client("s3", ctx.resource.region)
    _call(
        lambda: s3.head_bucket(Bucket=bucket), {"404", "NoSuchBucket", "NotFound"}, f"bucket {bucket} no longer exists"
    )
    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except Exception as exc:
        if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise classify(exc) from None
        current = {}
    if all(current.get(key) for key in _FULL_BLOCK):
        raise ActionRefused(f"bucket {bucket} already blocks all public access")
    if ctx.dry_run:
        return {"changed": False, "would": f"block public access on {bucket}", "current": current}
    _call(
        lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_FULL_BLOCK),
        {"NoSuchBucket"},
        f"bucket {bucket} vanished",
    )
    ctx.log(f"blocked public access on {bucket}")
    return {"changed": True, "before": current, "after": _FULL_BLOCK}


# --- security groups -------------------------------------------------------------------------


def _world_open(permission: dict, port: int | None) -> dict | None:
    """The part of an ingress permission open to the world (covering ``port`` if given), or None."""
    if port is not None and permission.get("IpProtocol") != "-1":
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if low is None or high is None or not (low <= port <= high):
            return None
    v4 = [r for r in permission.get("IpRanges", []) if r.get("CidrIp") == WORLD_V4]
    v6 = [r for r in permission.get("Ipv6Ranges", []) if r.get("CidrIpv6") == WORLD_V6]
    if not v4 and not v6:
        return None
    keep = {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}
    if v4:
        keep["IpRanges"] = [{"CidrIp": WORLD_V4}]
    if v6:
        keep["Ipv6Ranges"] = [{"CidrIpv6": WORLD_V6}]
    return keep


def _has_world_open_ingress(properties: dict) -> bool | None:
    """On the normalized rules (harvesters/normalized.py RULE_PROPERTIES): any allow rule from anywhere."""
    rules = properties.get("ingress")
    if rules is None:
        return None
    return any(r.get("cidr") in (WORLD_V4, WORLD_V6) and r.get("action", "allow") == "allow" for r in rules)


def _describe_rule(permission: dict) -> str:
    protocol = permission.get("IpProtocol")
    ports = "all ports" if protocol == "-1" else f"{permission.get('FromPort')}-{permission.get('ToPort')}"
    return f"{'all' if protocol == '-1' else protocol} {ports}"


@action(
    "aws.security_group.revoke_world_ingress",
    resource_types=("aws.ec2.security_group",),
    permissions=("ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress"),
    applies_to=Condition("an ingress rule is open to 0.0.0.0/0 or ::/0", _has_world_open_ingress),
)
def revoke_world_ingress(ctx: ActionContext) -> dict:
    """Revoke the ingress rules open to 0.0.0.0/0 or ::/0 (only those covering ``port`` if given)."""
    group_id = ctx.resource.native_id.rsplit("/", 1)[-1]
    port = ctx.params.get("port")
    if port is not None:
        try:
            port = int(port)
        except ValueError:
            raise ActionRefused(f"port must be a number, not {port!r}") from None
    ec2 = _aws(ctx).client("ec2", ctx.resource.region)
    reply = _call(
        lambda: ec2.describe_security_groups(GroupIds=[group_id]),
        {"InvalidGroup.NotFound", "InvalidGroupId.Malformed"},
        f"security group {group_id} no longer exists",
    )
    permissions = reply["SecurityGroups"][0].get("IpPermissions", [])
    world = [p for p in (_world_open(perm, port) for perm in permissions) if p]
    if not world:
        raise ActionRefused(
            f"security group {group_id} has no world-open ingress rule" + (f" on port {port}" if port else "")
        )
    rules = [_describe_rule(p) for p in world]
    if ctx.dry_run:
        return {"changed": False, "would_revoke": rules}
    _call(
        lambda: ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=world),
        {"InvalidGroup.NotFound"},
        f"security group {group_id} vanished",
    )
    ctx.log(f"revoked world-open ingress on {group_id}: {', '.join(rules)}")
    return {"changed": True, "revoked": rules}


# --- IAM access keys ---------------------------------------------------------------------------


def _has_active_key(properties: dict) -> bool | None:
    keys = properties.get("access_keys")
    return None if keys is None else any(key.get("active") for key in keys)


@action(
    "aws.access_key.deactivate",
    resource_types=("aws.iam.user",),
    permissions=("iam:ListAccessKeys", "iam:UpdateAccessKey"),
    parameters=("access_key_id",),
    applies_to=Condition("the user has an active access key", _has_active_key),
)
def deactivate_access_key(ctx: ActionContext) -> dict:
    """Deactivate one access key of an IAM user (the key is kept, so it can be turned on again)."""
    resource = ctx.resource
    user = (resource.raw or {}).get("UserName") or resource.name or resource.native_id.rsplit("/", 1)[-1]
    key_id = ctx.params["access_key_id"]
    iam = _aws(ctx).client("iam")
    keys = _call(lambda: iam.list_access_keys(UserName=user), {"NoSuchEntity"}, f"IAM user {user} no longer exists")
    key = next((k for k in keys.get("AccessKeyMetadata", []) if k["AccessKeyId"] == key_id), None)
    if key is None:
        raise ActionRefused(f"IAM user {user} has no access key {key_id}")
    if key["Status"] != "Active":
        raise ActionRefused(f"access key {key_id} of {user} is already {key['Status'].lower()}")
    if ctx.dry_run:
        return {"changed": False, "would": f"deactivate {key_id} of {user}"}
    _call(
        lambda: iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive"),
        {"NoSuchEntity"},
        f"access key {key_id} vanished",
    )
    ctx.log(f"deactivated access key {key_id} of {user}")
    return {"changed": True, "user": user, "access_key_id": key_id, "status": "Inactive"}
