"""One sync of a workspace at a time, across machines: a PostgreSQL advisory lock per state ID.

Dagster's pool keeps two steps of a workspace apart within one instance, and Meltano refuses a
``meltano run`` of a state ID whose last run it still holds as running; neither is a lock (two
instances, or two runs started in the same instant, pass both). The lock is: every
orchestrated sync holds ``pg_advisory_lock(<key of its state ID>)`` in the shared PostgreSQL
(Meltano's system database) from before it looks at Meltano's records until ``meltano run``
has exited. It is a session lock, so PostgreSQL releases it when the holder's connection ends,
however its process ended (a SIGKILL, a lost machine: TCP keepalives end the session within
``KEEPALIVE_SECONDS``); nothing stays claimed.

A sync that finds the lock held waits for it (``EDGES_SYNC_LOCK_WAIT_SECONDS``, default 600),
saying who holds it, then fails by name. By hand, under the same lock::

    python -m edges_orchestrate.synclock --uri postgresql://... --state-id ID -- meltano run ...

Only psycopg and the standard library (the Pipes process and the tests' processes import it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WAIT_SECONDS = 600.0
KEEPALIVE_SECONDS = 30
POLL_SECONDS = 0.5
# Advisory locks are keyed by one bigint; a fixed first half keeps ours apart from others'.
_HOLDERS = (
    "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local') "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
)


class SyncLockedError(RuntimeError):
    """Another sync of the state ID held the lock for longer than we would wait."""


def key(state_id: str) -> int:
    """The advisory lock key of a state ID (a signed 64-bit integer)."""
    digest = hashlib.sha256(f"edges-sync:{state_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def conninfo(database_uri: str) -> str:
    """A libpq URI from Meltano's or Dagster's SQLAlchemy URL.

    Raises:
        ValueError: Not a PostgreSQL URL.
    """
    scheme, sep, rest = database_uri.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        msg = f"the sync lock needs a PostgreSQL database, not {scheme or database_uri!r}"
        raise ValueError(msg)
    return f"postgresql://{rest}"


def wait_seconds() -> float:
    """``EDGES_SYNC_LOCK_WAIT_SECONDS``, else 600.

    Raises:
        ValueError: Not a number of seconds (0: do not wait).
    """
    raw = os.environ.get("EDGES_SYNC_LOCK_WAIT_SECONDS") or str(WAIT_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        msg = f"EDGES_SYNC_LOCK_WAIT_SECONDS must be a number of seconds, not {raw!r}"
        raise ValueError(msg)
    return seconds


def _split(lock_key: int) -> tuple[int, int]:
    """pg_locks shows a bigint key as its high and low 32 bits (unsigned)."""
    unsigned = lock_key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


@contextlib.contextmanager
def held(
    database_uri: str,
    state_id: str,
    wait: float,
    say: Callable[[str], None] = lambda _: None,
) -> Iterator[None]:
    """Hold the state ID's lock for the block; wait at most ``wait`` seconds for it.

    Raises:
        SyncLockedError: It stayed held by another session all that time.
    """
    import psycopg  # noqa: PLC0415 - only where a sync runs

    lock_key = key(state_id)
    connection = psycopg.connect(
        conninfo(database_uri),
        autocommit=True,
        connect_timeout=30,
        application_name=f"edges sync {state_id}"[:63],
        keepalives=1,
        keepalives_idle=KEEPALIVE_SECONDS // 3,
        keepalives_interval=KEEPALIVE_SECONDS // 6,
        keepalives_count=3,
    )
    with connection:
        deadline = time.monotonic() + wait
        told = False
        while not _try(connection, lock_key):
            holders = connection.execute(_HOLDERS, _split(lock_key)).fetchall()
            who = ", ".join(f"pid {pid} {app!r} from {addr}" for pid, app, addr in holders)
            if time.monotonic() >= deadline:
                msg = f"{state_id}: another sync holds its lock ({who or 'just released'})"
                raise SyncLockedError(msg)
            if not told:
                say(f"{state_id}: another sync holds its lock ({who}); waiting up to {wait:.0f} s")
                told = True
            time.sleep(POLL_SECONDS)
        say(f"{state_id}: sync lock held (PostgreSQL advisory lock {lock_key})")
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))


def _try(connection: t.Any, lock_key: int) -> bool:  # noqa: ANN401 - a psycopg connection
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (lock_key,)).fetchone()
    return bool(row and row[0])


def main(argv: list[str] | None = None) -> int:
    """Run a command while holding a state ID's lock; its exit status (75 when locked)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--uri", default=os.environ.get("MELTANO_DATABASE_URI", ""))
    parser.add_argument("--state-id", required=True)
    parser.add_argument("--wait", type=float, default=None, help="seconds (default: the setting)")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    wait = wait_seconds() if args.wait is None else args.wait
    try:
        with held(args.uri, args.state_id, wait, say=lambda m: print(m, file=sys.stderr)):
            print("locked", flush=True)
            return subprocess.run(args.command, check=False).returncode
    except SyncLockedError as error:
        print(error, file=sys.stderr)
        return 75


if __name__ == "__main__":
    sys.exit(main())
