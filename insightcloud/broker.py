"""Our Redis broker transport: kombu's own, with one Redis client object per channel.

For its acknowledgement bookkeeping (recording a message as unacknowledged when a worker takes
it, removing it on ack) kombu's Redis channel builds a new redis-py client object on every call;
with redis-py 8 building one is about a sixth of a worker main process's time per message
(py-spy, Nov 2026). The client object is only a thread-safe front to the channel's connection
pool, so one per pool does the same Redis work without the cost. Everything else is kombu's.
Selected by ``CELERY_BROKER_TRANSPORT`` in settings (kombu is pinned in pyproject.toml: this
overrides one of its methods).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    @contextmanager
    def conn_or_acquire(self, client=None) -> Iterator:  # noqa: ANN001 (kombu's signature)
        if client:
            yield client
            return
        pool = self.pool  # kombu replaces the pool after a fork or a failed connection: follow it
        cached = self.__dict__.get("_bookkeeping_client")
        if cached is None or cached[0] is not pool:
            cached = self.__dict__["_bookkeeping_client"] = (pool, self._create_client())
        yield cached[1]


class Transport(kombu_redis.Transport):
    Channel = Channel
