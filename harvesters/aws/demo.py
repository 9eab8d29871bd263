"""The demo cloud of ``manage.py testdrive --demo``: a moto server with a small AWS estate.

The estate has a few deliberate misconfigurations, each beside a well-configured twin, so a new
user sees findings at once: a security group open to the world on SSH (and one open to an
office range), a public bucket (and a private, encrypted, versioned one), an unencrypted EBS
volume, a public snapshot, an IAM user without MFA (and one with), an instance without IMDSv2,
a KMS key without rotation. moto is the optional ``[demo]`` extra, not needed in production.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

DEMO_CLOUD_NAME = "Demo AWS"
DEMO_REGIONS = ["us-east-1", "eu-west-1"]
# moto accepts any keys; these are obviously not real ones.
DEMO_CREDENTIALS = {"access_key_id": "AKIADEMODEMODEMODEMO", "secret_access_key": "demo-secret-not-a-real-key"}
MOTO_AMI = "ami-03cf127a"  # one of moto's built-in images


class DemoUnavailable(Exception):
    """moto is not installed (the optional [demo] extra)."""


@dataclass
class DemoServer:
    server: Any
    endpoint_url: str

    def stop(self) -> None:
        self.server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server() -> DemoServer:
    """A moto server in this process, on 127.0.0.1 and a free port."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise DemoUnavailable(
            "the demo cloud needs moto: pip install 'insightcloud[demo]' (moto[server]), then run again"
        ) from None
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return DemoServer(server, f"http://127.0.0.1:{port}")


def _client(endpoint_url: str, service: str, region: str = "us-east-1") -> Any:
    import boto3

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )


def _tags(name: str, **extra: str) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}] + [{"Key": key, "Value": value} for key, value in extra.items()]


def create_public_bucket(s3: Any, bucket: str) -> None:
    """A bucket anyone may read: a public-read ACL and a policy allowing everyone GetObject."""
    s3.create_bucket(Bucket=bucket, ACL="public-read")
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def seed(endpoint_url: str) -> dict[str, Any]:
    """Create the demo estate in the moto server at ``endpoint_url``; returns the ids made."""
    made: dict[str, Any] = {}
    ec2 = _client(endpoint_url, "ec2")
    s3 = _client(endpoint_url, "s3")
    iam = _client(endpoint_url, "iam")
    kms = _client(endpoint_url, "kms")
    account = _client(endpoint_url, "sts").get_caller_identity()["Account"]

    # Network: a VPC with flow logs and a subnet.
    logs_bucket = f"demo-flow-logs-{account}"
    s3.create_bucket(Bucket=logs_bucket)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags("demo")}])
    made["vpc"] = vpc = vpc["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{logs_bucket}",
    )
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    made["subnet"] = subnet = subnet["SubnetId"]

    # Security groups: SSH from the world (bad) and from an office range (good).
    open_ssh = ec2.create_security_group(GroupName="ssh-open-to-world", Description="SSH from anywhere", VpcId=vpc)
    office_ssh = ec2.create_security_group(GroupName="ssh-from-office", Description="SSH from the office", VpcId=vpc)
    made["sg_open"], made["sg_office"] = open_ssh["GroupId"], office_ssh["GroupId"]
    for group, cidr in ((made["sg_open"], "0.0.0.0/0"), (made["sg_office"], "203.0.113.0/24")):
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}],
        )

    # Instances: IMDSv1 allowed with the open group (bad), IMDSv2 with the office group (good).
    for name, group, tokens in (("legacy-1", made["sg_open"], "optional"), ("web-1", made["sg_office"], "required")):
        made[name] = ec2.run_instances(
            ImageId=MOTO_AMI,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet,
            SecurityGroupIds=[group],
            MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": _tags(name, environment="demo")}],
        )["Instances"][0]["InstanceId"]

    # Volumes and snapshots: unencrypted (bad) and encrypted (good); a public snapshot (bad).
    key = kms.create_key(Description="demo data key")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    kms.create_key(Description="demo key without rotation")
    made["volume_plain"] = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=20,
        TagSpecifications=[{"ResourceType": "volume", "Tags": _tags("data-unencrypted")}],
    )["VolumeId"]
    made["volume_encrypted"] = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=20,
        Encrypted=True,
        KmsKeyId=key,
        TagSpecifications=[{"ResourceType": "volume", "Tags": _tags("data-encrypted")}],
    )["VolumeId"]
    made["snapshot_public"] = ec2.create_snapshot(VolumeId=made["volume_plain"], Description="public backup")[
        "SnapshotId"
    ]
    ec2.modify_snapshot_attribute(
        SnapshotId=made["snapshot_public"], Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    made["snapshot_private"] = ec2.create_snapshot(VolumeId=made["volume_encrypted"], Description="private backup")[
        "SnapshotId"
    ]

    # Buckets: public-read with a public policy (bad); private, encrypted, versioned, blocked (good).
    public_bucket, private_bucket = f"demo-public-assets-{account}", f"demo-private-data-{account}"
    create_public_bucket(s3, public_bucket)
    s3.create_bucket(Bucket=private_bucket)
    s3.put_bucket_encryption(
        Bucket=private_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )
    s3.put_bucket_versioning(Bucket=private_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=private_bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    made["buckets"] = [public_bucket, private_bucket, logs_bucket]

    # IAM users: console access without MFA and an access key (bad); with a virtual MFA device (good).
    # (moto dates access keys "now"; real accounts will show their real age.)
    for user in ("bob-no-mfa", "alice-mfa"):
        iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "demo"}])
        iam.create_login_profile(UserName=user, Password="Demo-Passw0rd!-not-real")
        iam.create_access_key(UserName=user)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice-mfa", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    admin = iam.create_policy(
        PolicyName="demo-admin",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="bob-no-mfa", PolicyArn=admin)
    made["users"] = ["bob-no-mfa", "alice-mfa"]

    # A second region, so that the inventory shows more than one.
    eu = _client(endpoint_url, "ec2", "eu-west-1")
    made["volume_eu"] = eu.create_volume(
        AvailabilityZone="eu-west-1a",
        Size=8,
        Encrypted=True,
        TagSpecifications=[{"ResourceType": "volume", "Tags": _tags("eu-data")}],
    )["VolumeId"]
    made["account_id"] = account
    return made


