"""Our Redis broker transport: kombu's own, with one Redis client object per channel; and a reader
of the messages workers hold unacknowledged (for scheduler.reaper).

For its acknowledgement bookkeeping (recording a message as unacknowledged when a worker takes
it, removing it on ack) kombu's Redis channel builds a new redis-py client object on every call;
with redis-py 8 building one is about a sixth of a worker main process's time per message
(py-spy, Nov 2026). The client object is only a thread-safe front to the channel's connection
pool, so one per pool does the same Redis work without the cost. Everything else is kombu's.
Selected by ``CELERY_BROKER_TRANSPORT`` in settings (kombu is pinned in pyproject.toml: this
overrides one of its methods).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


@dataclass(frozen=True)
class TakenMessage:
    """A message a worker took and has not acknowledged (kombu's ``unacked`` hash)."""

    task: str
    args: list
    kwargs: dict
    taken_at: float  # epoch seconds
    eta: str | None


def messages_taken_before(client, taken_before: float, limit: int = 1000) -> list[TakenMessage]:  # noqa: ANN001
    """Task messages workers took before ``taken_before`` (epoch seconds) and still hold unacknowledged.

    Reads kombu's Redis layout (``unacked_index``: delivery tag -> when taken; ``unacked``: tag ->
    [payload, exchange, routing key]); kombu is pinned in pyproject.toml. A payload that is not
    a JSON task message of protocol 2 is left out.
    """
    tags = client.zrangebyscore("unacked_index", "-inf", taken_before, start=0, num=limit, withscores=True)
    taken = []
    for tag, score in tags:
        raw = client.hget("unacked", tag)
        try:
            payload = json.loads(raw)[0]
            body = payload["body"]
            if payload["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args, kwargs, _ = json.loads(body)
            headers = payload["headers"]
            taken.append(TakenMessage(headers["task"], args, kwargs, score, headers.get("eta")))
        except (TypeError, ValueError, KeyError, IndexError):
            continue
    return taken
