"""A workspace's sync whose Meltano process died, told from a live one by Meltano's heartbeat.

Meltano records each ``meltano run`` in its system database (table ``runs``) and, while it
runs, beats once a second (``last_heartbeat_at``). A process killed outright (SIGKILL of the
step's worker, an OOM kill, a machine lost with its pod) never records its end: its record
stays ``RUNNING``, and Meltano refuses every run of that state ID until it deems the record
stale, five minutes after the last beat. In Dagster the workspace's pool already keeps two of
its syncs apart, so a ``RUNNING`` record that has not beaten for ``EDGES_STALE_SYNC_SECONDS``
(default 60: sixty missed beats) is a dead process, and the next sync goes ahead with
``meltano run --force``, saying so. A record that still beats is a live sync (one started
outside Dagster, say): Meltano refuses the new one, as it should.

Read with PostgreSQL system databases (the ``cluster`` environment); with any other, nothing
is forced and Meltano's five minutes apply.
"""

from __future__ import annotations

import os

STALE_AFTER_SECONDS = 60.0
_AGES = (
    "SELECT run_id, extract(epoch FROM (now() AT TIME ZONE 'UTC') "
    "- coalesce(last_heartbeat_at, started_at)) FROM runs WHERE job_name = %s AND state = %s"
)


def stale_after() -> float:
    """``EDGES_STALE_SYNC_SECONDS``, else 60.

    Raises:
        ValueError: The setting is not a positive number.
    """
    raw = os.environ.get("EDGES_STALE_SYNC_SECONDS") or str(STALE_AFTER_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        msg = f"EDGES_STALE_SYNC_SECONDS must be a positive number of seconds, not {raw!r}"
        raise ValueError(msg)
    return seconds


def all_dead(ages: dict[str, float], stale_after: float) -> bool:
    """Whether there are RUNNING records and none beat within ``stale_after`` seconds.

    Args:
        ages: Seconds since each RUNNING record's last beat (or its start), by Meltano run ID.
        stale_after: Seconds without a beat that make a record dead.

    Returns:
        True when the next sync should go ahead with ``--force``.
    """
    return bool(ages) and all(age >= stale_after for age in ages.values())


def running_ages(database_uri: str, state_id: str) -> dict[str, float]:
    """Seconds since each RUNNING record of the state ID last beat; {} without PostgreSQL."""
    if not database_uri.startswith(("postgresql://", "postgresql+psycopg://")):
        return {}
    import psycopg  # noqa: PLC0415 - only where the system database is PostgreSQL

    conninfo = database_uri.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, connect_timeout=30) as connection:
        if connection.execute("SELECT to_regclass('runs')").fetchone() == (None,):
            return {}  # Meltano has not created its tables yet: nothing ever ran
        rows = connection.execute(_AGES, (state_id, "RUNNING")).fetchall()
    return {str(run_id): float(age) for run_id, age in rows}
