"""Alibaba through the shared harvest pipeline: changes and deletions detected, failures delete nothing.

harvesters.harvest arrives with the aws-core branch; until then this module skips.
"""

from __future__ import annotations

import pytest

pytest.importorskip("harvesters.harvest")

from harvesters.harvest import harvest_cloud  # noqa: E402
from tests.alibaba.conftest import GOOD_CREDENTIALS, fake_settings  # noqa: E402

TYPES = ["alibaba.ecs.instance", "alibaba.ecs.disk", "alibaba.oss.bucket"]


@pytest.fixture
def alibaba_cloud(alibaba_fake, organization):
    from insightcloud.inventory.models import CloudAccount

    return CloudAccount.objects.create(
        organization=organization,
        provider="alibaba",
        name="ali",
        account_id="1234567890123456",
        auth_type="access_key",
        auth_settings=fake_settings(alibaba_fake),
        credentials=GOOD_CREDENTIALS,
        regions=["cn-hangzhou"],
    )


def live(cloud, native_type: str) -> set[str]:
    return set(
        cloud.resources.filter(native_type=native_type, deleted_at__isnull=True).values_list("native_id", flat=True)
    )


def test_second_harvest_records_one_modification_and_one_deletion(alibaba_fake, alibaba_cloud):
    from insightcloud.inventory.models import ResourceChange

    harvest_cloud(alibaba_cloud, regions=["cn-hangzhou"], types=TYPES, max_workers=1)
    assert live(alibaba_cloud, "alibaba.ecs.instance") == {"i-public", "i-private", "i-eip"}
    assert live(alibaba_cloud, "alibaba.ecs.disk") == {"d-plain", "d-cmk", "d-loose"}
    assert len(live(alibaba_cloud, "alibaba.oss.bucket")) == 3
    before = ResourceChange.objects.filter(cloud=alibaba_cloud).count()

    alibaba_fake.state["instances"][0]["Status"] = "Stopped"  # i-public
    alibaba_fake.state["disks"] = [d for d in alibaba_fake.state["disks"] if d["DiskId"] != "d-loose"]
    harvest_cloud(alibaba_cloud, regions=["cn-hangzhou"], types=TYPES, max_workers=1)

    changes = ResourceChange.objects.filter(cloud=alibaba_cloud).order_by("id")[before:]
    summary = sorted((c.change_type, c.resource.native_id) for c in changes)
    assert summary == [("deleted", "d-loose"), ("modified", "i-public")]
    stopped = alibaba_cloud.resources.get(native_id="i-public")
    assert stopped.properties["state"] == "stopped"


def test_a_failed_listing_deletes_nothing(alibaba_fake, alibaba_cloud):
    harvest_cloud(alibaba_cloud, regions=["cn-hangzhou"], types=TYPES, max_workers=1)

    alibaba_fake.state["disks"] = []
    alibaba_fake.state["buckets"] = []
    alibaba_fake.fail("DescribeDisks", status=503, times=1000)
    alibaba_fake.fail("ListBuckets", status=503, times=1000)
    harvest_cloud(alibaba_cloud, regions=["cn-hangzhou"], types=TYPES, max_workers=1)

    assert live(alibaba_cloud, "alibaba.ecs.disk") == {"d-plain", "d-cmk", "d-loose"}
    assert len(live(alibaba_cloud, "alibaba.oss.bucket")) == 3
