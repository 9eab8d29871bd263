"""EC2 resource types harvested from moto through the real harvest pipeline."""

from __future__ import annotations

import pytest

from harvesters.base import resource_types_for
from harvesters.harvest import harvest_cloud
from harvesters.normalized import missing_properties
from insightcloud.inventory.models import Resource, ResourceChange
from tests.aws.conftest import ACCOUNT_ID, MOTO_AMI

pytestmark = pytest.mark.django_db

EC2_TYPES = [
    "aws.ec2.instance",
    "aws.ec2.security_group",
    "aws.ec2.vpc",
    "aws.ec2.subnet",
    "aws.ec2.volume",
    "aws.ec2.snapshot",
    "aws.ec2.image",
]


def harvest(cloud, *types, regions=("us-east-1",)):
    report = harvest_cloud(cloud, regions=list(regions), types=list(types) or EC2_TYPES, max_workers=1)
    assert not report.error and not report.errors, report.to_dict()
    return report


def live(native_type, **filters):
    return Resource.objects.filter(native_type=native_type, deleted_at__isnull=True, **filters)


@pytest.fixture
def estate(aws):
    """A small EC2 estate in us-east-1: one of each, with a misconfigured twin where it matters."""
    ec2 = aws("ec2")
    iam = aws("iam")
    kms = aws("kms")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "main"}])
    aws("s3").create_bucket(Bucket="flow-logs-bucket")
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-logs-bucket",
    )
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    open_ssh = ec2.create_security_group(GroupName="open-ssh", Description="SSH from anywhere", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=open_ssh,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        ],
    )
    web = ec2.create_security_group(GroupName="web", Description="HTTPS from the SSH group", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": open_ssh}]}
        ],
    )
    iam.create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    profile = iam.create_instance_profile(InstanceProfileName="app")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="app", RoleName="app")
    image = MOTO_AMI
    instance = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        SecurityGroupIds=[open_ssh],
        IamInstanceProfile={"Arn": profile["Arn"]},
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "app-1"}]}],
    )["Instances"][0]["InstanceId"]
    key = kms.create_key()["KeyMetadata"]["Arn"]
    plain = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10)["VolumeId"]
    sealed = ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, Encrypted=True, KmsKeyId=key)["VolumeId"]
    ec2.attach_volume(VolumeId=sealed, InstanceId=instance, Device="/dev/sdf")
    public_snapshot = ec2.create_snapshot(VolumeId=plain)["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public_snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    private_snapshot = ec2.create_snapshot(VolumeId=sealed)["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=private_snapshot, Attribute="createVolumePermission", OperationType="add", UserIds=["210987654321"]
    )
    ami = ec2.create_image(InstanceId=instance, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
    return {
        "vpc": vpc,
        "subnet": subnet,
        "open_ssh": open_ssh,
        "web": web,
        "instance": instance,
        "profile": profile["Arn"],
        "key": key,
        "plain": plain,
        "sealed": sealed,
        "public_snapshot": public_snapshot,
        "private_snapshot": private_snapshot,
        "ami": ami,
    }


def test_every_ec2_type_fills_the_common_normalized_properties(cloud, estate):
    harvest(cloud)
    for spec in resource_types_for("aws", EC2_TYPES):
        rows = list(live(spec.native_type))
        assert rows, f"{spec.native_type} harvested nothing"
        for row in rows:
            assert row.resource_type == spec.resource_type
            assert missing_properties(row.resource_type, row.properties) == [], spec.native_type


def test_instance_is_harvested_with_its_placement_identity_and_imds(cloud, estate):
    harvest(cloud, "aws.ec2.instance")
    row = live("aws.ec2.instance").get()
    props = row.properties
    assert row.native_id == estate["instance"] and row.name == "app-1" and row.tags == {"Name": "app-1"}
    assert props["state"] == "running" and props["instance_type"] == "t3.micro"
    assert props["subnet_id"] == estate["subnet"] and props["network_id"] == estate["vpc"]
    assert props["security_groups"] == [estate["open_ssh"]]
    assert props["identity"] == estate["profile"]
    assert props["metadata_v2_required"] is True
    assert props["private_ips"] and props["launched_at"]
    assert props["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}:instance/{estate['instance']}"


def test_security_group_rules_are_normalized(cloud, estate):
    harvest(cloud, "aws.ec2.security_group")
    open_ssh = live("aws.ec2.security_group", native_id=estate["open_ssh"]).get().properties
    world = [(rule["protocol"], rule["from_port"], rule["to_port"], rule["cidr"]) for rule in open_ssh["ingress"]]
    assert sorted(world) == [("tcp", 22, 22, "0.0.0.0/0"), ("tcp", 22, 22, "::/0")]
    assert all(rule["action"] == "allow" and rule["source_group"] is None for rule in open_ssh["ingress"])
    assert open_ssh["egress"][0]["protocol"] == "all" and open_ssh["egress"][0]["from_port"] is None
    assert open_ssh["network_id"] == estate["vpc"] and open_ssh["is_default"] is False
    web = live("aws.ec2.security_group", native_id=estate["web"]).get().properties
    assert [(r["from_port"], r["source_group"], r["cidr"]) for r in web["ingress"]] == [(443, estate["open_ssh"], None)]
    assert live("aws.ec2.security_group", name="default").filter(properties__is_default=True).exists()


def test_vpc_and_subnet_report_flow_logs_and_public_ips(cloud, estate):
    harvest(cloud, "aws.ec2.vpc", "aws.ec2.subnet")
    vpc = live("aws.ec2.vpc", native_id=estate["vpc"]).get()
    assert vpc.name == "main" and vpc.properties["cidr_blocks"] == ["10.0.0.0/16"]
    assert vpc.properties["flow_logs_enabled"] is True and vpc.properties["is_default"] is False
    default_vpc = live("aws.ec2.vpc", properties__is_default=True).get()
    assert default_vpc.properties["flow_logs_enabled"] is False
    subnet = live("aws.ec2.subnet", native_id=estate["subnet"]).get().properties
    assert subnet["network_id"] == estate["vpc"] and subnet["cidr_block"] == "10.0.1.0/24"
    assert subnet["maps_public_ip_on_launch"] is True and subnet["flow_logs_enabled"] is True


def test_volumes_report_encryption_key_and_attachment(cloud, estate):
    harvest(cloud, "aws.ec2.volume")
    plain = live("aws.ec2.volume", native_id=estate["plain"]).get().properties
    sealed = live("aws.ec2.volume", native_id=estate["sealed"]).get().properties
    assert plain["encrypted"] is False and plain["kms_key_id"] is None and plain["attached_to"] == []
    assert plain["size_gb"] == 10 and plain["state"] == "available"
    assert sealed["encrypted"] is True and sealed["kms_key_id"] == estate["key"]
    assert sealed["attached_to"] == [estate["instance"]] and sealed["state"] == "in-use"


def test_only_the_accounts_own_snapshots_are_kept_with_public_and_shared_flags(cloud, estate):
    harvest(cloud, "aws.ec2.snapshot")
    snapshots = {row.native_id: row.properties for row in live("aws.ec2.snapshot")}
    # the AMI's own snapshot besides ours, never moto's ~1,300 Amazon-owned ones
    assert {estate["public_snapshot"], estate["private_snapshot"]} <= set(snapshots) and len(snapshots) == 3
    assert {row.raw["OwnerId"] for row in live("aws.ec2.snapshot")} == {ACCOUNT_ID}
    assert snapshots[estate["public_snapshot"]]["public"] is True
    assert snapshots[estate["public_snapshot"]]["volume_id"] == estate["plain"]
    assert snapshots[estate["private_snapshot"]]["public"] is False
    assert snapshots[estate["private_snapshot"]]["shared_with"] == ["210987654321"]


def test_own_images_are_harvested_with_public_launch_permission(cloud, estate):
    harvest(cloud, "aws.ec2.image")
    image = live("aws.ec2.image").get()
    assert image.native_id == estate["ami"] and image.name == "golden"
    assert image.properties["public"] is True and image.resource_type == "machine_image"


def test_a_change_between_two_harvests_gives_one_modified_change_with_the_diff(cloud, estate, aws):
    harvest(cloud, "aws.ec2.security_group")
    aws("ec2").revoke_security_group_ingress(
        GroupId=estate["open_ssh"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )

    report = harvest(cloud, "aws.ec2.security_group")

    assert report.totals().modified == 1
    change = ResourceChange.objects.get(change_type="modified")
    assert change.resource.native_id == estate["open_ssh"]
    old_rules, new_rules = change.diff["properties.ingress"]
    assert {rule["cidr"] for rule in old_rules} == {"0.0.0.0/0", "::/0"}
    assert {rule["cidr"] for rule in new_rules} == {"::/0"}


def test_a_terminated_instance_and_a_deleted_volume_are_detected(cloud, estate, aws):
    harvest(cloud, "aws.ec2.instance", "aws.ec2.volume")
    ec2 = aws("ec2")
    ec2.terminate_instances(InstanceIds=[estate["instance"]])
    ec2.delete_volume(VolumeId=estate["plain"])

    report = harvest(cloud, "aws.ec2.instance", "aws.ec2.volume")

    assert report.by_type()["aws.ec2.instance"]["deleted"] == 1
    deleted = set(ResourceChange.objects.filter(change_type="deleted").values_list("resource__native_id", flat=True))
    assert {estate["instance"], estate["plain"]} <= deleted
    assert live("aws.ec2.volume", native_id=estate["sealed"]).exists()


def test_an_unchanged_reharvest_writes_no_changes(cloud, estate):
    harvest(cloud)
    count = ResourceChange.objects.count()

    report = harvest(cloud)

    totals = report.totals()
    assert totals.seen > 10 and (totals.created, totals.modified, totals.deleted) == (0, 0, 0)
    assert ResourceChange.objects.count() == count


def test_regions_are_listed_as_a_global_type(cloud):
    report = harvest_cloud(cloud, types=["aws.ec2.region"], max_workers=1)
    assert [(item.native_type, item.region) for item in report.listings] == [("aws.ec2.region", "global")]
    assert live("aws.ec2.region", native_id="eu-west-1", region="global").get().properties["enabled"] is True
