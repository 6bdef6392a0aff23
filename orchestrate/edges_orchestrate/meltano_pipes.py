"""The Dagster Pipes process of one workspace's sync: ``meltano run``, its summary reported back.

Started by the workspace's asset (definitions.py) through ``PipesSubprocessClient``. It runs
``meltano run <extractor> <loader>`` with the arguments the asset sent (Pipes extras), passes
Meltano's log through to the step's log, reads the tap's end-of-sync summary from it, and
reports it: on success as each table's materialization metadata (new rows of that table, the
sync's partitions, possible losses, the state ID), always as a custom message the asset reads
to fail visibly, with the summary attached, when Meltano did not succeed.

Meltano runs in the environment the asset chose: the Pipes client passes its own process's
environment on, so the asset names the variables to drop (other workspaces' keys, every
``TAP_EDGES_*`` variable but the workspace's own), and Pipes' own variables go too.

Around the sync, from before it reads Meltano's records until ``meltano run`` has exited, this
process holds the workspace's sync lock (synclock.py: a PostgreSQL advisory lock per state ID,
released by PostgreSQL when this process dies), so no two syncs of a workspace ever overlap,
whichever machine or Dagster instance runs them. Holding it, it tells a sync that Meltano holds
as running but that no longer beats from a live one (stale.py), and goes past a dead one with
``meltano run --force``. Meltano dies with this process (``setpriv --pdeathsig``): a sync never
outlives its lock.

Meltano's own exit code is reported, not passed on: this process exits 0 once it has reported,
so the asset, not Pipes, words the failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import typing as t

from dagster_pipes import PipesContext, open_dagster_pipes

from edges_orchestrate import stale, synclock
from edges_orchestrate.summary import Summary, parse_line

TAIL_LINES = 40
LOCKED_EXIT = 75
# Meltano beats once a second: a record that beat this recently is a live sync.
BEATING_SECONDS = 3.0


def dying_with_this_process(command: list[str]) -> list[str]:
    """The command, SIGKILLed when this process dies (util-linux's setpriv, where present)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def meltano_environment(unset: list[str]) -> dict[str, str]:
    """This process's environment without what the workspace must not see, nor Pipes' own."""
    dropped = set(unset)
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith("DAGSTER_PIPES_")
    }


def run_meltano(command: list[str], env: dict[str, str]) -> tuple[int, Summary | None, list[str]]:
    """Run Meltano, echoing its log; its exit code, the tap's summary and the log's tail."""
    summary: Summary | None = None
    tail: list[str] = []
    with subprocess.Popen(
        dying_with_this_process(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
    ) as process:
        for line in t.cast("t.IO[str]", process.stdout):
            sys.stderr.write(line)
            summary = parse_line(line) or summary
            tail = [*tail[-TAIL_LINES + 1 :], line.rstrip()]
    return process.returncode, summary, tail


def forced(pipes: PipesContext, uri: str, state_id: str) -> list[str]:
    """``["--force"]`` when every sync Meltano holds as running for the state ID is dead.

    Called holding the state ID's lock: no other orchestrated sync of it runs. A record that
    stopped beating (``BEATING_SECONDS``) but is not stale yet is waited for, up to
    EDGES_STALE_SYNC_SECONDS: the retry of a killed worker's run comes sooner than that.
    """
    after = stale.stale_after()
    deadline = time.monotonic() + after
    while True:
        ages = stale.running_ages(uri, state_id)
        if stale.all_dead(ages, after):
            break
        if not ages or min(ages.values()) < BEATING_SECONDS or time.monotonic() > deadline:
            return []  # nothing running, or a live sync (Meltano refuses this one)
        pipes.log.info(f"{state_id}: a sync Meltano holds as running has stopped beating; waiting")
        time.sleep(1)
    dead = ", ".join(f"{run_id} ({age:.0f} s)" for run_id, age in ages.items())
    pipes.log.warning(
        f"{state_id}: Meltano holds run(s) {dead} as running, but none has beaten for "
        f"{after:.0f} s or more: their process died (a killed worker). This sync goes ahead "
        "with meltano run --force; the tap's state resumes where that sync's last commit left."
    )
    return ["--force"]


def sync_lock(pipes: PipesContext, uri: str, state_id: str) -> t.ContextManager[None]:
    """The state ID's lock, where Meltano's system database is PostgreSQL (else none)."""
    if not uri.startswith("postgresql"):
        pipes.log.warning(f"{state_id}: no sync lock (Meltano's system database is not PostgreSQL)")
        return contextlib.nullcontext()
    return synclock.held(uri, state_id, synclock.wait_seconds(), say=pipes.log.info)


def sync(pipes: PipesContext, env: dict[str, str]) -> tuple[int, Summary | None, list[str]]:
    """Under the lock: go past dead syncs, run Meltano."""
    command = [str(part) for part in t.cast("list[str]", pipes.extras["command"])]
    state_id = str(pipes.extras["state_id"])
    uri = env.get("MELTANO_DATABASE_URI", "")
    try:
        with sync_lock(pipes, uri, state_id):
            # meltano run [--force] <extractor> <loader>
            command[2:2] = forced(pipes, uri, state_id)
            pipes.log.info(f"running {' '.join(command[1:])}")
            return run_meltano(command, env)
    except synclock.SyncLockedError as error:
        return LOCKED_EXIT, None, [str(error)]


def report(pipes: PipesContext, returncode: int, summary: Summary | None, tail: list[str]) -> None:
    """Tell Dagster what the sync did."""
    extras = pipes.extras
    state_id = str(extras["state_id"])
    message: dict[str, t.Any] = {
        "returncode": returncode,
        "locked": returncode == LOCKED_EXIT and summary is None,
        "state_id": state_id,
        "summary": summary.metadata() if summary else None,
        "new_items": summary.new_items if summary else None,
        "tail": tail[-15:],
    }
    pipes.report_custom_message(message)
    if returncode != 0:
        return
    sync = summary.metadata() if summary else {}
    for stream, key in t.cast("dict[str, str]", extras["tables"]).items():
        new_rows = summary.new_items.get(stream, 0) if summary else 0
        pipes.report_asset_materialization(
            asset_key=key,
            metadata={"new rows": new_rows, "state id": state_id, **sync},
        )
    if summary and (summary.losses or summary.failed):
        pipes.log.warning(
            f"{state_id}: {summary.failed} failed partition(s), {summary.losses} possible loss(es)"
        )


def main() -> int:
    """Run the sync the asset asked for and report it."""
    with open_dagster_pipes() as pipes:
        env = meltano_environment(t.cast("list[str]", pipes.extras["unset"]))
        returncode, summary, tail = sync(pipes, env)
        report(pipes, returncode, summary, tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
