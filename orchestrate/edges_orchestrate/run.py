"""Materialize every workspace (or some) once, in parallel, and say what each one did.

``python -m edges_orchestrate.run [--only NAME ...] [--json FILE]`` (``./scripts/orchestrate
run``): the ``all_workspaces`` job on the Dagster instance of ``$DAGSTER_HOME``, with the
multiprocess executor; then one line per workspace (rows added per table, state ID, dbt), and
exit status 1 when any workspace failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing as t
from pathlib import Path

import dagster as dg

from edges_orchestrate.definitions import (
    all_workspaces_job,
    defs,
    migrate_system_database,
    workspaces_file,
)
from edges_orchestrate.workspaces import Workspace, load, sync_target


def report(result: dg.ExecuteJobResult, workspaces: list[Workspace]) -> dict[str, t.Any]:
    """Per workspace: status, state ID, new rows per table, the sync summary, dbt's outcome."""
    environment, loader = sync_target()
    failed = {e.step_key: e for e in result.get_step_failure_events()}
    succeeded = {e.step_key for e in result.get_step_success_events()}
    found: dict[str, t.Any] = {}
    for workspace in workspaces:
        tables_step, dbt_step = f"{workspace.name}_tables", f"{workspace.name}_dbt"
        if tables_step not in failed and tables_step not in succeeded:
            continue  # not selected
        rows: dict[str, int] = {}
        sync: dict[str, t.Any] = {}
        for event in result.get_asset_materialization_events():
            key = event.asset_key
            if key is None or key.path[:2] != [workspace.name, "tables"]:
                continue
            metadata = {name: value.value for name, value in event.materialization.metadata.items()}
            rows[key.path[-1]] = int(t.cast("int", metadata.pop("new rows")))
            sync = metadata
        error = failed.get(tables_step)
        found[workspace.name] = {
            "status": "failed" if error else "ok",
            "state_id": workspace.state_id(environment, loader),
            "new_rows": rows,
            "sync": sync,
            "error": failure_text(workspace.name, error) if error else None,
            "log_tail": log_tail(error) if error else None,
            "dbt": "ok" if dbt_step in succeeded else "failed" if dbt_step in failed else "skipped",
        }
    return found


def failure_text(name: str, event: dg.DagsterEvent) -> str:
    """What a failed step said, or that its process died."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    if data.error and data.error.cls_name == "ChildProcessCrashException":
        return (
            f"workspace {name}: the step's process died in the middle of the sync (killed, or "
            "out of memory; Dagster's log says which signal); the next sync resumes from the "
            "tap's last committed state"
        )
    return f"workspace {name}: " + (data.error.message.strip() if data.error else "failed")


def log_tail(event: dg.DagsterEvent) -> str | None:
    """The end of Meltano's log a failed sync attached, if any."""
    data = event.step_failure_data.user_failure_data
    tail = data.metadata.get("log tail") if data is not None else None
    return str(tail.value).strip("`\n") if tail is not None else None


def line(name: str, outcome: dict[str, t.Any]) -> str:
    """One workspace's line."""
    rows = ", ".join(f"{table} {n}" for table, n in sorted(outcome["new_rows"].items()))
    if outcome["status"] == "ok":
        detail = f"rows added: {rows or 'none'}; dbt {outcome['dbt']}"
    else:
        detail = str(outcome["error"])
    return f"{name:<12} {outcome['status'].upper():<7} state {outcome['state_id']}  {detail}"


def main(argv: list[str] | None = None) -> int:
    """Run the job, print the summary, exit 1 when a workspace failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these workspaces only")
    parser.add_argument(
        "--no-dbt", action="store_true", help="load the tables only, build no dbt model"
    )
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    workspaces = load(workspaces_file())
    unknown = sorted(set(args.only or ()) - {w.name for w in workspaces})
    if unknown:
        parser.error(f"unknown workspace(s): {', '.join(unknown)}")
    chosen = [w for w in workspaces if not args.only or w.name in args.only]
    keys = [
        key
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] in {w.name for w in chosen} and not (args.no_dbt and key.path[1] != "tables")
    ]
    migrate_system_database()
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(all_workspaces_job),
            instance=instance,
            asset_selection=keys,
            raise_on_error=False,
        )
        outcomes = report(result, chosen)
        print(f"Dagster run {result.run_id}: {'succeeded' if result.success else 'FAILED'}")
    for name, outcome in outcomes.items():
        print(line(name, outcome))
    for name, outcome in outcomes.items():
        if outcome["log_tail"]:
            print(f"\n== {name}: the end of Meltano's log\n{outcome['log_tail']}")
    if args.json:
        args.json.write_text(json.dumps({"run_id": result.run_id, **outcomes}), encoding="utf-8")
    ok = result.success and all(o["status"] == "ok" for o in outcomes.values())
    return 0 if ok and len(outcomes) == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
