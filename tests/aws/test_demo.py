"""The demo estate of ``testdrive --demo``: seeded in moto, registered, harvested."""

from __future__ import annotations

import pytest

from harvesters.aws import demo
from harvesters.harvest import harvest_cloud
from insightcloud.inventory.models import CloudAccount, Resource

pytestmark = pytest.mark.django_db


def properties(native_type: str, native_id: str) -> dict:
    return Resource.objects.get(native_type=native_type, native_id=native_id).properties


def test_the_demo_estate_shows_its_misconfigurations_beside_good_twins(moto):
    made = demo.seed(moto)
    cloud = demo.register_cloud(moto)

    report = harvest_cloud(
        cloud,
        types=[
            t
            for t in ("aws.ec2.security_group", "aws.ec2.volume", "aws.ec2.snapshot", "aws.ec2.instance", "aws.ec2.vpc")
        ],
        max_workers=1,
    )

    assert report.ok, report.to_dict()
    assert cloud.name == "Demo AWS" and cloud.account_id == made["account_id"]
    world = properties("aws.ec2.security_group", made["sg_open"])["ingress"]
    office = properties("aws.ec2.security_group", made["sg_office"])["ingress"]
    assert [r["cidr"] for r in world] == ["0.0.0.0/0"] and [r["cidr"] for r in office] == ["203.0.113.0/24"]
    assert properties("aws.ec2.volume", made["volume_plain"])["encrypted"] is False
    assert properties("aws.ec2.volume", made["volume_encrypted"])["encrypted"] is True
    assert properties("aws.ec2.snapshot", made["snapshot_public"])["public"] is True
    assert properties("aws.ec2.snapshot", made["snapshot_private"])["public"] is False
    assert properties("aws.ec2.instance", made["legacy-1"])["metadata_v2_required"] is False
    assert properties("aws.ec2.instance", made["web-1"])["metadata_v2_required"] is True
    assert Resource.objects.filter(native_type="aws.ec2.volume", region="eu-west-1").count() == 1


def test_registering_again_points_the_demo_cloud_at_the_new_endpoint(moto, fault_proxy):
    first = demo.register_cloud(moto)
    second = demo.register_cloud(fault_proxy.url)  # a restarted test drive: another moto endpoint

    assert first.pk == second.pk and CloudAccount.objects.count() == 1
    assert CloudAccount.objects.get().auth_settings["endpoint_url"] == fault_proxy.url
    assert "demo-secret" not in repr(second.credentials)
