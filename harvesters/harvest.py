"""Harvest one cloud account: every registered resource type of its provider, in every region.

Cloud-agnostic: the provider's driver (``@cloud_driver``) authenticates and lists regions, the
registered resource types (``@resource_type``) list resources, ``harvesters.sync`` stores them.

Listings run concurrently in a bounded thread pool, at most ``per_service`` at a time for one
service (so one throttled API does not take every thread). Each listing is retried with
backoff on transient errors; a listing that still fails is recorded in the report and the job
log, keeps what it already had (no deletion) and does not stop the others. Invalid credentials
stop the harvest and set the cloud's status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from harvesters.base import (
    GLOBAL,
    AssumeRoleFailed,
    HarvestError,
    InvalidCredentials,
    ResourceTypeSpec,
    TransientError,
    get_driver,
    resource_types_for,
    with_backoff,
)
from harvesters.sync import SyncStats, sync_listing
from insightcloud.inventory.models import CloudAccount, CloudStatus
from scheduler.jobs import P2, job_kind

logger = logging.getLogger(__name__)

MAX_WORKERS = 8  # listings in flight for one cloud
PER_SERVICE = 4  # listings in flight for one service of one cloud
LISTING_ATTEMPTS = 4  # tries of one listing on transient errors (on top of the SDK's own retries)
BACKOFF_BASE_SECONDS = 1.0
CONNECT_ATTEMPTS = 3

_NOT_HARVESTED = (CloudStatus.PAUSED, CloudStatus.CLOSED)


@dataclass
class ListingResult:
    native_type: str
    region: str
    service: str
    stats: SyncStats = field(default_factory=SyncStats)
    error: str = ""
    attempts: int = 0
    seconds: float = 0.0
    skipped: bool = False
    exception: BaseException | None = field(default=None, repr=False, compare=False)  # classified, not serialized

    def as_dict(self) -> dict[str, Any]:
        return {
            "native_type": self.native_type,
            "region": self.region,
            **self.stats.as_dict(),
            "error": self.error,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


@dataclass
class HarvestReport:
    cloud_id: int
    cloud_name: str
    account_id: str = ""
    regions: list[str] = field(default_factory=list)
    listings: list[ListingResult] = field(default_factory=list)
    error: str = ""  # the harvest could not run at all (credentials, paused cloud …)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error and not self.errors

    @property
    def errors(self) -> list[ListingResult]:
        return [listing for listing in self.listings if listing.error]

    def totals(self) -> SyncStats:
        total = SyncStats()
        for listing in self.listings:
            total.add(listing.stats)
        return total

    def by_type(self) -> dict[str, dict[str, Any]]:
        """Per native type: seen / created / modified / deleted over its regions, and its errors."""
        summary: dict[str, dict[str, Any]] = {}
        for listing in sorted(self.listings, key=lambda item: (item.native_type, item.region)):
            entry = summary.setdefault(
                listing.native_type, {"seen": 0, "created": 0, "modified": 0, "deleted": 0, "errors": []}
            )
            for key, value in listing.stats.as_dict().items():
                entry[key] += value
            if listing.error:
                entry["errors"].append(f"{listing.region}: {listing.error}")
        return summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "cloud_id": self.cloud_id,
            "cloud_name": self.cloud_name,
            "account_id": self.account_id,
            "regions": self.regions,
            "error": self.error,
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
            "totals": self.totals().as_dict(),
            "types": self.by_type(),
            "errors": [f"{item.native_type} {item.region}: {item.error}" for item in self.errors],
        }


class _JobLog:
    """Thread-safe lines on the Job (and the Python log); cancellation checks."""

    def __init__(self, job: Any) -> None:
        self.job = job
        self.lock = threading.Lock()
        self.listings_done = 0

    def write(self, line: str) -> None:
        logger.info("%s", line)
        if self.job is None:
            return
        from scheduler.runner import append_log

        with self.lock:
            append_log(self.job, line)

    def listing_done(self, total: int) -> None:
        """One more listing finished (ok, failed or skipped): the job's progress."""
        from scheduler.runner import report_progress

        with self.lock:
            self.listings_done += 1
            done = self.listings_done
        report_progress(self.job, done, total, "listings")

    def cancel_requested(self) -> bool:
        if self.job is None:
            return False
        from scheduler.models import Job

        return Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()


