"""The sync lock (orchestrate/edges_orchestrate/synclock.py): one sync per state ID, across
processes and machines, released by PostgreSQL when its holder dies.

Real processes of the code location's venv (.venv-orchestrate, installed here as the
orchestration tests install it) against a real PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import typing as t

import pytest
from meltanokit import ROOT
from pgserver import PostgresServer, running_server

from edges_orchestrate import synclock

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

PYTHON = ROOT / ".venv-orchestrate" / "bin" / "python"
ALPHA = "cluster:tap-edges--alpha-to-target-postgres"
BETA = "cluster:tap-edges--beta-to-target-postgres"


@pytest.fixture(scope="module")
def orchestrator_venv() -> None:
    """.venv-orchestrate (scripts/setup-orchestrate locks and skips what is installed)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup-orchestrate"), "--venv-only"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    yield from running_server()


@pytest.fixture
def uri(postgres: PostgresServer, orchestrator_venv: None) -> str:
    return f"postgresql+psycopg://{postgres.user}@{postgres.host}:{postgres.port}/postgres"


def holding(uri: str, state_id: str, *command: str, wait: float = 0) -> list[str]:
    """``python -m edges_orchestrate.synclock``: the command, run under the lock."""
    lock = ["-m", "edges_orchestrate.synclock", "--uri", uri, "--state-id", state_id]
    return [str(PYTHON), *lock, "--wait", str(wait), "--", *command]


def hold(uri: str, state_id: str, *command: str, wait: float = 0) -> subprocess.Popen[str]:
    """The command under the lock, in a process group of its own (a worker and what it
    started)."""
    return subprocess.Popen(
        holding(uri, state_id, *command, wait=wait),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def locked(process: subprocess.Popen[str]) -> None:
    """Wait until the process says it holds the lock."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line == "locked\n", (line, process.stderr.read() if process.stderr else "")


def ended(process: subprocess.Popen[str]) -> int:
    """The process's exit status, once it has ended (its pipes closed)."""
    process.communicate(timeout=60)
    return process.returncode


def advisory_locks(server: PostgresServer) -> int:
    sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    return int(server.psql("postgres", sql))


def test_one_holder_per_state_id_released_when_it_is_killed(
    uri: str, postgres: PostgresServer
) -> None:
    holder = hold(uri, ALPHA, "sleep", "120")
    try:
        locked(holder)
        # Refused at once, naming the holder; another workspace is untouched.
        refused = subprocess.run(
            holding(uri, ALPHA, "true"), capture_output=True, text=True, timeout=60, check=False
        )
        assert refused.returncode == 75, refused.stderr
        assert f"{ALPHA}: another sync holds its lock" in refused.stderr
        assert f"'edges sync {ALPHA}'" in refused.stderr
        other = hold(uri, BETA, "true")
        locked(other)
        assert ended(other) == 0
        # A second sync that waits gets nothing while the first lives...
        waiter = hold(uri, ALPHA, "true", wait=120)
        time.sleep(2)
        assert waiter.poll() is None
        assert advisory_locks(postgres) == 1
        # ...and the lock as soon as the first one's process group is SIGKILLed.
        os.killpg(holder.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        locked(waiter)
        assert time.monotonic() - killed_at < 10
        assert ended(waiter) == 0
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
        ended(holder)
    # Nothing stays claimed.
    deadline = time.monotonic() + 10
    while advisory_locks(postgres) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert advisory_locks(postgres) == 0


def test_the_lock_is_held_for_the_whole_command(uri: str, postgres: PostgresServer) -> None:
    """Held until the command has exited, not only while it starts."""
    holder = hold(uri, ALPHA, "sleep", "4")
    locked(holder)
    for _ in range(3):
        assert advisory_locks(postgres) == 1
        time.sleep(0.5)
    assert ended(holder) == 0
    assert advisory_locks(postgres) == 0
    follower = hold(uri, ALPHA, "true")
    locked(follower)
    assert ended(follower) == 0


def test_keys_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert synclock.key(ALPHA) == synclock.key(ALPHA)
    assert synclock.key(ALPHA) != synclock.key(BETA)
    assert -(2**63) <= synclock.key(ALPHA) < 2**63
    assert synclock.conninfo("postgresql+psycopg2://u@h:5/db") == "postgresql://u@h:5/db"
    with pytest.raises(ValueError, match="PostgreSQL"):
        synclock.conninfo("sqlite:///.meltano/meltano.db")
    monkeypatch.setenv("EDGES_SYNC_LOCK_WAIT_SECONDS", "0")
    assert synclock.wait_seconds() == 0
    monkeypatch.setenv("EDGES_SYNC_LOCK_WAIT_SECONDS", "soon")
    with pytest.raises(ValueError, match="EDGES_SYNC_LOCK_WAIT_SECONDS"):
        synclock.wait_seconds()
