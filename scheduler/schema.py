"""Schema upgrades: ``scheduler --db-upgrade`` migrates; every other process waits until it is done."""

from __future__ import annotations

import logging
import time

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections

logger = logging.getLogger("insightcloud.schema")


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Names of the migrations not applied yet (empty when the schema is current)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def wait_for_schema(
    process: str,
    *,
    poll_seconds: float = 5.0,
    timeout: float | None = None,
    wait_while_unreachable: bool = True,
) -> None:
    """Block until the database is reachable and fully migrated, saying so once, then every minute.

    The interface server passes ``wait_while_unreachable=False``: with no database it must still
    start, so that /Status can answer 503 to the load balancer.
    """
    started = time.monotonic()
    last_said = 0.0
    while True:
        close_old_connections()
        try:
            pending = pending_migrations()
            problem = f"{len(pending)} migrations pending ({', '.join(pending[:3])}{' …' if len(pending) > 3 else ''})"
        except Exception as exc:  # the database is not up yet
            if not wait_while_unreachable:
                logger.warning("%s: database unreachable; starting anyway (%s)", process, type(exc).__name__)
                return
            pending, problem = ["?"], f"database unreachable ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        if not pending:
            if last_said:
                logger.info("%s: database schema is current; starting", process)
            return
        now = time.monotonic()
        if not last_said or now - last_said >= 60:
            logger.warning(
                "%s: waiting for the database schema to be upgraded: %s; run `manage.py scheduler --db-upgrade`",
                process,
                problem,
            )
            last_said = now
        if timeout is not None and now - started > timeout:
            raise TimeoutError(f"{process}: database schema still not current after {timeout:.0f} s: {problem}")
        time.sleep(poll_seconds)
