"""Our Redis transport (insightcloud/broker.py): kombu's, with one client object per channel pool and
the unacked bookkeeping kept off the event loop's path."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from kombu import Connection, Consumer, Exchange, Queue
from kombu.asynchronous import Hub

from insightcloud.broker import ACK_DELAY, Transport
from scheduler.models import Job, JobStatus
from scheduler.runner import enqueue
from tests.processes import wait_for
from tests.scheduler.conftest import logs

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bookkeeping_calls_share_one_client_until_kombu_replaces_the_pool(redis_client):
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        given = object()
        with channel.conn_or_acquire(given) as client:
            assert client is given
        channel._disconnect_pools()  # what kombu does after a fork or a failed connection
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool
            assert third.ping()


def test_messages_are_taken_and_acknowledged_through_it(redis_client):
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        queue = connection.SimpleQueue("broker-test")
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        assert message.payload == {"n": 1}
        assert redis_client.hlen("unacked") == 1, "recorded as unacknowledged while held"
        message.ack()
        assert redis_client.hlen("unacked") == 0
        queue.close()


@pytest.mark.slow
def test_a_worker_on_kombus_own_transport_still_runs_jobs(redis_client, processes, tmp_path):
    processes("worker", "worker", "--concurrency", "1", INSIGHTCLOUD_BROKER_TRANSPORT="kombu")
    job, _ = enqueue("noop", {"n": 1})
    wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED, timeout=60, what=logs(tmp_path))


# --- the bookkeeping in a worker's event loop (kombu's Hub, as Celery's worker drives it) -----------


class _Consuming:
    """A kombu consumer driven by a real event loop on our transport, as a worker's main process is."""

    def __init__(self, connection: Connection, queue_name: str) -> None:
        self.hub = Hub()
        self.connection = connection
        self.queue = Queue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)
        self.received: list = []
        connection.register_with_event_loop(self.hub)
        self.consumer = Consumer(connection.default_channel, [self.queue], callbacks=[self._on_message])
        self.consumer.qos(prefetch_count=2)
        self.consumer.consume()

    def _on_message(self, body, message) -> None:  # noqa: ANN001
        self.received.append(message)

    def publish(self, body: dict) -> None:
        with Connection(settings.REDIS_URL, transport=Transport) as other:
            other.Producer().publish(body, exchange=self.queue.exchange, routing_key=self.queue.routing_key,
                                     declare=[self.queue])  # fmt: skip

    def run_until(self, condition, timeout: float = 5.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            self.hub.run_once()

    def run_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.hub.run_once()

    @property
    def qos(self):  # noqa: ANN201
        return self.connection.default_channel.qos


@pytest.fixture
def consuming(redis_client):
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        loop = _Consuming(connection, "broker-loop-test")
        yield loop
        loop.consumer.cancel()
        loop.hub.close()


def _recorded(redis_client) -> set[str]:
    """Delivery tags in the unacked bookkeeping (the hash and its index agree)."""
    tags = {tag.decode() for tag in redis_client.hkeys("unacked")}
    assert tags == {tag.decode() for tag in redis_client.zrange("unacked_index", 0, -1)}
    return tags


def test_in_the_event_loop_an_ack_is_recorded_with_the_next_delivery(consuming, redis_client):
    consuming.publish({"n": 1})
    consuming.run_until(lambda: len(consuming.received) == 1)
    first = consuming.received[0]
    wait_for(lambda: _recorded(redis_client) == {first.delivery_tag}, timeout=5, what="the delivery recorded")

    first.ack()
    assert _recorded(redis_client) == {first.delivery_tag}, "not a round trip of its own"
    assert consuming.qos.can_consume(), "the prefetch slot is free at once"
    consuming.publish({"n": 2})
    consuming.run_until(lambda: len(consuming.received) == 2)
    second = consuming.received[1]
    wait_for(lambda: _recorded(redis_client) == {second.delivery_tag}, timeout=5, what="ack and delivery recorded")

    second.ack()
    consuming.run_for(ACK_DELAY * 5)  # no delivery to ride with: the timer sends it
    assert _recorded(redis_client) == set()


def test_closing_the_channel_records_the_acks_and_restores_the_rest(redis_client):
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        consuming = _Consuming(connection, "broker-loop-test")
        consuming.publish({"n": 1})
        consuming.publish({"n": 2})
        consuming.run_until(lambda: len(consuming.received) == 2)
        done, held = consuming.received
        done.ack()
        consuming.hub.close()
    assert _recorded(redis_client) == set()
    assert redis_client.llen("broker-loop-test") == 1, "the message held unacknowledged went back to its queue"


def test_a_bookkeeping_connection_redis_dropped_is_replaced_and_nothing_is_lost(consuming, redis_client):
    consuming.publish({"n": 1})
    consuming.run_until(lambda: len(consuming.received) == 1)
    first = consuming.received[0]
    consuming.qos.confirm_bookkeeping()
    writer_connection = consuming.qos._writer._connection
    host, port = writer_connection._sock.getsockname()[:2]
    assert redis_client.client_kill(f"{host}:{port}")

    first.ack()
    consuming.publish({"n": 2})
    consuming.run_until(lambda: len(consuming.received) == 2)
    consuming.run_for(ACK_DELAY * 5)  # the timer reads the replies: the dead connection shows, all is sent again
    assert writer_connection._sock.getsockname()[:2] != (host, port), "on a new connection"
    assert _recorded(redis_client) == {consuming.received[1].delivery_tag}


def test_a_reject_in_the_event_loop_lands_after_the_delivery_record(consuming, redis_client):
    consuming.publish({"n": 1})
    consuming.run_until(lambda: len(consuming.received) == 1)
    consuming.received[0].reject(requeue=True)
    assert _recorded(redis_client) == set()
    assert redis_client.llen("broker-loop-test") == 1


def test_outside_an_event_loop_another_thread_acks_at_once(consuming, redis_client):
    consuming.publish({"n": 1})
    consuming.run_until(lambda: len(consuming.received) == 1)
    consuming.qos.confirm_bookkeeping()
    acking = threading.Thread(target=consuming.received[0].ack)  # Celery's threads pool acks from its threads
    acking.start()
    acking.join()
    assert _recorded(redis_client) == set()


@pytest.mark.slow
def test_an_idle_worker_leaves_nothing_in_the_bookkeeping(redis_client, processes, tmp_path):
    processes("worker", "worker", "--concurrency", "2")
    jobs = [enqueue("noop", {"n": n})[0] for n in range(20)]
    wait_for(
        lambda: Job.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.SUCCEEDED).count() == 20,
        timeout=60,
        what=logs(tmp_path),
    )
    wait_for(lambda: redis_client.hlen("unacked") == 0, timeout=5, what="the last acks recorded by the timer")
    assert redis_client.zcard("unacked_index") == 0
