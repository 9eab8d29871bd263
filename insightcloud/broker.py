"""Our Redis broker transport: kombu's own, with its ``unacked`` bookkeeping kept off the worker's
critical path; and a reader of the messages workers hold unacknowledged (for scheduler.reaper).

kombu emulates acknowledgements on Redis with bookkeeping: when a worker takes a message it
records it (ZADD ``unacked_index`` + HSET ``unacked``), on ack it removes it (ZREM + HDEL), and a
message left there longer than the visibility timeout is delivered again. A worker's main process
hands every message to its pool, so whatever it waits for delays every job; profiled (py-spy, Nov
2026) on a no-op job, kombu spent a third of that process's time on the bookkeeping:

- it built a new redis-py client object for every call: ``Channel`` keeps one per connection pool
  (it is only a thread-safe front to the pool);
- it waited for two round trips per message: in the worker's event loop, ``QoS`` sends the
  commands on a connection of its own without waiting for the replies, which it reads before its
  next send (``_UnackedWriter``), and an ack's removal rides with the next delivery's record. A
  timer of the loop sends what is left and reads every reply within ``ACK_DELAY``, and before a
  reject and when the channel closes (kombu then restores what is unacknowledged) everything is
  sent and confirmed at once.

Outside an event loop (producers, ``SimpleQueue``, another thread) kombu's own bookkeeping runs.
Selected by ``CELERY_BROKER_TRANSPORT`` in settings (kombu is pinned in pyproject.toml: this
overrides a few of its methods).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.json import dumps
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

#: The longest an ack's removal waits for a delivery's record to ride with. A message acked but
#: still in the bookkeeping could only come back after the visibility timeout (hours).
ACK_DELAY = 0.01

_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError)


class _UnackedWriter:
    """Sends a channel's bookkeeping commands on a connection of its own, reading Redis's replies
    only before its next send or when asked to wait, so the event loop never waits for them.

    Every command stays unconfirmed until its reply is read; if the connection fails, all of them
    are sent again on a new one (ZADD, HSET, ZREM and HDEL of one tag may be repeated safely), once,
    and then the error goes to kombu, whose connection handling takes over. Its commands are only
    the worker's own: unread replies on a connection shared with anyone else would be misread.
    """

    def __init__(self, channel) -> None:  # noqa: ANN001
        self._channel = channel
        self._pool = None
        self._connection = None
        self._unconfirmed: deque[tuple] = deque()
        self._replies_due = 0  # replies owed on the current connection, for the oldest unconfirmed commands
        self._lock = threading.Lock()

    def send(self, commands: list[tuple], wait: bool = False) -> None:
        """Send the commands; with ``wait``, return once Redis has answered every command sent."""
        with self._lock:
            self._unconfirmed.extend(commands)
            self._transmit(wait)

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    def _transmit(self, wait: bool) -> None:
        for attempt in (1, 2):
            try:
                connection = self._connected()
                self._read_replies(connection)
                if self._unconfirmed:
                    connection.send_packed_command(connection.pack_commands(self._unconfirmed), check_health=False)
                    self._replies_due = len(self._unconfirmed)
                if wait:
                    self._read_replies(connection)
                return
            except _CONNECTION_ERRORS:
                self._drop_connection()  # the next connection sends every unconfirmed command again
                if attempt == 2:
                    raise

    def _read_replies(self, connection) -> None:  # noqa: ANN001
        while self._replies_due:
            try:
                connection.read_response()
            except ResponseError as exc:  # a refused command does not stop the others
                logger.warning("Redis refused %s of the unacked bookkeeping: %s", self._unconfirmed[0][0], exc)
            self._unconfirmed.popleft()
            self._replies_due -= 1

    def _connected(self):  # noqa: ANN202
        pool = self._channel.pool  # kombu replaces the pool after a fork or a failed connection: follow it
        if self._connection is None or self._pool is not pool:
            self._drop_connection()
            self._pool, self._connection = pool, pool.get_connection()
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection, self._replies_due = self._connection, None, 0
        if connection is not None:
            connection.disconnect()  # replies may be unread on it: it must not serve anyone else as it is
            self._pool.release(connection)


class QoS(kombu_redis.QoS):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 (kombu's signature)
        super().__init__(*args, **kwargs)
        self._writer = _UnackedWriter(self.channel)
        self._acks_to_record: deque = deque()  # tags acked, still in the bookkeeping
        self._confirm_timer = None
        self._closed = False

    def _event_loop(self):  # noqa: ANN202
        """The worker's event loop, when this thread runs it and the keys need no prefix; else None."""
        if self.channel.global_keyprefix:
            return None
        return self.channel.connection.event_loop_of_this_thread()

    def append(self, message, delivery_tag) -> None:  # noqa: ANN001 (kombu's signature)
        loop = self._event_loop()
        if loop is None:
            super().append(message, delivery_tag)
            return
        delivery = message.delivery_info
        record = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        taken = [
            ("ZADD", self.unacked_index_key, time.time(), delivery_tag),
            ("HSET", self.unacked_key, delivery_tag, record),
        ]
        self._writer.send(self._take_ack_removals() + taken)
        virtual.QoS.append(self, message, delivery_tag)
        self._confirm_soon(loop)

    def ack(self, delivery_tag) -> None:  # noqa: ANN001
        loop = self._event_loop()
        if loop is None:
            super().ack(delivery_tag)
            return
        self._acks_to_record.append(delivery_tag)
        virtual.QoS.ack(self, delivery_tag)  # frees the prefetch slot now
        self._confirm_soon(loop)

    def reject(self, delivery_tag, requeue=False) -> None:  # noqa: ANN001, FBT002
        self.confirm_bookkeeping()  # kombu's reject writes on another connection: ours must land first
        super().reject(delivery_tag, requeue)

    def restore_unacked_once(self, stderr=None) -> None:  # noqa: ANN001
        try:
            self.confirm_bookkeeping()
        except Exception:  # at shutdown: what is unconfirmed comes back after the visibility timeout
            logger.warning("could not record the last acknowledgements in Redis", exc_info=True)
        super().restore_unacked_once(stderr)
        self._writer.close()
        self._closed = True  # a timer still due finds nothing to do

    def confirm_bookkeeping(self) -> None:
        """Send the acks still waiting for a delivery and wait until Redis has recorded everything."""
        self._writer.send(self._take_ack_removals(), wait=True)

    def _confirm_soon(self, loop) -> None:  # noqa: ANN001
        """Within ACK_DELAY, whatever happens meanwhile, every ack is sent and every command confirmed
        (a command sent on a connection Redis had closed is only found out by reading its reply)."""
        if self._confirm_timer is None:
            self._confirm_timer = loop.call_later(ACK_DELAY, self._on_confirm_timer)

    def _on_confirm_timer(self) -> None:
        self._confirm_timer = None
        if not self._closed:
            self.confirm_bookkeeping()  # a broker error here goes to the worker's connection handling

    def _take_ack_removals(self) -> list[tuple]:
        commands = []
        while self._acks_to_record:
            tag = self._acks_to_record.popleft()
            commands += [("ZREM", self.unacked_index_key, tag), ("HDEL", self.unacked_key, tag)]
        return commands


class Channel(kombu_redis.Channel):
    QoS = QoS

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
    _event_loop = None
    _event_loop_thread = 0

    def register_with_event_loop(self, connection, loop) -> None:  # noqa: ANN001
        super().register_with_event_loop(connection, loop)
        self._event_loop, self._event_loop_thread = loop, threading.get_ident()

    def event_loop_of_this_thread(self):  # noqa: ANN201
        """The worker's event loop (kombu's hub) if this thread runs it, else None (its timers are
        not thread-safe, and outside a loop nothing would read the replies in time)."""
        return self._event_loop if self._event_loop_thread == threading.get_ident() else None


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
