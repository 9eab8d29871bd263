"""enqueue_many: one INSERT and one broker connection for a batch, with enqueue's guarantees."""

from __future__ import annotations

import base64
import json

import pytest

from insightcloud.registry import RegistryError
from scheduler.bulk import JobRequest, enqueue_many
from scheduler.models import Job, JobStatus
from scheduler.runner import enqueue, execute

pytestmark = pytest.mark.django_db(transaction=True)


def queued_messages(redis_client, queue: str) -> list[list]:
    """The [job id, dispatch] of every message waiting in a queue, oldest first."""
    bodies = [json.loads(raw)["body"] for raw in reversed(redis_client.lrange(queue, 0, -1))]
    return [json.loads(base64.b64decode(body))[0] for body in bodies]


def test_a_batch_makes_its_rows_and_sends_one_message_each_once_committed(redis_client):
    results = enqueue_many(JobRequest("noop", {"n": n}, priority="p2") for n in range(5))
    assert [created for _, created in results] == [True] * 5
    jobs = [job for job, _ in results]
    assert [job.arguments["n"] for job in jobs] == [0, 1, 2, 3, 4]
    assert all(job.pk for job in jobs)
    assert queued_messages(redis_client, "p2") == [[job.pk, 1] for job in jobs]
    assert execute(jobs[0].pk, 1) == JobStatus.SUCCEEDED


def test_a_batch_respects_dedup_keys_already_active_and_repeated_within_it(redis_client):
    scheduled, _ = enqueue("noop", priority="p2", dedup_key="k1")
    results = enqueue_many(
        [
            JobRequest("noop", priority="p0", dedup_key="k1"),  # active: promoted, not created
            JobRequest("noop", dedup_key="k2"),
            JobRequest("noop", dedup_key="k2"),  # the same job as the line above
            JobRequest("noop"),
        ]
    )
    assert [created for _, created in results] == [False, True, False, True]
    assert results[0][0].pk == scheduled.pk and results[0][0].priority == "p0"
    assert results[1][0].pk == results[2][0].pk
    assert Job.objects.filter(dedup_key="k2").count() == 1
    assert Job.objects.count() == 3
    assert [message[0] for message in queued_messages(redis_client, "p0")] == [scheduled.pk]


def test_a_key_taken_meanwhile_falls_back_to_one_by_one(redis_client, monkeypatch):
    """Another process enqueues under our key between our SELECT and our INSERT."""
    from scheduler import bulk

    taken = {}
    real_filter = Job.objects.filter

    def filter_then_race(*args, **kwargs):  # Django's manager, so that the race happens at the worst moment
        if "active_key__in" not in kwargs:
            return real_filter(*args, **kwargs)
        rows = list(real_filter(*args, **kwargs))
        if not taken:
            taken["job"] = enqueue("noop", dedup_key="raced")[0]
        return rows

    monkeypatch.setattr(bulk.Job.objects, "filter", filter_then_race)
    results = enqueue_many([JobRequest("noop", dedup_key="raced"), JobRequest("noop", {"x": 1})])
    monkeypatch.undo()
    assert results[0] == (taken["job"], False)  # the job the other process made (models compare by id)
    assert results[1][1] is True
    assert Job.objects.count() == 2


def test_a_bad_request_writes_nothing(redis_client):
    with pytest.raises(RegistryError):
        enqueue_many([JobRequest("noop"), JobRequest("no_such_kind")])
    with pytest.raises(ValueError, match="priority must be one of"):
        enqueue_many([JobRequest("noop", priority="p9")])
    assert not Job.objects.exists()
    assert redis_client.llen("p2") == 0
