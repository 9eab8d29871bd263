"""The p0/p1/p2 queues, run by real Celery worker processes."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from insightcloud.celery import app
from scheduler.models import Job, JobStatus
from scheduler.queues import PRIORITIES, parse_queue_list
from scheduler.runner import enqueue
from tests.processes import start_manage, stop, wait_for


def finished(*jobs: Job) -> bool:
    return Job.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.SUCCEEDED).count() == len(jobs)


def test_celery_is_configured_not_to_lose_work():
    conf = app.conf
    assert [q.name for q in conf.task_queues] == list(PRIORITIES)
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    if not settings.EMBEDDED_BROKER:
        assert conf.broker_transport_options["queue_order_strategy"] == "priority"


def test_queue_lists_are_validated_and_put_in_priority_order():
    assert parse_queue_list("p2, p0") == ["p0", "p2"]
    with pytest.raises(ValueError, match="unknown queue p9; expected some of p0, p1, p2"):
        parse_queue_list("p0,p9")


def test_the_worker_command_refuses_an_unknown_queue():
    with pytest.raises(CommandError, match="unknown queue p7"):
        call_command("worker", queues="p7")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_p0_job_before_waiting_p2_jobs(redis_client, tmp_path):
    waiting = [enqueue("noop", {"n": n}, priority="p2")[0] for n in range(3)]
    urgent, _ = enqueue("noop", {"urgent": True}, priority="p0")
    assert redis_client.llen("p2") == 3 and redis_client.llen("p0") == 1

    worker = start_manage("worker", "--concurrency", "1", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: finished(urgent, *waiting), timeout=60, what="all four jobs")
    finally:
        stop(worker)
    order = list(Job.objects.order_by("started_at").values_list("pk", flat=True))
    assert order[0] == urgent.pk, (tmp_path / "worker.log").read_text()


@pytest.mark.django_db(transaction=True)
def test_a_job_goes_through_the_configured_broker_to_a_worker_process(tmp_path):
    job, created = enqueue("noop", {"hello": "world"})
    assert created and job.priority == "p2"
    worker = start_manage("worker", "--queues", "p2", "--concurrency", "1", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: finished(job), timeout=60, what="the job")
    finally:
        stop(worker)
    job.refresh_from_db()
    assert job.result == {"echo": {"hello": "world"}}
    assert job.attempts == 1
    assert job.worker
    assert job.started_at >= job.enqueued_at


@pytest.mark.django_db
def test_a_dedup_key_already_queued_is_not_enqueued_twice():
    first, created = enqueue("noop", dedup_key="harvest:cloud=7:region=eu-west-1:type=s3")
    again, created_again = enqueue("noop", dedup_key="harvest:cloud=7:region=eu-west-1:type=s3")
    assert created and not created_again
    assert again.pk == first.pk
