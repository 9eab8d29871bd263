"""harvest_cloud knows no AWS: any registered driver and resource types work, hooks optional."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL, ResourceRecord, TransientError
from harvesters.harvest import harvest_cloud
from insightcloud.inventory.models import CloudAccount, Resource
from insightcloud.registry import registry

PROVIDER = "fakecloud"


class FakeDriver:
    """A driver with only connect and regions (no is_transient / classify hooks)."""

    provider = PROVIDER

    def connect(self, cloud):
        return type("Ctx", (), {"account_id": cloud.account_id})()

    def regions(self, ctx):
        return ["north", "south"]


FLAKY = {"left": 0}


def collect_disks(ctx, region):
    """Disks of the fake cloud; the first call in 'south' fails transiently when asked to."""
    if region == "south" and FLAKY["left"] > 0:
        FLAKY["left"] -= 1
        raise TransientError("busy")
    if region == "south" and FLAKY["left"] < 0:
        raise RuntimeError("the south is down")
    yield ResourceRecord("volume", f"{PROVIDER}.disk", region, f"disk-{region}", f"disk-{region}", {"encrypted": True})


def collect_accounts(ctx, region):
    """The fake account itself, a global type."""
    yield ResourceRecord("cloud_account", f"{PROVIDER}.account", GLOBAL, ctx.account_id, "fake", {})


@pytest.fixture
def fake_provider(monkeypatch):
    from harvesters import harvest
    from harvesters.base import resource_type

    monkeypatch.setattr(harvest, "BACKOFF_BASE_SECONDS", 0.01)
    with registry.unlocked():
        registry.register("clouds", PROVIDER, FakeDriver())
        resource_type(f"{PROVIDER}.disk", resource_type="volume", service="disks", permissions=("disks.list",))(
            collect_disks
        )
        resource_type(
            f"{PROVIDER}.account", resource_type="cloud_account", service="iam", scope="global", permissions=("a",)
        )(collect_accounts)
    yield
    registry._stores["clouds"].pop(PROVIDER)
    registry._stores["resource_types"].pop(f"{PROVIDER}.disk")
    registry._stores["resource_types"].pop(f"{PROVIDER}.account")
    FLAKY["left"] = 0


@pytest.fixture
def fake_cloud(organization, fake_provider):
    return CloudAccount.objects.create(
        organization=organization, provider=PROVIDER, name="Fake", account_id="fake-1", auth_type="token"
    )


@pytest.mark.django_db
def test_any_provider_is_harvested_per_region_and_global_types_once(fake_cloud):
    report = harvest_cloud(fake_cloud, max_workers=1)

    assert report.ok and report.regions == ["north", "south"]
    assert sorted((item.native_type, item.region) for item in report.listings) == [
        ("fakecloud.account", "global"),
        ("fakecloud.disk", "north"),
        ("fakecloud.disk", "south"),
    ]
    assert Resource.objects.filter(cloud=fake_cloud).count() == 3


@pytest.mark.django_db
def test_our_transient_errors_are_retried_without_a_driver_hook(fake_cloud):
    FLAKY["left"] = 2

    report = harvest_cloud(fake_cloud, types=["volume"], max_workers=1)

    south = next(item for item in report.listings if item.region == "south")
    assert south.error == "" and south.attempts == 3


@pytest.mark.django_db
def test_an_sdk_error_without_a_driver_hook_is_reported_and_the_rest_goes_on(fake_cloud):
    harvest_cloud(fake_cloud, max_workers=1)
    FLAKY["left"] = -1

    report = harvest_cloud(fake_cloud, max_workers=1)

    assert [(item.region, item.error) for item in report.errors] == [
        ("south", "HarvestError: RuntimeError: the south is down")
    ]
    assert not Resource.objects.filter(deleted_at__isnull=False).exists()
