"""The sync pipeline: one listing (a cloud, a native type, a region) into the inventory.

normalize -> fingerprint -> compare with the stored rows a batch at a time -> insert new rows,
update modified ones, touch ``last_seen`` of unchanged ones -> one ResourceChange per created /
modified / deleted resource, with a key-level diff.

Why it looks the way it does:

* Memory is bounded by the batch, not by the estate: records are consumed ``batch_size`` at a
  time, and deletion is found in the database (live rows of the listing whose ``last_seen`` is
  older than this harvest's timestamp) instead of by keeping every id seen.
* An unchanged re-harvest is the common case and costs little: one serialization of each record
  gives its fingerprint (the column texts are only made for new and modified rows); per batch
  one SELECT of (id, native id, fingerprint); the unchanged rows' ``last_seen`` is set by one
  UPDATE per ``TOUCH_BATCH`` rows; and when the rows stamped by this harvest are as many as the
  live rows of the listing, the search for unseen rows (a read of the whole listing) is skipped.
* New rows: one multi-row INSERT (``executemany``, which mysqlclient rewrites into multi-row
  INSERTs) and one SELECT of their ids; the rare modified rows: a SELECT of their old values
  and an UPDATE each.
* Deletion is only concluded from a complete listing (``complete=True``); a listing that failed
  part-way updates what it saw and never deletes.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
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
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "read"):  # botocore StreamingBody and the like: never stored
        return None
    return str(value)


_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps_bytes(value: Any) -> bytes:
    """Canonical JSON (UTF-8): sorted keys, no spaces, datetimes as ISO-8601.

    orjson is several times faster than the standard library here, and serializing is most of
    the cost of an unchanged re-harvest; both give the same text (the fallback covers what
    orjson refuses, such as integers beyond 64 bits).
    """
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
    except TypeError:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
        return text.encode()


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()


def fingerprint(name: str, properties: Any, raw: Any, tags: Any) -> str:
    """SHA-1 of the canonical JSON of ``[name, properties, raw, tags]``, serialized in one call.

    One serialization of the whole record is about half the cost of three (one per column), and
    on an unchanged re-harvest the fingerprint is all that is needed: the column texts are only
    made for new and modified rows (:func:`fingerprint_of_parts` gives the same digest from them).
    A change detector, not a security boundary: SHA-1 is the fastest hashlib digest here.
    """
    try:
        text = orjson.dumps((name, properties, raw, tags), default=_json_default, option=_ORJSON_OPTIONS)
    except TypeError:  # what orjson refuses: the same bytes, part by part, through the fallback
        return fingerprint_of_parts(name, dumps_bytes(properties), dumps_bytes(raw), dumps_bytes(tags))
    return hashlib.sha1(text).hexdigest()


def fingerprint_of_parts(name: str, properties_json: bytes, raw_json: bytes, tags_json: bytes) -> str:
    """:func:`fingerprint` from the column texts: a JSON array is its items joined by commas."""
    text = b"".join((b"[", dumps_bytes(name), b",", properties_json, b",", raw_json, b",", tags_json, b"]"))
    return hashlib.sha1(text).hexdigest()


_MISSING = object()


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """``{dotted.path: [old, new]}`` for every leaf whose JSON differs (lists compare as whole values)."""
    flat_old, flat_new = _flatten(old, "", {}), _flatten(new, "", {})
    changes = {}
    for path in sorted(flat_old.keys() | flat_new.keys()):
        before, after = flat_old.get(path, _MISSING), flat_new.get(path, _MISSING)
        # Python finds 1 == 1.0 == True; JSON (and the fingerprint) does not.
        if before != after or (before is not _MISSING and dumps_bytes(before) != dumps_bytes(after)):
            changes[path] = [None if before is _MISSING else before, None if after is _MISSING else after]
    return changes


# --- the pipeline ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Prepared:
    record: ResourceRecord
    name: str
    fingerprint: str
    # The column texts, kept as bytes; made in advance for a listing known to be new, otherwise
    # only when the row turns out to be new or modified (see ``parts``).
    properties_bytes: bytes | None = None
    raw_bytes: bytes | None = None
    tags_bytes: bytes | None = None

    def parts(self) -> _Prepared:
        if self.properties_bytes is None:
            record = self.record
            self.properties_bytes = dumps_bytes(record.properties)
            self.raw_bytes = dumps_bytes(record.raw or {})
            self.tags_bytes = dumps_bytes(record.tags or {})
        return self

    @property
    def properties_json(self) -> str:
        return self.parts().properties_bytes.decode()

    @property
    def raw_json(self) -> str:
        return self.parts().raw_bytes.decode()

    @property
    def tags_json(self) -> str:
        return self.parts().tags_bytes.decode()


def _prepare(record: ResourceRecord, with_parts: bool = True) -> _Prepared:
    """Normalize and fingerprint one record; ``with_parts``: also serialize its columns now."""
    spec = TYPES.get(record.resource_type)
    if spec is None:
        raise ValueError(f"{record.native_type} {record.native_id}: unknown normalized type {record.resource_type!r}")
    properties = record.properties
    for key in spec.properties.keys() - properties.keys():  # normalize: every common key present
        properties[key] = None  # (None where the cloud has none)
    name = (record.name or "")[:512]
    if not with_parts:
        return _Prepared(record, name, fingerprint(name, properties, record.raw or {}, record.tags or {}))
    prepared = _Prepared(record, name, "").parts()
    prepared.fingerprint = fingerprint_of_parts(
        name, prepared.properties_bytes, prepared.raw_bytes, prepared.tags_bytes
    )
    return prepared


def _prepare_batches(records: Iterable[ResourceRecord], size: int, with_parts: bool) -> Iterator[dict[str, _Prepared]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        prepared: dict[str, _Prepared] = {}
        for record in batch:  # a duplicate id in one page: the last wins
            prepared[record.native_id] = _prepare(record, with_parts)
        yield prepared


PREFETCH_BATCHES = 2
_DONE = object()


def _prepared_batches(records: Iterable[ResourceRecord], size: int, with_parts: bool) -> Iterator[dict[str, _Prepared]]:
    """Prepared batches, made one or two ahead in a helper thread.

    Listing the cloud (network) and serializing records (CPU) then overlap with the database
    writes of the previous batch (mysqlclient and sqlite3 release the GIL while they wait).
    At most ``PREFETCH_BATCHES`` + 2 batches exist at once, so memory stays bounded by the batch.
    An exception of the listing is raised here, in the caller's thread, where it happened in order.
    """
    ahead: queue.Queue = queue.Queue(maxsize=PREFETCH_BATCHES)
    stop = threading.Event()

    def produce() -> None:
        try:
            for prepared in _prepare_batches(records, size, with_parts):
                while not stop.is_set():
                    try:
                        ahead.put(prepared, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except BaseException as exc:  # handed over to the caller
            item = exc
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    producer = threading.Thread(target=produce, name="sync-prepare", daemon=True)
    producer.start()
    try:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join(timeout=30)


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
        self.returning = connection.features.can_return_rows_from_bulk_insert
        q = connection.ops.quote_name
        resource, change = q(Resource._meta.db_table), q(ResourceChange._meta.db_table)
        self.resource_table = resource
        self.listing_filter = f"{q('cloud_id')} = %s AND {q('native_type')} = %s AND {q('region')} = %s"
        self.listing_params = [self.cloud_id, native_type, region]
        self.select_sql = (
            f"SELECT {q('id')}, {q('native_id')}, {q('fingerprint')}, {q('deleted_at')} IS NULL, "
            f"{q('last_seen')} < %s FROM {resource} WHERE {self.listing_filter} AND {q('native_id')} IN "
        )
        self.select_ids_sql = f"SELECT {q('id')}, {q('native_id')} FROM {resource} WHERE {self.listing_filter} AND "
        self.select_ids_sql += f"{q('native_id')} IN "
        # Only rows not stamped yet by this harvest: the count of matched rows (Django connects to
        # MySQL with FOUND_ROWS) is then the number of distinct rows newly seen (see ``_Seen``).
        touch = f"UPDATE {resource} SET {q('last_seen')} = %s WHERE {q('last_seen')} < %s AND {q('id')} IN "
        if connection.vendor == "mysql" and connection.mysql_is_mariadb:
            # MariaDB re-validates every CHECK constraint of a row it updates, here json_valid() of the
            # three JSON columns: a third of the cost of touching a row, for columns left unchanged.
            touch = "SET STATEMENT check_constraint_checks = 0 FOR " + touch
        self.touch_sql = touch
        self.refingerprint_sql = (
            f"UPDATE {resource} SET {q('fingerprint')} = %s, {q('last_seen')} = %s WHERE {q('id')} = %s"
        )
        self.count_sql = f"SELECT COUNT(*) FROM {resource} WHERE {self.listing_filter}"
        self.count_deleted_sql = self.count_sql + f" AND {q('deleted_at')} IS NOT NULL"
        columns = [
            "cloud_id",
            "provider",
            "resource_type",
            "native_type",
            "region",
            "native_id",
            "name",
            "properties",
            "raw",
            "tags",
            "fingerprint",
            "first_seen",
            "last_seen",
            "updated_at",
        ]
        self.insert_head = f"INSERT INTO {resource} ({', '.join(q(c) for c in columns)}) VALUES "
        self.insert_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        self.insert_returning = f" RETURNING {q('id')}, {q('native_id')}"
        self.update_sql = (
            f"UPDATE {resource} SET {q('resource_type')} = %s, {q('name')} = %s, {q('properties')} = %s, "
            f"{q('raw')} = %s, {q('tags')} = %s, {q('fingerprint')} = %s, {q('last_seen')} = %s, "
            f"{q('updated_at')} = %s, {q('deleted_at')} = NULL WHERE {q('id')} = %s"
        )
        self.change_sql = (
            f"INSERT INTO {change} ({q('resource_id')}, {q('cloud_id')}, {q('change_type')}, {q('diff')}, "
            f"{q('job_id')}, {q('created_at')}) VALUES (%s, %s, %s, %s, %s, %s)"
        )
        # Created / deleted changes (empty diff) are made by the database from the ids: one short
        # statement instead of thousands of parameters.
        self.changes_from_ids_sql = (
            f"INSERT INTO {change} ({q('resource_id')}, {q('cloud_id')}, {q('change_type')}, {q('diff')}, "
            f"{q('job_id')}, {q('created_at')}) SELECT {q('id')}, {q('cloud_id')}, %s, '{{}}', %s, %s "
            f"FROM {resource} WHERE {q('id')} IN "
        )
        # The classic single-row form: mysqlclient's executemany rewrites it into multi-row INSERTs.
        self.insert_sql = self.insert_head + self.insert_row

    def rows(self):  # noqa: ANN201
        return Resource.objects.filter(cloud_id=self.cloud_id, native_type=self.native_type, region=self.region)

    def add_changes(self, cursor: Any, change_type: str, ids: list[int]) -> None:
        """One ``change_type`` change with an empty diff for each resource id."""
        if ids:
            sql = self.changes_from_ids_sql + "(" + ",".join(str(int(pk)) for pk in ids) + ")"
            cursor.execute(sql, [change_type, self.job_id, self.db_now])

    def change_row(self, resource_id: int, change_type: str, change: dict) -> tuple:
        return (resource_id, self.cloud_id, change_type, dumps(change), self.job_id, self.db_now)


def _in(count: int) -> str:
    return "(" + ", ".join(["%s"] * count) + ")"


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
    # A listing never harvested before (the first harvest of a cloud) has nothing to compare with:
    # its batches are inserted without the SELECT of stored rows. A native id repeated in a later
    # page (eventual consistency) then hits the unique key and that batch goes the usual way.
    first_harvest = not listing.rows().exists()
    seen = _Seen(listing)
    try:
        # A first harvest writes every column of every row: serialize them in the helper thread.
        for prepared in _prepared_batches(records, batch_size, with_parts=first_harvest):
            stats.seen += len(prepared)
            if first_harvest and _insert_all_new(listing, prepared, stats, seen):
                continue
            first_harvest = False
            _sync_batch(listing, prepared, stats, seen)
    finally:  # what was seen is stamped, even when the listing failed part-way
        seen.flush()
    if complete and not seen.covers_the_live_rows():
        _delete_unseen(listing, batch_size, stats)
    return stats


TOUCH_BATCH = 10_000  # unchanged rows stamped by one UPDATE


class _Seen:
    """Stamps ``last_seen`` on unchanged rows, and counts the distinct rows this harvest stamped.

    Unchanged rows are stamped ``TOUCH_BATCH`` at a time: one statement (and one commit, one log
    flush) for ten batches instead of one each; only their ids wait, so memory stays small. ``stamped``
    counts each row once, the first time this harvest stamps it (inserted, updated or touched).
    """

    def __init__(self, listing: _Listing) -> None:
        self.listing = listing
        self.pending: list[int] = []
        self.stamped = 0

    def touch(self, ids: list[int]) -> None:
        self.pending.extend(ids)
        if len(self.pending) >= TOUCH_BATCH:
            self.flush()

    def flush(self) -> None:
        """``last_seen = now`` for the waiting rows (ids from the database, inlined: a short statement to parse)."""
        if not self.pending:
            return
        ids, self.pending = self.pending, []
        now = self.listing.db_now
        with connection.cursor() as cursor:
            cursor.execute(self.listing.touch_sql + "(" + ",".join(map(str, ids)) + ")", [now, now])
            self.stamped += cursor.rowcount

    def covers_the_live_rows(self) -> bool:
        """True when every live row of the listing was stamped: nothing to mark deleted.

        Stamped rows are distinct live rows, so equal counts prove it without reading the rows
        (the search for unseen rows reads every row of the listing). Counted from the unique key;
        the deleted rows, usually few, from the index of deleted rows per cloud.
        """
        listing = self.listing
        with connection.cursor() as cursor:
            cursor.execute(listing.count_sql, listing.listing_params)
            rows = cursor.fetchone()[0]
            if rows == self.stamped:
                return True
            cursor.execute(listing.count_deleted_sql, listing.listing_params)
            return rows - cursor.fetchone()[0] == self.stamped


def _insert_all_new(listing: _Listing, prepared: dict[str, _Prepared], stats: SyncStats, seen: _Seen) -> bool:
    """Insert a batch believed new; False (nothing written) when one of its ids is stored already."""
    try:
        with transaction.atomic():
            _insert(listing, prepared)
    except IntegrityError:
        return False
    stats.created += len(prepared)
    seen.stamped += len(prepared)
    return True


def _sync_batch(listing: _Listing, prepared: dict[str, _Prepared], stats: SyncStats, seen: _Seen) -> None:
    with connection.cursor() as cursor:
        cursor.execute(listing.select_sql + _in(len(prepared)), [listing.db_now, *listing.listing_params, *prepared])
        existing = cursor.fetchall()
    unchanged: list[int] = []
    changed: dict[int, tuple[_Prepared, bool, bool]] = {}  # id -> (record, revived, not stamped yet)
    for pk, native_id, stored_fingerprint, live, unstamped in existing:
        item = prepared.pop(native_id, None)
        if item is None:
            continue
        if live and item.fingerprint == stored_fingerprint:
            unchanged.append(pk)
        else:
            changed[pk] = (item, not live, bool(unstamped))
    new = prepared  # what is left was never stored

    if unchanged:
        seen.touch(unchanged)
    if not new and not changed:  # the usual re-harvest
        return
    newly_stamped = len(new)
    with transaction.atomic():
        if new:
            _insert(listing, new)
            stats.created += len(new)
        if changed:
            newly_stamped += _update(listing, changed, stats)
    seen.stamped += newly_stamped


INSERT_CHUNK_BYTES = 4 * 1024 * 1024  # well under MariaDB's default max_allowed_packet (16 MiB)
INSERT_CHUNK_ROWS = 1000  # 14 parameters a row: under SQLite's 32,766 variables


def _insert(listing: _Listing, new: dict[str, _Prepared]) -> None:
    now = listing.db_now
    rows = [
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
    ]
    with connection.cursor() as cursor:
        if listing.returning:
            ids = []
            for chunk in _chunks_by_size(rows):
                sql = listing.insert_head + ", ".join([listing.insert_row] * len(chunk)) + listing.insert_returning
                cursor.execute(sql, [value for row in chunk for value in row])
                ids.extend(pk for pk, _ in cursor.fetchall())
        else:  # MySQL: no RETURNING; read the ids back by the unique key
            cursor.executemany(listing.insert_sql, rows)
            cursor.execute(listing.select_ids_sql + _in(len(new)), [*listing.listing_params, *new])
            ids = [pk for pk, _ in cursor.fetchall()]
        listing.add_changes(cursor, ChangeType.CREATED, ids)


def _chunks_by_size(rows: list[tuple]) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    size = 0
    for row in rows:
        row_size = len(row[7]) + len(row[8]) + len(row[9]) + 200
        if chunk and (size + row_size > INSERT_CHUNK_BYTES or len(chunk) == INSERT_CHUNK_ROWS):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk


def _update(listing: _Listing, changed: dict[int, tuple[_Prepared, bool, bool]], stats: SyncStats) -> int:
    """Write the changed rows and their changes; returns how many were not stamped yet by this harvest."""
    old_values = Resource.objects.filter(id__in=list(changed)).values_list("id", "name", "properties", "raw", "tags")
    change_rows, updates, refingerprints = [], [], []
    now = listing.db_now
    newly_stamped = 0
    for pk, name, properties, raw, tags in old_values:
        item, revived, unstamped = changed[pk]
        newly_stamped += unstamped
        item.parts()
        before = {"name": name, "properties": properties, "raw": raw, "tags": tags}
        after = {
            "name": item.name,
            "properties": json.loads(item.properties_bytes),
            "raw": json.loads(item.raw_bytes),
            "tags": json.loads(item.tags_bytes),
        }
        change = diff(before, after)
        if not change and not revived:  # the same content under a fingerprint made another way: no change
            refingerprints.append((item.fingerprint, now, pk))
            continue
        change_type = ChangeType.CREATED if revived else ChangeType.MODIFIED
        change_rows.append(listing.change_row(pk, change_type, change))
        if revived:
            stats.created += 1
        else:
            stats.modified += 1
        updates.append(
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
        )
    with connection.cursor() as cursor:
        if updates:
            cursor.executemany(listing.update_sql, updates)
            cursor.executemany(listing.change_sql, change_rows)
        if refingerprints:
            cursor.executemany(listing.refingerprint_sql, refingerprints)
    return newly_stamped


def _delete_unseen(listing: _Listing, batch_size: int, stats: SyncStats) -> None:
    """Mark deleted the live rows of the listing that this harvest did not see."""
    unseen = listing.rows().filter(deleted_at__isnull=True, last_seen__lt=listing.now)
    while ids := list(unseen.values_list("id", flat=True)[:batch_size]):
        with transaction.atomic():
            Resource.objects.filter(id__in=ids).update(deleted_at=listing.now, updated_at=listing.now)
            with connection.cursor() as cursor:
                listing.add_changes(cursor, ChangeType.DELETED, ids)
        stats.deleted += len(ids)
