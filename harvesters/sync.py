"""The sync pipeline: one listing (a cloud, a native type, a region) into the inventory.

normalize -> fingerprint -> compare with the stored rows a batch at a time -> insert new rows,
update modified ones, touch ``last_seen`` of unchanged ones -> one ResourceChange per created /
modified / deleted resource, with a key-level diff.

Why it looks the way it does:

* Memory is bounded by the batch, not by the estate: records are consumed ``batch_size`` at a
  time, and deletion is found in the database (live rows of the listing whose ``last_seen`` is
  older than this harvest's timestamp) instead of by keeping every id seen.
* Few queries: per batch one SELECT of (id, native id, fingerprint); one multi-row INSERT of new
  rows (``executemany``, which mysqlclient rewrites into multi-row INSERTs) and one SELECT of
  their ids; one UPDATE of ``last_seen`` for every unchanged row; and, only for the rare
  modified rows, a SELECT of their old values and an UPDATE each. JSON is serialized once
  (the same sorted-keys text gives the fingerprint and the stored value).
* Deletion is only concluded from a complete listing (``complete=True``); a listing that failed
  part-way updates what it saw and never deletes.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from harvesters.base import ResourceRecord
from harvesters.normalized import TYPES
from insightcloud.inventory.models import ChangeType, Resource, ResourceChange

BATCH_SIZE = 1000


@dataclass
class SyncStats:
    seen: int = 0
    created: int = 0
    modified: int = 0
    deleted: int = 0

    def add(self, other: SyncStats) -> None:
        self.seen += other.seen
        self.created += other.created
        self.modified += other.modified
        self.deleted += other.deleted

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- JSON, fingerprint and diff -------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "read"):  # botocore StreamingBody and the like: never stored
        return None
    return str(value)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, datetimes as ISO-8601 (UTC)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def fingerprint(name: str, properties_json: str, raw_json: str, tags_json: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for part in (name, properties_json, raw_json, tags_json):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


_MISSING = object()


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """``{dotted.path: [old, new]}`` for every leaf that differs (lists compare as whole values)."""
    flat_old, flat_new = _flatten(old, "", {}), _flatten(new, "", {})
    changes = {}
    for path in sorted(flat_old.keys() | flat_new.keys()):
        before, after = flat_old.get(path, _MISSING), flat_new.get(path, _MISSING)
        if before != after:
            changes[path] = [None if before is _MISSING else before, None if after is _MISSING else after]
    return changes


# --- the pipeline ---------------------------------------------------------------------------


@dataclass
class _Prepared:
    record: ResourceRecord
    name: str
    properties_json: str
    raw_json: str
    tags_json: str
    fingerprint: str


def _prepare(record: ResourceRecord) -> _Prepared:
    spec = TYPES.get(record.resource_type)
    if spec is None:
        raise ValueError(f"{record.native_type} {record.native_id}: unknown normalized type {record.resource_type!r}")
    properties = record.properties
    for key in spec.properties:  # normalize: every common key present (None where the cloud has none)
        if key not in properties:
            properties[key] = None
    name = (record.name or "")[:512]
    properties_json, raw_json, tags_json = dumps(properties), dumps(record.raw or {}), dumps(record.tags or {})
    return _Prepared(
        record, name, properties_json, raw_json, tags_json, fingerprint(name, properties_json, raw_json, tags_json)
    )


def _batches(records: Iterable[ResourceRecord], size: int) -> Iterator[list[ResourceRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class _Listing:
    """The SQL of one listing, built once."""

    def __init__(self, cloud: Any, native_type: str, region: str, job: Any, now: dt.datetime) -> None:
        self.cloud_id = cloud.pk
        self.provider = cloud.provider
        self.native_type = native_type
        self.region = region
        self.job_id = getattr(job, "pk", None)
        self.now = now
        self.db_now = connection.ops.adapt_datetimefield_value(now)
        q = connection.ops.quote_name
        resource, change = Resource._meta.db_table, ResourceChange._meta.db_table
        self.insert_sql = (
            f"INSERT INTO {q(resource)} ({q('cloud_id')}, {q('provider')}, {q('resource_type')}, "
            f"{q('native_type')}, {q('region')}, {q('native_id')}, {q('name')}, {q('properties')}, {q('raw')}, "
            f"{q('tags')}, {q('fingerprint')}, {q('first_seen')}, {q('last_seen')}, {q('updated_at')}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        self.update_sql = (
            f"UPDATE {q(resource)} SET {q('resource_type')} = %s, {q('name')} = %s, {q('properties')} = %s, "
            f"{q('raw')} = %s, {q('tags')} = %s, {q('fingerprint')} = %s, {q('last_seen')} = %s, "
            f"{q('updated_at')} = %s, {q('deleted_at')} = NULL WHERE {q('id')} = %s"
        )
        self.change_sql = (
            f"INSERT INTO {q(change)} ({q('resource_id')}, {q('cloud_id')}, {q('change_type')}, {q('diff')}, "
            f"{q('job_id')}, {q('created_at')}) VALUES (%s, %s, %s, %s, %s, %s)"
        )

    def rows(self):  # noqa: ANN201
        return Resource.objects.filter(cloud_id=self.cloud_id, native_type=self.native_type, region=self.region)

    def change_row(self, resource_id: int, change_type: str, change: dict) -> tuple:
        return (resource_id, self.cloud_id, change_type, dumps(change), self.job_id, self.db_now)


def sync_listing(
    cloud: Any,
    native_type: str,
    region: str,
    records: Iterable[ResourceRecord],
    *,
    complete: bool,
    job: Any = None,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    stats: SyncStats | None = None,
) -> SyncStats:
    """Bring the inventory of one listing up to date with ``records``; see the module docstring.

    ``complete`` says the listing finished without error: only then are the live rows that
    were not seen marked deleted. ``stats`` (optional) accumulates across retries of a listing;
    ``now`` must be the same for every batch and retry of one harvest of the listing.
    """
    listing = _Listing(cloud, native_type, region, job, now or timezone.now())
    stats = stats if stats is not None else SyncStats()
    for batch in _batches(records, batch_size):
        prepared: dict[str, _Prepared] = {}
        for record in batch:
            prepared[record.native_id] = _prepare(record)  # a duplicate id in one page: the last wins
        stats.seen += len(prepared)
        _sync_batch(listing, prepared, stats)
    if complete:
        _delete_unseen(listing, batch_size, stats)
    return stats


def _sync_batch(listing: _Listing, prepared: dict[str, _Prepared], stats: SyncStats) -> None:
    existing = (
        listing.rows().filter(native_id__in=list(prepared)).values_list("id", "native_id", "fingerprint", "deleted_at")
    )
    unchanged: list[int] = []
    changed: dict[int, tuple[_Prepared, bool]] = {}  # id -> (record, revived)
    for pk, native_id, stored_fingerprint, deleted_at in existing:
        item = prepared.pop(native_id, None)
        if item is None:
            continue
        if deleted_at is None and item.fingerprint == stored_fingerprint:
            unchanged.append(pk)
        else:
            changed[pk] = (item, deleted_at is not None)
    new = prepared  # what is left was never stored

    with transaction.atomic():
        if unchanged:
            Resource.objects.filter(id__in=unchanged).update(last_seen=listing.now)
        if new:
            _insert(listing, new)
            stats.created += len(new)
        if changed:
            _update(listing, changed, stats)


def _insert(listing: _Listing, new: dict[str, _Prepared]) -> None:
    now = listing.db_now
    with connection.cursor() as cursor:
        cursor.executemany(
            listing.insert_sql,
            [
                (
                    listing.cloud_id,
                    listing.provider,
                    item.record.resource_type,
                    listing.native_type,
                    listing.region,
                    native_id,
                    item.name,
                    item.properties_json,
                    item.raw_json,
                    item.tags_json,
                    item.fingerprint,
                    now,
                    now,
                    now,
                )
                for native_id, item in new.items()
            ],
        )
        ids = listing.rows().filter(native_id__in=list(new)).values_list("id", flat=True)
        cursor.executemany(listing.change_sql, [listing.change_row(pk, ChangeType.CREATED, {}) for pk in ids])


def _update(listing: _Listing, changed: dict[int, tuple[_Prepared, bool]], stats: SyncStats) -> None:
    old_values = Resource.objects.filter(id__in=list(changed)).values_list("id", "name", "properties", "raw", "tags")
    change_rows = []
    for pk, name, properties, raw, tags in old_values:
        item, revived = changed[pk]
        before = {"name": name, "properties": properties, "raw": raw, "tags": tags}
        after = {
            "name": item.name,
            "properties": json.loads(item.properties_json),
            "raw": json.loads(item.raw_json),
            "tags": json.loads(item.tags_json),
        }
        change_rows.append(
            listing.change_row(pk, ChangeType.CREATED if revived else ChangeType.MODIFIED, diff(before, after))
        )
        if revived:
            stats.created += 1
        else:
            stats.modified += 1
    now = listing.db_now
    with connection.cursor() as cursor:
        cursor.executemany(
            listing.update_sql,
            [
                (
                    item.record.resource_type,
                    item.name,
                    item.properties_json,
                    item.raw_json,
                    item.tags_json,
                    item.fingerprint,
                    now,
                    now,
                    pk,
                )
                for pk, (item, _) in changed.items()
            ],
        )
        cursor.executemany(listing.change_sql, change_rows)


def _delete_unseen(listing: _Listing, batch_size: int, stats: SyncStats) -> None:
    """Mark deleted the live rows of the listing that this harvest did not see."""
    unseen = listing.rows().filter(deleted_at__isnull=True, last_seen__lt=listing.now)
    while ids := list(unseen.values_list("id", flat=True)[:batch_size]):
        with transaction.atomic():
            Resource.objects.filter(id__in=ids).update(deleted_at=listing.now, updated_at=listing.now)
            with connection.cursor() as cursor:
                cursor.executemany(listing.change_sql, [listing.change_row(pk, ChangeType.DELETED, {}) for pk in ids])
        stats.deleted += len(ids)