def register_cloud(endpoint_url: str, organization: Any = None) -> Any:
    """Create the "Demo AWS" cloud, or point the existing one at this (new) moto endpoint."""
    from insightcloud.crypto import SecretDict
    from insightcloud.inventory.models import CloudAccount, CloudStatus, Organization

    if organization is None:
        organization, _ = Organization.objects.get_or_create(slug="default", defaults={"name": "Default"})
    account = _client(endpoint_url, "sts").get_caller_identity()["Account"]
    cloud, created = CloudAccount.objects.get_or_create(
        organization=organization,
        name=DEMO_CLOUD_NAME,
        defaults={
            "provider": "aws",
            "account_id": account,
            "auth_type": "keys",
            "auth_settings": {"endpoint_url": endpoint_url, "demo": True},
            "credentials": SecretDict(DEMO_CREDENTIALS),
            "regions": DEMO_REGIONS,
        },
    )
    if not created:
        cloud.account_id = account
        cloud.auth_type = "keys"
        cloud.auth_settings = {**(cloud.auth_settings or {}), "endpoint_url": endpoint_url, "demo": True}
        cloud.credentials = SecretDict(DEMO_CREDENTIALS)
        if cloud.status in (CloudStatus.INVALID_CREDENTIALS, CloudStatus.ASSUME_ROLE_FAILED):
            cloud.status, cloud.status_detail = CloudStatus.PENDING, ""
        cloud.save()
    return cloud


def start_demo() -> tuple[DemoServer, Any, Any]:
    """Start moto, seed it, register "Demo AWS" and enqueue its first harvest (p0)."""
    from scheduler.queues import P0
    from scheduler.runner import enqueue

    server = start_server()
    try:
        seed(server.endpoint_url)
        cloud = register_cloud(server.endpoint_url)
        job, _ = enqueue(
            "harvest",
            {"cloud_id": cloud.pk, "regions": None, "types": None},
            priority=P0,
            cloud_id=cloud.pk,
            organization_id=cloud.organization_id,
            requested_by="testdrive --demo",
        )
    except Exception:
        server.stop()
        raise
    return server, cloud, job
