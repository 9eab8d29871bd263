"""Queue benchmark (issue 6): p0 latency under a p2 backlog, and Job throughput against bare Celery.

(a) every general worker is busy on a long p2 job and P2_BACKLOG no-op p2 jobs wait; a dedicated
    p0 worker is running; P0_JOBS p0 no-op jobs are enqueued one every 50 ms and their
    enqueue-to-start latency is measured from the Job rows.
(b) THROUGHPUT_JOBS no-op jobs are queued through ``bulk.enqueue_many`` with the workers stopped,
    then a general worker drains them; the same number of bare Celery no-op messages are drained
    by the same worker command (same pool, concurrency, prefetch, acks_late, recycling, broker
    transport) on the same Redis. Both are timed the same way (first message taken to queue empty
    and nothing unacknowledged; ours also until every Job row is recorded). The enqueue rates
    (ours through enqueue_many, bare through apply_async on one producer) are printed beside
    them, and so is bare Celery on kombu's own Redis transport (INSIGHTCLOUD_BROKER_TRANSPORT=kombu),
    to show what our transport (insightcloud/broker.py) saves every message.

The machine may be shared: the load average is printed with the figures.

Where a no-op job's time goes (profiled, Nov 2026). Both contenders are bound by the worker's main
process, which takes every message from Redis and hands it to a pool process: at ~500 msgs/s it
was busy ~1.5 ms a message, the pool processes ~0.5. Two costs of that process are gone for both:
Celery's full garbage collection before every fork of a pool process (start-up objects are now
frozen, scheduler.tasks), and the round trips of kombu's unacked bookkeeping (insightcloud/broker.py
sends it without waiting and an ack rides with the next delivery). What is left is Celery's and
kombu's own Python per message. A drain used to take ~10 s instead of ~6 now and then, for either
contender: a job written to a pool process that was exiting to be recycled waited for Celery's
5-second pool check (insightcloud/worker_pool.py now checks every half second).

Beyond bare Celery: a first attempt that nothing waits on (no dedup key, not p0, no follow-up)
starts from its message without a claim (scheduler.runner ``_may_start_late``; the worker knows the
retired dispatches from Redis without a round trip, scheduler.retired_dispatches), and its start
and success reach the row in one batched UPDATE a moment later (scheduler.held_writes). What
remains is a bigger message (the row it carries, the time limits), building the Job from it, and a
share of that UPDATE (MariaDB's CPU, on the same two cores). Harvests, evaluations and actions (a
dedup key, a follow-up or p0) still claim their row with a conditional UPDATE. Prefetching more
messages would hide the hand-off between messages but let a general worker busy with long harvests
hold p0 messages that the dedicated p0 worker would otherwise start at once, and a worker killed
with -9 would strand its prefetched messages until the visibility timeout.

This machine's speed varies from hour to hour (the same bare drain at 500 and at 900 msgs/s):
compare figures from one run, whose rounds rotate the contenders.

Needs MariaDB and Redis (the helper env); run with ``--small`` while developing:

    python bench/queues.py [--small] [--concurrency 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")
os.environ.setdefault("INSIGHTCLOUD_JOB_MODULES", "bench.queues_tasks")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from scheduler.bulk import JobRequest, enqueue_many  # noqa: E402
from scheduler.models import ACTIVE_STATUSES, Job, JobStatus  # noqa: E402
from scheduler.runner import enqueue  # noqa: E402
from tests.processes import process_env, start_manage, stop, wait_for  # noqa: E402

TARGETS = {"p0_p99_s": 1.0, "jobs_per_s": 500, "overhead_ratio": 1.5}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def redis():  # noqa: ANN201
    from scheduler.leader import redis_client

    return redis_client()


def start_worker(name: str, queues: str, concurrency: int, log_dir: Path, **env_overrides: str):  # noqa: ANN201
    env = process_env(INSIGHTCLOUD_JOB_MODULES="bench.queues_tasks", INSIGHTCLOUD_LOG_LEVEL="WARNING", **env_overrides)
    return start_manage(
        "worker", "--queues", queues, "--concurrency", str(concurrency), "--name", f"{name}@bench",
        env=env, log=log_dir / f"{name}.log",
    )  # fmt: skip


def wait_worker_ready(name: str) -> None:
    from scheduler.heartbeat import live
    from scheduler.models import ProcessRole

    wait_for(lambda: any(w.name == f"{name}@bench" for w in live(ProcessRole.WORKER)), timeout=120, what=name)


def drained(client, queue: str) -> bool:  # noqa: ANN001
    return client.llen(queue) == 0 and client.hlen("unacked") == 0


def time_drain(client, queue: str, total: int, start, done=lambda: True) -> float:  # noqa: ANN001
    """Start the consumer, then time from the first message taken to the queue empty and acked
    and ``done()`` (ours: every Job row recorded, starts and successes a worker held back included).

    Polls every 10 ms: faster polling would take CPU from the worker being measured on a small machine.
    """
    process = start()
    try:
        while client.llen(queue) >= total:
            time.sleep(0.002)
        began = time.monotonic()
        while not drained(client, queue):
            time.sleep(0.01)
        while not done():
            time.sleep(0.002)
        return time.monotonic() - began
    finally:
        stop(process)


def bench_latency(p2_backlog: int, p0_jobs: int, concurrency: int, log_dir: Path) -> list[float]:
    client = redis()
    general = start_worker("general", "p0,p1,p2", concurrency, log_dir)
    dedicated = start_worker("p0", "p0", 1, log_dir)
    try:
        wait_worker_ready("general")
        wait_worker_ready("p0")
        long_jobs = [enqueue("sleep", {"seconds": 3600}, priority="p2")[0] for _ in range(concurrency)]
        wait_for(
            lambda: (
                Job.objects.filter(pk__in=[j.pk for j in long_jobs], status=JobStatus.RUNNING).count() == concurrency
            ),
            timeout=60,
            what="every general worker busy",
        )
        began = time.monotonic()
        enqueue_many(JobRequest("noop", {"n": n}, priority="p2") for n in range(p2_backlog))
        print(f"  {p2_backlog} p2 jobs queued in {time.monotonic() - began:.1f} s; p2 depth {client.llen('p2')}")
        urgent = []
        for n in range(p0_jobs):
            urgent.append(enqueue("noop", {"urgent": n}, priority="p0")[0].pk)
            time.sleep(0.05)
        wait_for(
            lambda: Job.objects.filter(pk__in=urgent, started_at__isnull=False).count() == len(urgent),
            timeout=120,
            what="the p0 jobs",
        )
        latencies = [job.wait_seconds for job in Job.objects.filter(pk__in=urgent)]
        p2_done = Job.objects.filter(kind="noop", priority="p2", status=JobStatus.SUCCEEDED).count()
        print(f"  p2 no-op jobs run meanwhile: {p2_done} (the general workers stayed busy)")
        for job in long_jobs:
            from scheduler.runner import cancel

            cancel(job.pk, by="bench")
        return latencies
    finally:
        stop(general)
        stop(dedicated)


def drain_ours(client, total: int, concurrency: int, log_dir: Path) -> tuple[float, float]:  # noqa: ANN001
    """(drained jobs/s, enqueue jobs/s) of ``total`` no-op jobs through enqueue_many and our workers."""
    Job.objects.all().delete()
    began = time.monotonic()
    jobs = []
    for start in range(0, total, 500):
        batch = enqueue_many(JobRequest("noop", {"n": n}, priority="p2") for n in range(start, min(total, start + 500)))
        jobs += [job.pk for job, _ in batch]
    enqueue_rate = total / (time.monotonic() - began)
    seconds = time_drain(
        client,
        "p2",
        total,
        lambda: start_worker("ours", "p2", concurrency, log_dir),
        done=lambda: not Job.objects.filter(pk__in=jobs, status__in=ACTIVE_STATUSES).exists(),
    )
    done = Job.objects.filter(pk__in=jobs, status=JobStatus.SUCCEEDED).count()
    assert done == total, f"only {done} of {total} jobs succeeded"
    return total / seconds, enqueue_rate


def drain_bare(client, total: int, concurrency: int, log_dir: Path, transport: str = "") -> tuple[float, float]:  # noqa: ANN001
    """(drained msgs/s, enqueue msgs/s) of ``total`` bare Celery no-op messages, same worker command
    (``transport``: INSIGHTCLOUD_BROKER_TRANSPORT for the worker, default ours)."""
    from bench.queues_tasks import bare_noop
    from insightcloud.celery import app

    began = time.monotonic()
    with app.producer_or_acquire() as producer:
        for n in range(total):
            bare_noop.apply_async(args=[n], queue="p2", producer=producer)
    enqueue_rate = total / (time.monotonic() - began)
    overrides = {"INSIGHTCLOUD_BROKER_TRANSPORT": transport} if transport else {}
    seconds = time_drain(client, "p2", total, lambda: start_worker("bare", "p2", concurrency, log_dir, **overrides))
    return total / seconds, enqueue_rate


def drain_bare_kombu(client, total: int, concurrency: int, log_dir: Path) -> tuple[float, float]:  # noqa: ANN001
    return drain_bare(client, total, concurrency, log_dir, transport="kombu")


CONTENDERS = {"ours": drain_ours, "bare": drain_bare, "bare on kombu's transport": drain_bare_kombu}


def bench_throughput(total: int, concurrency: int, rounds: int, log_dir: Path) -> dict[str, tuple[float, float]]:
    """Medians over ``rounds`` of (drained per s, enqueued per s) for each of CONTENDERS.

    The order rotates every round, so that a load change on a shared machine weighs on all of them.
    """
    client = redis()
    client.delete("p2", "unacked", "unacked_index")
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in CONTENDERS}
    names = list(CONTENDERS)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            drained, enqueued = CONTENDERS[name](client, total, concurrency, log_dir)
            figures[name].append((drained, enqueued))
            print(f"  round {round_number + 1} {name}: {drained:.0f}/s (load {os.getloadavg()[0]:.1f})")
    return {
        name: (statistics.median(f[0] for f in runs), statistics.median(f[1] for f in runs))
        for name, runs in figures.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run: 500 p2, 20 p0, 500 no-ops")
    parser.add_argument("--concurrency", type=int, default=2, help="general worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (contenders take turns first)")
    options = parser.parse_args()
    if settings.EMBEDDED_BROKER or settings.EMBEDDED_DB:
        sys.exit("bench/queues.py needs MariaDB and Redis (set DIVVY_DB_HOST and DIVVY_REDIS_HOST)")
    p2_backlog, p0_jobs, total = (500, 20, 500) if options.small else (5000, 200, 5000)
    log_dir = Path(settings.DATA_DIR) / "bench-queues"
    log_dir.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    redis().flushdb()
    Job.objects.all().delete()

    print(f"(a) p0 latency: {p0_jobs} p0 jobs, {p2_backlog} p2 queued, {options.concurrency} general workers busy")
    latencies = bench_latency(p2_backlog, p0_jobs, options.concurrency, log_dir)
    p50, p99 = statistics.median(latencies), percentile(latencies, 99)
    print(f"  enqueue->start p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(latencies):.3f} s (target p99 <= 1 s)")
    redis().flushdb()
    Job.objects.all().delete()

    print(f"(b) throughput: {total} no-op jobs, {options.concurrency} worker processes, same Redis, medians:")
    medians = bench_throughput(total, options.concurrency, options.rounds, log_dir)
    (ours, enqueue_rate), (bare, bare_enqueue_rate) = medians["ours"], medians["bare"]
    bare_kombu = medians["bare on kombu's transport"][0]
    ratio = bare / ours
    print(f"  enqueue: ours (enqueue_many) {enqueue_rate:.0f} jobs/s; bare apply_async {bare_enqueue_rate:.0f} msgs/s")
    print(f"  ours {ours:.0f} jobs/s (target >= 500); bare Celery {bare:.0f} msgs/s")
    print(f"  bare Celery on kombu's own Redis transport: {bare_kombu:.0f} msgs/s")
    print(f"  overhead ratio {ratio:.2f} (target <= 1.5)")
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(
        f"BENCH queues p0_p50_s={p50:.3f} p0_p99_s={p99:.3f} jobs_per_s={ours:.0f} "
        f"bare_celery_per_s={bare:.0f} overhead_ratio={ratio:.2f} bare_kombu_transport_per_s={bare_kombu:.0f}"
    )


if __name__ == "__main__":
    main()
