"""The sync pipeline on its own: records in, inventory rows and change history out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from harvesters.base import ResourceRecord
from harvesters.sync import diff, dumps_bytes, fingerprint, fingerprint_of_parts, sync_listing
from insightcloud.inventory.models import CloudAccount, Resource, ResourceChange

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def plain_cloud(organization):
    return CloudAccount.objects.create(
        organization=organization, provider="aws", name="Sync", account_id="111122223333", auth_type="keys"
    )


def volume(native_id: str, size: int = 8, encrypted: bool = True, **tags: str) -> ResourceRecord:
    return ResourceRecord(
        resource_type="volume",
        native_type="aws.ec2.volume",
        region="us-east-1",
        native_id=native_id,
        name=native_id,
        properties={"size_gb": size, "encrypted": encrypted, "attached_to": [], "state": "available"},
        raw={"VolumeId": native_id, "Size": size, "CreateTime": T0},
        tags=tags,
    )


def sync(cloud, records, minutes, complete=True, **kwargs):
    return sync_listing(cloud, "aws.ec2.volume", "us-east-1", records, complete=complete, now=at(minutes), **kwargs)


def is_write(sql: str) -> bool:
    sql = sql.lstrip().upper()
    if sql.startswith("SET STATEMENT"):  # MariaDB: per-statement settings, then the statement
        sql = sql.split(" FOR ", 1)[1].lstrip()
    return sql.startswith(("UPDATE", "INSERT", "DELETE"))


def changes(cloud, change_type=None):
    rows = ResourceChange.objects.filter(cloud=cloud)
    return rows.filter(change_type=change_type) if change_type else rows


def test_new_resources_are_created_with_a_created_change_each(plain_cloud):
    stats = sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 0)

    assert (stats.seen, stats.created, stats.modified, stats.deleted) == (2, 2, 0, 0)
    row = Resource.objects.get(native_id="vol-1")
    assert row.provider == "aws" and row.resource_type == "volume" and row.region == "us-east-1"
    assert row.properties["size_gb"] == 8 and row.properties["kms_key_id"] is None  # common keys filled
    assert row.raw["CreateTime"] == "2026-01-01T00:00:00+00:00"
    assert row.first_seen == row.last_seen == row.updated_at == at(0)
    assert changes(plain_cloud, "created").count() == 2


def test_a_modified_resource_gets_one_change_with_a_key_level_diff(plain_cloud):
    sync(plain_cloud, [volume("vol-1", env="dev"), volume("vol-2")], 0)

    stats = sync(plain_cloud, [volume("vol-1", size=16, env="prod"), volume("vol-2")], 5)

    assert (stats.created, stats.modified, stats.deleted) == (0, 1, 0)
    change = changes(plain_cloud, "modified").get()
    assert change.resource.native_id == "vol-1"
    assert change.diff == {
        "properties.size_gb": [8, 16],
        "raw.Size": [8, 16],
        "tags.env": ["dev", "prod"],
    }
    row = change.resource
    assert row.properties["size_gb"] == 16 and row.updated_at == at(5) and row.first_seen == at(0)


def test_an_unchanged_reharvest_writes_no_change_rows_and_only_touches_last_seen(plain_cloud):
    sync(plain_cloud, [volume(f"vol-{n}") for n in range(30)], 0)
    before = changes(plain_cloud).count()

    with CaptureQueriesContext(connection) as queries:
        stats = sync(plain_cloud, [volume(f"vol-{n}") for n in range(30)], 5, batch_size=10)

    assert (stats.seen, stats.created, stats.modified, stats.deleted) == (30, 0, 0, 0)
    assert changes(plain_cloud).count() == before
    assert set(Resource.objects.values_list("last_seen", flat=True)) == {at(5)}
    assert set(Resource.objects.values_list("updated_at", flat=True)) == {at(0)}
    writes = [q["sql"] for q in queries.captured_queries if is_write(q["sql"])]
    # The unchanged rows of the three batches wait for one UPDATE that sets last_seen and nothing else.
    assert len(writes) == 1 and "last_seen" in writes[0] and "fingerprint" not in writes[0]


def test_a_complete_listing_marks_the_unseen_resources_deleted(plain_cloud):
    sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 0)

    stats = sync(plain_cloud, [volume("vol-1")], 5)

    assert stats.deleted == 1
    gone = Resource.objects.get(native_id="vol-2")
    assert gone.deleted_at == at(5) and gone.updated_at == at(5)
    assert changes(plain_cloud, "deleted").get().resource == gone
    assert Resource.objects.get(native_id="vol-1").deleted_at is None


def test_an_incomplete_listing_never_deletes(plain_cloud):
    sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 0)

    stats = sync(plain_cloud, [volume("vol-1")], 5, complete=False)

    assert stats.deleted == 0
    assert not Resource.objects.filter(deleted_at__isnull=False).exists()


def test_a_listing_that_raises_part_way_keeps_what_it_saw_and_deletes_nothing(plain_cloud):
    sync(plain_cloud, [volume(f"vol-{n}") for n in range(5)], 0)

    def failing_listing():
        yield volume("vol-0", size=99)
        yield volume("vol-1")
        raise RuntimeError("throttled for good")

    with pytest.raises(RuntimeError):
        sync(plain_cloud, failing_listing(), 5, batch_size=2)

    assert not Resource.objects.filter(deleted_at__isnull=False).exists()
    assert Resource.objects.get(native_id="vol-0").properties["size_gb"] == 99
    assert Resource.objects.get(native_id="vol-1").last_seen == at(5)  # seen unchanged before the failure
    assert Resource.objects.get(native_id="vol-2").last_seen == at(0)


def test_other_regions_types_and_clouds_are_left_alone_by_deletion(plain_cloud, organization):
    other = CloudAccount.objects.create(
        organization=organization, provider="aws", name="Other", account_id="444455556666", auth_type="keys"
    )
    sync(plain_cloud, [volume("vol-1")], 0)
    sync(other, [volume("vol-1")], 0)
    sync_listing(plain_cloud, "aws.ec2.volume", "eu-west-1", [volume("vol-9")], complete=True, now=at(0))

    sync(plain_cloud, [], 5)

    assert list(Resource.objects.filter(deleted_at__isnull=False).values_list("cloud_id", "region")) == [
        (plain_cloud.pk, "us-east-1")
    ]


def test_a_deleted_resource_that_reappears_is_revived_with_a_created_change(plain_cloud):
    sync(plain_cloud, [volume("vol-1")], 0)
    sync(plain_cloud, [], 5)

    stats = sync(plain_cloud, [volume("vol-1")], 10)

    assert stats.created == 1
    row = Resource.objects.get(native_id="vol-1")
    assert row.deleted_at is None and row.last_seen == at(10) and row.first_seen == at(0)
    assert list(changes(plain_cloud).order_by("id").values_list("change_type", flat=True)) == [
        "created",
        "deleted",
        "created",
    ]


def test_changes_record_the_job_that_made_them(plain_cloud):
    from scheduler.models import Job

    job = Job.objects.create(kind="harvest", priority="p2")
    sync(plain_cloud, [volume("vol-1")], 0, job=job)
    assert changes(plain_cloud).get().job == job


def test_a_large_listing_is_written_in_batches(plain_cloud):
    records = (volume(f"vol-{n:05d}") for n in range(2500))  # a generator: never a list in memory

    with CaptureQueriesContext(connection) as queries:
        stats = sync(plain_cloud, records, 0, batch_size=500)

    assert stats.created == 2500 and Resource.objects.count() == 2500
    selects = [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 2 * 5 + 1  # per batch: existing rows, new ids; then the unseen rows


def test_diff_reports_leaves_and_missing_keys():
    assert diff({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"b": 2, "c": [1]}, "e": 2}) == {
        "a.b": [1, 2],
        "d": [1, None],
        "e": [None, 2],
    }


def test_unknown_normalized_type_is_refused(plain_cloud):
    record = volume("vol-1")
    record.resource_type = "teapot"
    with pytest.raises(ValueError, match="unknown normalized type"):
        sync(plain_cloud, [record], 0)


def test_now_defaults_to_the_current_time(plain_cloud):
    before = timezone.now()
    sync_listing(plain_cloud, "aws.ec2.volume", "us-east-1", [volume("vol-1")], complete=True)
    assert Resource.objects.get().last_seen >= before


def test_a_first_harvest_with_an_id_repeated_in_a_later_page_still_syncs(plain_cloud):
    pages = [volume("vol-1"), volume("vol-2"), volume("vol-1", size=9), volume("vol-3")]

    stats = sync(plain_cloud, pages, 0, batch_size=2)

    assert (stats.seen, stats.created, stats.modified) == (4, 3, 1)
    assert Resource.objects.get(native_id="vol-1").properties["size_gb"] == 9
    assert changes(plain_cloud, "created").count() == 3


def test_the_fingerprint_of_one_serialization_equals_the_one_of_the_column_texts():
    properties = {"b": [1, 2.5, None], "a": {"z": "é", "y": T0}, "tags": {"x"}}
    raw = {"Big": 2**70, "When": dt.date(2026, 1, 2), "Blob": b"\x00\x01"}  # 2**70: orjson refuses it
    for raw_value in (raw, {"Small": 1}):
        parts = fingerprint_of_parts("n", dumps_bytes(properties), dumps_bytes(raw_value), dumps_bytes({"k": "v"}))
        assert fingerprint("n", properties, raw_value, {"k": "v"}) == parts
    assert fingerprint("n", properties, {"Small": 1}, {}) != fingerprint("n", properties, {"Small": 2}, {})


def test_a_large_unchanged_reharvest_stamps_every_row_and_finds_the_one_changed_row(plain_cloud):
    sync(plain_cloud, (volume(f"vol-{n:05d}") for n in range(2500)), 0, batch_size=1000)

    listing = (volume(f"vol-{n:05d}", size=20 if n == 1234 else 8) for n in range(2500))
    with CaptureQueriesContext(connection) as queries:
        stats = sync(plain_cloud, listing, 5, batch_size=1000)

    assert (stats.seen, stats.created, stats.modified, stats.deleted) == (2500, 0, 1, 0)
    change = changes(plain_cloud, "modified").get()
    assert change.resource.native_id == "vol-01234"
    assert change.diff == {"properties.size_gb": [8, 20], "raw.Size": [8, 20]}
    assert changes(plain_cloud).count() == 2500 + 1  # the created ones, and this one
    assert set(Resource.objects.values_list("last_seen", flat=True)) == {at(5)}
    assert list(Resource.objects.filter(updated_at=at(5)).values_list("native_id", flat=True)) == ["vol-01234"]
    # Every live row was stamped, so the rows were not searched for unseen ones (no LIMITed id search).
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in selects if "LIMIT" in sql.upper() and "last_seen" in sql]


def test_a_listing_that_repeats_an_id_across_pages_still_deletes_the_row_it_missed(plain_cloud):
    sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 0)

    stats = sync(plain_cloud, [volume("vol-1"), volume("vol-1")], 5, batch_size=1)  # as many records as rows

    assert stats.deleted == 1
    assert list(Resource.objects.filter(deleted_at=at(5)).values_list("native_id", flat=True)) == ["vol-2"]


def test_deleted_rows_of_the_listing_neither_hide_nor_fake_an_unseen_row(plain_cloud):
    sync(plain_cloud, [volume("vol-1"), volume("vol-2"), volume("vol-3")], 0)
    sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 5)  # vol-3 deleted, and kept as a deleted row

    unchanged = sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 10)
    one_gone = sync(plain_cloud, [volume("vol-1")], 15)

    assert (unchanged.deleted, one_gone.deleted) == (0, 1)
    deleted = dict(Resource.objects.filter(deleted_at__isnull=False).values_list("native_id", "deleted_at"))
    assert deleted == {"vol-3": at(5), "vol-2": at(15)}
    assert changes(plain_cloud, "deleted").count() == 2


def test_a_retry_with_the_same_timestamp_deletes_only_what_neither_attempt_saw(plain_cloud):
    sync(plain_cloud, [volume(f"vol-{n}") for n in range(4)], 0)

    def failing_listing():
        yield volume("vol-0")
        yield volume("vol-1")
        raise RuntimeError("throttled")

    with pytest.raises(RuntimeError):
        sync(plain_cloud, failing_listing(), 5, batch_size=1)
    stats = sync(plain_cloud, [volume("vol-0"), volume("vol-2")], 5)  # the retry, same harvest time

    # The retry alone stamped fewer rows than are live, so the rows are searched: vol-1 was seen by
    # the first attempt of this harvest and stays; vol-3 was seen by neither.
    assert stats.deleted == 1
    live = Resource.objects.filter(deleted_at__isnull=True).values_list("native_id", flat=True)
    assert sorted(live) == ["vol-0", "vol-1", "vol-2"]


def test_rows_fingerprinted_another_way_get_the_new_fingerprint_without_a_change(plain_cloud):
    sync(plain_cloud, [volume("vol-1"), volume("vol-2")], 0)
    fingerprints = dict(Resource.objects.values_list("native_id", "fingerprint"))
    Resource.objects.update(fingerprint="made-by-an-older-release")
    before = changes(plain_cloud).count()

    stats = sync(plain_cloud, [volume("vol-1"), volume("vol-2", size=9)], 5)

    assert (stats.created, stats.modified, stats.deleted) == (0, 1, 0)  # only vol-2 really changed
    assert changes(plain_cloud).count() == before + 1
    row = Resource.objects.get(native_id="vol-1")
    assert row.fingerprint == fingerprints["vol-1"] and row.last_seen == at(5) and row.updated_at == at(0)


def test_diff_tells_apart_values_python_finds_equal():
    assert diff({"a": 1, "b": 1, "c": [1]}, {"a": True, "b": 1.0, "c": [1]}) == {"a": [1, True], "b": [1, 1.0]}
