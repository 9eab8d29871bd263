"""Clouds and resources made directly (no harvester): a CloudAccount plus Resource rows whose
``properties`` are normalized as harvesters/normalized.py says."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

_ids = itertools.count(1)


@pytest.fixture
def aws_cloud(organization):
    from insightcloud.inventory.models import CloudAccount

    return CloudAccount.objects.create(
        organization=organization, provider="aws", name="prod", account_id="111122223333", auth_type="role"
    )


@pytest.fixture
def gcp_cloud(organization):
    from insightcloud.inventory.models import CloudAccount

    return CloudAccount.objects.create(
        organization=organization, provider="gcp", name="analytics", account_id="analytics-123", auth_type="sa"
    )


@pytest.fixture
def make_resource():
    """``make_resource(cloud, "volume", {...})`` -> a saved Resource with normalized properties."""
    from insightcloud.inventory.models import Resource

    def make(cloud, resource_type, properties, *, name=None, native_type=None, region="us-east-1", tags=None, **extra):
        number = next(_ids)
        return Resource.objects.create(
            cloud=cloud,
            provider=cloud.provider,
            resource_type=resource_type,
            native_type=native_type or f"{cloud.provider}.test.{resource_type}",
            region=region,
            native_id=f"{resource_type}-{number}",
            name=name or f"{resource_type}-{number}",
            properties=properties,
            tags=tags or {},
            fingerprint=str(number),
            updated_at=extra.pop("updated_at", timezone.now()),
            **extra,
        )

    return make


def touch(resource, **properties) -> None:
    """What the sync pipeline does on a change: new properties and a new updated_at."""
    resource.properties = {**resource.properties, **properties}
    resource.updated_at = timezone.now()
    resource.save(update_fields=["properties", "updated_at"])


def delete(resource) -> None:
    resource.deleted_at = resource.updated_at = timezone.now()
    resource.save(update_fields=["deleted_at", "updated_at"])
