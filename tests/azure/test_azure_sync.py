"""Azure through the whole pipeline: addcloud's onboarding, harvest_cloud twice, changes and deletions."""

from __future__ import annotations

import contextlib
import io

import pytest

pytest.importorskip("harvesters.harvest")

from harvesters.azure.onboard import onboard  # noqa: E402
from tests.fakes.azure_fake import CLIENT_ID, CLIENT_SECRET, SUB_PROD, TENANT_ID  # noqa: E402

NSG = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-app/providers/Microsoft.Network/networkSecurityGroups/nsg-tight"
DISK = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/vm-web_OsDisk"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    import harvesters.harvest

    monkeypatch.setattr(harvesters.harvest, "BACKOFF_BASE_SECONDS", 0.01, raising=False)


def harvest(cloud):
    """One harvest in this thread (the test's database transaction is not visible to pool threads)."""
    from harvesters.harvest import harvest_cloud

    return harvest_cloud(cloud, max_workers=1)


@pytest.fixture
def cloud(organization, azure_fake):
    options = {
        "name": "Contoso",
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "subscription_id": SUB_PROD,
        "authority_host": azure_fake.authority,
        "arm_endpoint": azure_fake.arm_endpoint,
        "ca_bundle": azure_fake.ca_file,
    }
    [cloud] = onboard(options, io.StringIO(CLIENT_SECRET), organization)
    cloud.auth_settings.update(retry_total=1, retry_backoff_factor=0.01)
    cloud.save()
    return cloud


def live(cloud, native_id: str):
    from insightcloud.inventory.models import Resource

    return Resource.objects.get(cloud=cloud, native_id=native_id.lower())


def test_second_harvest_records_one_modification_and_one_deletion(cloud, azure_fake):
    from insightcloud.inventory.models import Resource, ResourceChange

    report = harvest(cloud)
    assert not report.errors and not report.error
    from harvesters.base import resource_types_for

    types = set(Resource.objects.filter(cloud=cloud, deleted_at=None).values_list("native_type", flat=True))
    assert types == {spec.native_type for spec in resource_types_for("azure")}  # every listed type is in inventory
    assert live(cloud, NSG).properties["ingress"]

    rules = azure_fake.resource(NSG)["properties"]["securityRules"]
    rules[0]["properties"]["sourceAddressPrefixes"] = ["0.0.0.0/0"]
    azure_fake.delete(DISK)
    harvest(cloud)

    modified = ResourceChange.objects.filter(cloud=cloud, change_type="modified")
    deleted = ResourceChange.objects.filter(cloud=cloud, change_type="deleted")
    assert [c.resource.native_id for c in modified] == [NSG.lower()]
    assert [c.resource.native_id for c in deleted] == [DISK.lower()]
    assert live(cloud, DISK).deleted_at is not None
    assert any(r["cidr"] == "0.0.0.0/0" for r in live(cloud, NSG).properties["ingress"])


def test_a_failed_listing_deletes_nothing(cloud, azure_fake):
    from insightcloud.inventory.models import ResourceChange

    harvest(cloud)
    azure_fake.delete(DISK)
    azure_fake.fail("/providers/Microsoft.Compute/disks", 500, times=1000)
    with contextlib.suppress(Exception):  # whether it raises or records the failure, nothing may be deleted
        harvest(cloud)
    assert live(cloud, DISK).deleted_at is None
    assert not ResourceChange.objects.filter(cloud=cloud, change_type="deleted").exists()
