"""Our Redis transport (insightcloud/broker.py): kombu's, with one client object per channel pool."""

from __future__ import annotations

import pytest
from django.conf import settings
from kombu import Connection

from insightcloud.broker import Transport
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
