"""Messages that must no longer run their job, for the runs that start without a claim.

A job that starts late (scheduler.runner ``_may_start_late``) runs from its message without asking
the database first, so whatever takes a *queued* job away from its message — a cancel, a newer
dispatch (a message re-sent because the broker lost it, a promotion) — also retires that
(job, dispatch): ``retire`` records it in a Redis sorted set and publishes it. Every worker process
that starts jobs late keeps the retired dispatches in memory (``watch``), from that set and the
published ones, so looking costs nothing per job: a round trip to Redis per job cost as much as
the rest of a short job's bookkeeping (Nov 2026).

What that leaves:
- A retired dispatch is seen by the workers within milliseconds, not at once: a message taken up
  in that moment starts its job. For a cancel, its late start then finds the row cancelled and
  treats it as a cancel of a running job: the job stops at its next check and its row ends
  cancelled with what it did (scheduler.job_rows ``_NOT_STARTED``).
- While a process's watch is not connected (starting, Redis away) it starts no job late.
- A retired mark is kept RETIRED_SECONDS; a message older than that claims its row (``fresh``).
- A retired message claims the row as any other does, so a mark that outlived its row (the Job
  table restored from a backup, its ids given out again) costs a claim, never a job.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

#: How long a retired dispatch is remembered, and how old a message may be to start late.
RETIRED_SECONDS = 24 * 3600
_SET = "insightcloud:retired-dispatches"
_CHANNEL = "insightcloud:retired-dispatches"


def available() -> bool:
    """Only with Redis as the broker (not the embedded test drive's folder broker)."""
    return not settings.EMBEDDED_BROKER


def _redis():  # noqa: ANN202 (redis is imported lazily: the embedded mode has none)
    from scheduler.leader import redis_client

    return redis_client()


def _member(job_id: int, dispatch: int) -> str:
    return f"{int(job_id)}:{int(dispatch)}"


def retire(job_id: int, dispatch: int) -> None:
    """The message of ``dispatch`` may no longer start the job late (call after the row changed).

    If Redis is away the row change stands and this is logged: a late start would then find the
    row taken and stop the job at its first check."""
    if not available():
        return
    now = time.time()
    member = _member(job_id, dispatch)
    try:
        client = _redis()
        with client.pipeline(transaction=False) as pipe:
            pipe.zadd(_SET, {member: now})
            pipe.zremrangebyscore(_SET, "-inf", now - RETIRED_SECONDS)
            pipe.publish(_CHANNEL, member)
            pipe.execute()
        client.close()
    except Exception:
        logger.warning("could not mark dispatch %s of job %s as retired", dispatch, job_id, exc_info=True)


def fresh(sent_at: float | None) -> bool:
    """Whether a message sent at ``sent_at`` (epoch seconds) is young enough to start late."""
    return sent_at is not None and time.time() - sent_at < RETIRED_SECONDS - 60


class RetiredWatch:
    """This process's copy of the retired dispatches, kept by a thread subscribed to Redis."""

    def __init__(self) -> None:
        self._retired: set[str] = set()
        self._connected = False
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            threading.Thread(target=self._follow, name="retired-dispatches", daemon=True).start()

    def may_start(self, job_id: int, dispatch: int) -> bool:
        """Whether the message of ``dispatch`` may start the job late: connected, and not retired."""
        return self._connected and _member(job_id, dispatch) not in self._retired

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._connected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._connected

    def knows(self, job_id: int, dispatch: int) -> bool:
        return _member(job_id, dispatch) in self._retired

    def _follow(self) -> None:
        while True:
            try:
                self._subscribe_and_listen()
            except Exception:
                logger.warning("lost the retired-dispatch feed; starting jobs with a claim meanwhile", exc_info=True)
            self._connected = False
            time.sleep(1)

    def _subscribe_and_listen(self) -> None:
        import redis

        # A health check every 15 s: a connection that died silently must not pass for a quiet one.
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, health_check_interval=15
        )
        pubsub = client.pubsub(ignore_subscribe_messages=False)
        try:
            pubsub.subscribe(_CHANNEL)
            while (pubsub.get_message(timeout=5.0) or {}).get("type") != "subscribe":
                pass
            # Subscribed first, then read what is recorded: nothing retired meanwhile is missed.
            cutoff = time.time() - RETIRED_SECONDS
            self._retired = {m.decode() for m in client.zrangebyscore(_SET, cutoff, "+inf")}
            self._connected = True
            last_pruned = time.monotonic()
            while True:
                message = pubsub.get_message(timeout=5.0)
                if message and message["type"] == "message":
                    self._retired.add(message["data"].decode())
                if time.monotonic() - last_pruned > 3600:  # forget what no message can carry any more
                    cutoff = time.time() - RETIRED_SECONDS  # (a member published meanwhile is in the set)
                    self._retired = {m.decode() for m in client.zrangebyscore(_SET, cutoff, "+inf")}
                    last_pruned = time.monotonic()
        finally:
            self._connected = False
            pubsub.close()
            client.close()


watch = RetiredWatch()
