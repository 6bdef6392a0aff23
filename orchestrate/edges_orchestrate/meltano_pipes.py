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

Meltano's own exit code is reported, not passed on: this process exits 0 once it has reported,
so the asset, not Pipes, words the failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t

from dagster_pipes import PipesContext, open_dagster_pipes

from edges_orchestrate.summary import Summary, parse_line

TAIL_LINES = 40


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
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=env
    ) as process:
        for line in t.cast("t.IO[str]", process.stdout):
            sys.stderr.write(line)
            summary = parse_line(line) or summary
            tail = [*tail[-TAIL_LINES + 1 :], line.rstrip()]
    return process.returncode, summary, tail


def report(pipes: PipesContext, returncode: int, summary: Summary | None, tail: list[str]) -> None:
    """Tell Dagster what the sync did."""
    extras = pipes.extras
    state_id = str(extras["state_id"])
    message: dict[str, t.Any] = {
        "returncode": returncode,
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
        command = [str(part) for part in t.cast("list[str]", pipes.extras["command"])]
        pipes.log.info(f"running {' '.join(command[1:])}")
        env = meltano_environment(t.cast("list[str]", pipes.extras["unset"]))
        returncode, summary, tail = run_meltano(command, env)
        report(pipes, returncode, summary, tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
