"""GCP through the shared harvest pipeline: change and deletion detection, failures delete nothing.

harvesters.harvest (harvest_cloud) is written on another branch: this module runs once it is merged.
"""

from __future__ import annotations

import pytest

from insightcloud.inventory.models import CloudAccount, Resource, ResourceChange

harvest_cloud = pytest.importorskip("harvesters.harvest").harvest_cloud


@pytest.fixture
def cloud(organization, gcp_fake, gcp_key, no_proxy_env):
    return CloudAccount.objects.create(
        organization=organization,
        provider="gcp",
        name="prod",
        account_id="acme-prod",
        auth_type="service_account_key",
        auth_settings={"endpoint": gcp_fake.url, "client_email": gcp_key["client_email"]},
        credentials={"service_account_key": gcp_key},
        regions=["us-central1", "europe-west1"],
    )


def live(cloud, native_type):
    return {r.name: r for r in Resource.objects.filter(cloud=cloud, native_type=native_type, deleted_at=None)}


def test_a_second_harvest_records_one_modification_and_one_deletion(cloud, gcp_fake):
    assert harvest_cloud(cloud, max_workers=1).ok
    assert set(live(cloud, "gcp.compute.instance")) == {"web-1", "batch-1", "app-1"}
    assert set(live(cloud, "gcp.storage.bucket")) == {"acme-public-assets", "acme-audit-logs", "acme-team-share"}
    assert live(cloud, "gcp.resourcemanager.project")
    before = ResourceChange.objects.filter(cloud=cloud).exclude(change_type="created").count()

    project = gcp_fake.project("acme-prod")
    next(i for i in project["instances"] if i["name"] == "web-1")["status"] = "STOPPED"
    project["buckets"] = [b for b in project["buckets"] if b["name"] != "acme-team-share"]
    assert harvest_cloud(cloud, max_workers=1).ok

    changes = ResourceChange.objects.filter(cloud=cloud).exclude(change_type="created").select_related("resource")
    assert changes.count() == before + 2
    modified = changes.get(change_type="modified")
    assert (modified.resource.native_type, modified.resource.name) == ("gcp.compute.instance", "web-1")
    assert modified.resource.properties["state"] == "stopped"
    deleted = changes.get(change_type="deleted")
    assert (deleted.resource.native_type, deleted.resource.name) == ("gcp.storage.bucket", "acme-team-share")
    assert deleted.resource.deleted_at is not None


def test_a_failed_listing_deletes_nothing(cloud, gcp_fake):
    harvest_cloud(cloud, max_workers=1)
    gcp_fake.project("acme-prod")["buckets"] = []
    gcp_fake.fail("/storage/v1/b", 403, times=100)  # the bucket listing cannot complete
    report = harvest_cloud(cloud, max_workers=1)
    failed = [(e.native_type, e.error.split(":")[0]) for e in report.errors]
    assert failed == [("gcp.storage.bucket", "PermissionDenied")]
    assert set(live(cloud, "gcp.storage.bucket")) == {"acme-public-assets", "acme-audit-logs", "acme-team-share"}
    assert not ResourceChange.objects.filter(cloud=cloud, change_type="deleted").exists()


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_harvest_lists_every_type_in_every_region(cloud, gcp_fake):
    """The harvest's thread pool: one googleapiclient client set per thread, one aggregatedList per type."""
    report = harvest_cloud(cloud)
    assert report.ok, report.to_dict()["errors"]
    assert set(live(cloud, "gcp.compute.instance")) == {"web-1", "batch-1", "app-1"}
    assert set(live(cloud, "gcp.container.cluster")) == {"legacy-cluster", "hardened-cluster"}
    assert gcp_fake.count("/aggregated/instances") == 2  # two pages, shared by both regions
