"""The worker's process pool (insightcloud/worker_pool.py): Celery's prefork pool, checked every half second."""

from __future__ import annotations

from types import SimpleNamespace

from celery.concurrency import get_implementation

from insightcloud.celery import app
from insightcloud.worker_pool import MAINTAIN_SECONDS, PreforkPool


def test_the_worker_command_s_prefork_pool_is_ours():
    # `manage.py worker` passes --pool=prefork; Celery then takes the configured worker_pool.
    assert get_implementation(app.conf.worker_pool) is PreforkPool


def test_the_pool_checks_on_its_processes_every_half_second_not_every_five():
    maintain = object()
    timers = PreforkPool.Pool.timers.fget(SimpleNamespace(maintain_pool=maintain))
    assert timers == {maintain: MAINTAIN_SECONDS}
    assert MAINTAIN_SECONDS <= 0.5
