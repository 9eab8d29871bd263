"""The schema: migrations apply on the backend under test, and the inventory keys exist."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from insightcloud.inventory.models import CloudAccount, Resource


def resource(cloud: CloudAccount, native_id: str = "i-1", **extra) -> Resource:
    fields = {
        "provider": "aws",
        "resource_type": "instance",
        "native_type": "aws.ec2.instance",
        "region": "us-east-1",
        "fingerprint": "x",
        **extra,
    }
    return Resource(cloud=cloud, native_id=native_id, **fields)


@pytest.fixture
def cloud(organization):
    return CloudAccount.objects.create(
        organization=organization, provider="aws", name="prod", account_id="111111111111", auth_type="keys"
    )


def test_there_are_no_model_changes_without_a_migration(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_migrations_created_every_table(db):
    tables = set(connection.introspection.table_names())
    for table in (
        "inventory_organization",
        "inventory_cloudaccount",
        "inventory_resource",
        "inventory_resourcechange",
        "inventory_resourcegroup",
        "inventory_badge",
        "accounts_user",
        "accounts_auditevent",
        "scheduler_job",
        "scheduler_processheartbeat",
    ):
        assert table in tables


def test_a_resource_is_unique_per_cloud_native_type_region_and_id(cloud):
    resource(cloud).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        resource(cloud).save()
    # The same id in another region is another resource.
    resource(cloud, region="eu-west-1").save()
    assert Resource.objects.count() == 2


def test_the_inventory_lookup_indexes_exist(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Resource._meta.db_table)
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"]}
    assert ("cloud_id", "native_type", "region", "native_id") in indexed
    assert ("deleted_at", "resource_type", "region", "name") in indexed
    assert ("deleted_at", "name") in indexed
    assert ("cloud_id", "deleted_at", "resource_type") in indexed
    assert ("native_type",) in indexed
    assert ("native_id",) in indexed
    assert ("cloud_id", "updated_at") in indexed


def test_long_arns_and_unicode_names_are_stored(cloud):
    arn = "arn:aws:s3:::" + "b" * 480
    resource(cloud, native_id=arn, name="résumé-桶").save()
    stored = Resource.objects.get()
    assert stored.native_id == arn
    assert stored.name == "résumé-桶"
