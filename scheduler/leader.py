"""Leader election between schedulers: one holds a lease with a TTL and renews it; the others wait.

With Redis the lease is a key set with ``SET NX PX`` and renewed by a script that checks the
holder (so a scheduler that lost the key never extends someone else's). With the embedded
broker (no Redis) it is a database row taken by a conditional UPDATE. Either way a standby
takes over at most TTL + one renewal period after the leader dies.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger("insightcloud.scheduler")

LOCK_KEY = "insightcloud:scheduler:leader"
LEASE_NAME = "scheduler"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def redis_client():  # noqa: ANN201  (redis is imported lazily: the embedded mode has none)
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


class RedisLease:
    def __init__(self, holder: str, ttl_seconds: int) -> None:
        self.holder = holder
        self.ttl_ms = ttl_seconds * 1000
        self.client = redis_client()

    def acquire_or_renew(self) -> bool:
        if self.client.eval(_RENEW, 1, LOCK_KEY, self.holder, self.ttl_ms):
            return True
        return bool(self.client.set(LOCK_KEY, self.holder, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, LOCK_KEY, self.holder)


class DatabaseLease:
    def __init__(self, holder: str, ttl_seconds: int) -> None:
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)

    def acquire_or_renew(self) -> bool:
        from scheduler.models import SchedulerLease

        close_old_connections()
        now = timezone.now()
        taken = (
            SchedulerLease.objects.filter(name=LEASE_NAME)
            .filter(Q(holder=self.holder) | Q(expires_at__lt=now))
            .update(holder=self.holder, expires_at=now + self.ttl)
        )
        if taken:
            return True
        try:
            SchedulerLease.objects.create(name=LEASE_NAME, holder=self.holder, expires_at=now + self.ttl)
            return True
        except IntegrityError:
            return False

    def release(self) -> None:
        from scheduler.models import SchedulerLease

        SchedulerLease.objects.filter(name=LEASE_NAME, holder=self.holder).update(holder="", expires_at=timezone.now())


def make_lease(holder: str, ttl_seconds: int | None = None) -> RedisLease | DatabaseLease:
    ttl = ttl_seconds or settings.SCHEDULER_LOCK_TTL_SECONDS
    return DatabaseLease(holder, ttl) if settings.EMBEDDED_BROKER else RedisLease(holder, ttl)


def current_leader() -> str | None:
    """The name of the scheduler holding the lease, or None (for diagnostics)."""
    if settings.EMBEDDED_BROKER:
        from scheduler.models import SchedulerLease

        lease = SchedulerLease.objects.filter(name=LEASE_NAME, expires_at__gte=timezone.now()).first()
        return lease.holder if lease and lease.holder else None
    value = redis_client().get(LOCK_KEY)
    return value.decode() if value else None


class LeaderElection:
    """A thread that keeps trying to take or renew the lease; ``is_leader`` says whether we hold it."""

    def __init__(self, holder: str, ttl_seconds: int | None = None) -> None:
        self.holder = holder
        self.ttl = ttl_seconds or settings.SCHEDULER_LOCK_TTL_SECONDS
        self.lease = make_lease(holder, self.ttl)
        self._leader = threading.Event()
        self._said_standby = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self._leader.is_set()

    def start(self) -> None:
        self.step()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._leader.is_set():
            try:
                self.lease.release()
            except Exception as exc:
                logger.warning("could not release the scheduler lock: %s", exc)
            self._leader.clear()

    def step(self) -> None:
        try:
            held = self.lease.acquire_or_renew()
        except Exception as exc:  # Redis or the database restarting: act as standby until it is back
            if self._leader.is_set():
                logger.warning("scheduler lock unreachable (%s); pausing until it is back", exc)
            held = False
        if held and not self._leader.is_set():
            logger.info("scheduler %s is now the active scheduler", self.holder)
            self._leader.set()
        elif not held and self._leader.is_set():
            logger.warning("scheduler %s lost the lock; standing by", self.holder)
            self._leader.clear()
        elif not held and not self._said_standby:
            try:
                active = current_leader() or "none (the lock is unreachable)"
            except Exception:
                active = "unknown (the lock is unreachable)"
            logger.info("scheduler %s is standing by; the active scheduler is %s", self.holder, active)
        self._said_standby = not held

    def _run(self) -> None:
        period = max(1.0, self.ttl / 4)
        try:
            while not self._stop.wait(period):
                self.step()
        finally:
            if settings.EMBEDDED_BROKER:
                connection.close()