def _set_status(cloud: CloudAccount, status: str, detail: str = "", **fields: Any) -> None:
    detail = " ".join(detail.split())[:1000]  # one line
    CloudAccount.objects.filter(pk=cloud.pk).update(
        status=status, status_detail=detail, updated_at=timezone.now(), **fields
    )
    cloud.status, cloud.status_detail = status, detail
    for key, value in fields.items():
        setattr(cloud, key, value)


class _Driver:
    """A cloud driver, with the optional ``is_transient`` / ``classify`` hooks defaulted.

    Drivers may add ``is_transient(exc) -> bool`` (worth retrying) and ``classify(exc) ->
    HarvestError`` (what the report and the cloud's status say); without them only our own
    TransientError is retried and other SDK errors are reported as they are.
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def connect(self, cloud: CloudAccount) -> Any:
        return self.driver.connect(cloud)

    def regions(self, ctx: Any) -> list[str]:
        return self.driver.regions(ctx)

    def is_transient(self, exc: BaseException) -> bool:
        hook = getattr(self.driver, "is_transient", None)
        return hook(exc) if hook else isinstance(exc, TransientError)

    def classify(self, exc: BaseException) -> BaseException:
        hook = getattr(self.driver, "classify", None)
        if hook:
            return hook(exc)
        return exc if isinstance(exc, HarvestError) else HarvestError(" ".join(f"{type(exc).__name__}: {exc}".split()))


def _interleave(specs: list[ResourceTypeSpec], regions: list[str]) -> list[tuple[ResourceTypeSpec, str]]:
    """(type, region) pairs, services taking turns so that the pool spreads over APIs."""
    by_service: dict[str, list[tuple[ResourceTypeSpec, str]]] = defaultdict(list)
    for spec in specs:
        for region in [GLOBAL] if spec.scope == "global" else regions:
            by_service[spec.service].append((spec, region))
    queues = list(by_service.values())
    ordered = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def harvest_cloud(
    cloud: CloudAccount,
    regions: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
    job: Any = None,
    *,
    max_workers: int = MAX_WORKERS,
    per_service: int = PER_SERVICE,
) -> HarvestReport:
    """Harvest ``cloud`` (optionally only some regions / types: native or normalized type names).

    ``max_workers=1`` runs every listing in the calling thread (and its database connection).
    """
    started = time.monotonic()
    report = HarvestReport(cloud_id=cloud.pk, cloud_name=cloud.name, account_id=cloud.account_id)
    log = _JobLog(job)
    try:
        _harvest(cloud, regions, types, report, log, max_workers, per_service)
    finally:
        report.seconds = time.monotonic() - started
    totals = report.totals()
    log.write(
        f"harvest of {cloud.name} finished in {report.seconds:.1f}s: {totals.seen} seen, {totals.created} created, "
        f"{totals.modified} modified, {totals.deleted} deleted, {len(report.errors)} listing errors"
        + (f"; {report.error}" if report.error else "")
    )
    return report


def _harvest(
    cloud: CloudAccount,
    regions: Iterable[str] | None,
    types: Iterable[str] | None,
    report: HarvestReport,
    log: _JobLog,
    max_workers: int,
    per_service: int,
) -> None:
    if cloud.status in _NOT_HARVESTED:
        report.error = f"cloud {cloud.name!r} is {cloud.status}; not harvested"
        return
    types = list(types or [])
    specs = resource_types_for(cloud.provider, types or None)
    if types and not specs:
        report.error = f"no {cloud.provider} resource type matches {', '.join(types)}"
        return
    driver = _Driver(get_driver(cloud.provider))
    try:
        ctx = with_backoff(
            lambda: driver.connect(cloud),
            is_transient=driver.is_transient,
            attempts=CONNECT_ATTEMPTS,
            base_delay=BACKOFF_BASE_SECONDS,
        )
    except InvalidCredentials as exc:
        report.error = f"invalid credentials: {exc}"
        _set_status(cloud, CloudStatus.INVALID_CREDENTIALS, str(exc))
        return
    except AssumeRoleFailed as exc:
        report.error = f"assume-role failed: {exc}"
        _set_status(cloud, CloudStatus.ASSUME_ROLE_FAILED, str(exc))
        return
    except Exception as exc:
        report.error = f"cannot connect: {driver.classify(exc)}"
        return
    if cloud.account_id and ctx.account_id and ctx.account_id != cloud.account_id:
        # Never store one account's resources under another account's cloud.
        report.error = f"credentials reach account {ctx.account_id}, not {cloud.account_id}"
        _set_status(cloud, CloudStatus.INVALID_CREDENTIALS, report.error)
        return
    report.account_id = ctx.account_id or cloud.account_id
    try:
        available = list(cloud.regions or []) or driver.regions(ctx)
    except Exception as exc:
        report.error = f"cannot list regions: {driver.classify(exc)}"
        return
    report.regions = [region for region in regions if region] if regions else available
    pairs = _interleave(specs, report.regions)
    log.write(f"harvesting {cloud.name}: {len(specs)} types, {len(report.regions)} regions, {len(pairs)} listings")

    stop = threading.Event()
    credential_error: list[BaseException] = []
    semaphores: dict[str, threading.Semaphore] = defaultdict(lambda: threading.Semaphore(per_service))
    for spec in specs:
        semaphores[spec.service]  # noqa: B018  (create them before the threads race for them)

    def run(spec: ResourceTypeSpec, region: str) -> ListingResult:
        result = ListingResult(spec.native_type, region, spec.service)
        try:
            if stop.is_set():
                result.skipped = True
                return result
            if log.cancel_requested():
                report.cancelled = True
                stop.set()
                result.skipped = True
                return result
            with semaphores[spec.service]:
                _run_listing(cloud, ctx, driver, spec, region, result, log, job=log.job)
            if result.error and isinstance(result.exception, InvalidCredentials | AssumeRoleFailed):
                credential_error.append(result.exception)
                stop.set()
            return result
        finally:
            log.listing_done(len(pairs))
            if max_workers > 1:
                connection.close()  # each pool thread has its own database connection

    if max_workers <= 1:
        report.listings = [run(spec, region) for spec, region in pairs]
    else:
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"harvest-{cloud.pk}") as pool:
            report.listings = list(pool.map(lambda pair: run(*pair), pairs))

    if credential_error:
        exc = credential_error[0]
        status = (
            CloudStatus.ASSUME_ROLE_FAILED if isinstance(exc, AssumeRoleFailed) else CloudStatus.INVALID_CREDENTIALS
        )
        report.error = f"credentials stopped working: {exc}"
        _set_status(cloud, status, str(exc))
        return
    if report.cancelled:
        log.write("cancel requested: remaining listings skipped")
    _set_status(cloud, CloudStatus.OK, "", last_harvest_at=timezone.now())


def _run_listing(
    cloud: CloudAccount,
    ctx: Any,
    driver: Any,
    spec: ResourceTypeSpec,
    region: str,
    result: ListingResult,
    log: _JobLog,
    job: Any,
) -> None:
    started = time.monotonic()
    now = timezone.now()  # one timestamp for every attempt: rows seen by any attempt count as seen

    def attempt() -> SyncStats:
        result.attempts += 1
        result.stats.seen = 0
        records = spec.collect(ctx, region)
        return sync_listing(
            cloud, spec.native_type, region, records, complete=True, job=job, now=now, stats=result.stats
        )

    try:
        with_backoff(
            attempt, is_transient=driver.is_transient, attempts=LISTING_ATTEMPTS, base_delay=BACKOFF_BASE_SECONDS
        )
    except Exception as exc:  # recorded; the other listings go on and nothing is deleted
        error = driver.classify(exc)
        result.exception = error
        result.error = f"{type(error).__name__}: {' '.join(str(error).split())}"
        log.write(f"{spec.native_type} in {region} failed after {result.attempts} attempt(s): {result.error}")
        logger.debug("listing %s %s failed", spec.native_type, region, exc_info=True)
    finally:
        result.seconds = time.monotonic() - started


@job_kind("harvest", priority=P2, time_limit=4 * 3600)
def harvest_job(job: Any, cloud_id: int, regions: list[str] | None = None, types: list[str] | None = None) -> dict:
    """Harvests one cloud account (optionally some regions / resource types) into the inventory."""
    cloud = CloudAccount.objects.get(pk=cloud_id)
    report = harvest_cloud(cloud, regions, types, job=job)
    if report.error:
        raise HarvestFailed(report.error)
    return report.to_dict()


class HarvestFailed(Exception):
    """The harvest could not run (credentials, assume-role, paused cloud)."""
