"""The distributed deployment on one machine: PostgreSQL, Redis, the daemon, workers of their own.

``python -m edges_orchestrate.cluster run`` (``./scripts/orchestrate cluster``) starts, in
``--folder``: Redis (Debian's ``redis-server``; not when ``EDGES_CELERY_BROKER`` names one), the
Dagster daemon (queue, run monitoring, run retries) and two Celery workers, each in a folder of
its own (its ``DAGSTER_HOME``, its Meltano system folder, its dbt target, mode 700) sharing
nothing but PostgreSQL and the broker; migrates Meltano's and Dagster's databases once before
any of them starts; submits one run per workspace (job ``workspace_<name>``, Celery queue
``edges_<name>``), waits for each (and its retry), prints a line per workspace (status, the
worker that ran it, rows added, state ID), stops what it started and exits 1 when any failed.

Worker ``i`` of ``W`` serves workspace ``j`` when ``j % W == i`` or ``j >= W``: with three
workspaces and two workers, alpha on worker-1 only, beta on worker-2 only, gamma on both. A
worker's environment holds the API keys of the workspaces it serves, no other. A worker runs
one run at a time and takes the next only when it is free (``worker_disable_prefetch``), so a
worker that dies takes one workspace's sync with it, and queued runs wait for a live worker.

The other subcommands run one part each (the tests start them one by one, and a machine of a
real deployment runs ``worker`` only): ``migrate``, ``broker``, ``daemon``, ``worker``,
``submit``, ``wait``. Settings: ``EDGES_DAGSTER_PG_URL`` (``postgresql+psycopg2://``, Dagster's
storage), ``EDGES_CELERY_BROKER`` (``redis://``), and what the code location reads
(definitions.py: ``MELTANO_DATABASE_URI``, ``TARGET_POSTGRES_*``, the workspaces' keys).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

from edges_orchestrate import localpg, retrying
from edges_orchestrate.environment import linked_system_dir
from edges_orchestrate.workspaces import WORKSPACES_FILE, Workspace, load, sync_target

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    import dagster as dg

ORCHESTRATE = Path(__file__).resolve().parent.parent
ROOT = ORCHESTRATE.parent
INSTANCE_CONFIG = ORCHESTRATE / "cluster" / "dagster.yaml"
BIN = Path(sys.executable).parent
QUEUE_PREFIX = "edges_"
CODE = ["-m", "edges_orchestrate.definitions"]
# A sync Meltano holds as running that has not beaten for this long is dead (stale.py): the
# retry of a killed worker's run comes within about 20 s.
STALE_SYNC_SECONDS = "10"
RUN_TIMEOUT = 900.0


def queue(workspace: str) -> str:
    """The Celery queue of a workspace's runs."""
    return f"{QUEUE_PREFIX}{workspace}"


def assignment(workspaces: list[Workspace], workers: int) -> dict[str, list[str]]:
    """Which workspaces each worker serves (``worker-1`` ...)."""
    return {
        f"worker-{i + 1}": [
            w.name for j, w in enumerate(workspaces) if j % workers == i or j >= workers
        ]
        for i in range(workers)
    }


def worker_env(
    base: dict[str, str], serves: list[str], everyone: list[Workspace]
) -> dict[str, str]:
    """A worker's environment: the keys of the workspaces it serves, no other."""
    others = {w.api_key_env for w in everyone if w.name not in serves}
    return {name: value for name, value in base.items() if name not in others}


def home(folder: Path) -> Path:
    """A folder of its own (mode 700) with a DAGSTER_HOME holding the distributed instance."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    dagster_home = folder / "dagster"
    dagster_home.mkdir(exist_ok=True)
    shutil.copy(INSTANCE_CONFIG, dagster_home / "dagster.yaml")
    return dagster_home


def meltano_system_dir(folder: Path) -> Path:
    """A Meltano system folder of the worker's own, the project's plugins linked in.

    Its runs and logs live there, the tap's config with the workspace's key among them: mode 700.
    """
    return linked_system_dir(folder / ".meltano", ROOT / ".meltano")


def component_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a component started in ``folder``."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home(folder)),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "EDGES_STALE_SYNC_SECONDS": os.environ.get("EDGES_STALE_SYNC_SECONDS", STALE_SYNC_SECONDS),
        **extra,
    }


def spawn(
    command: list[str], folder: Path, env: dict[str, str], log: str
) -> subprocess.Popen[bytes]:
    """A component in a process group of its own (what it starts dies with it).

    Its log is in its folder; what it writes is private (umask 077).
    """
    with (folder / log).open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o077,
        )


def become(command: list[str], folder: Path, env: dict[str, str], log: str) -> t.NoReturn:
    """This process becomes the component (as ``spawn`` starts it, without a parent left)."""
    os.chdir(folder)
    os.umask(0o077)
    out = os.open(folder / log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.execve(command[0], command, env)  # noqa: S606


def migrate(folder: Path) -> None:
    """Meltano's system database and Dagster's storage brought to their schema.

    Once, before any component starts: several creating the same tables at once race.
    """
    from dagster import DagsterInstance  # noqa: PLC0415 - Dagster only where it runs

    from edges_orchestrate.definitions import migrate_system_database  # noqa: PLC0415

    os.environ["DAGSTER_HOME"] = str(home(folder / "submit"))
    migrate_system_database()
    with DagsterInstance.get() as instance:
        instance.upgrade()


def redis_server() -> str:
    """Debian's redis-server, installed where it is missing."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        localpg.apt_install("redis-server")
        found = "/usr/bin/redis-server"
    return found


def broker_command(folder: Path) -> tuple[list[str], str]:
    """``redis-server`` on a free port of 127.0.0.1, no persistence; its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = localpg.free_port()
    command = [redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    return command, f"redis://127.0.0.1:{port}/0"


def start_broker(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A Redis of this deployment; its URL, once it answers."""
    command, url = broker_command(folder)
    process = spawn(command, folder, dict(os.environ), "redis.log")
    import redis  # noqa: PLC0415

    deadline = time.monotonic() + 30
    client = redis.Redis.from_url(url, socket_timeout=2)
    while not answers(client):
        if process.poll() is not None or time.monotonic() > deadline:
            msg = f"redis-server did not start: {(folder / 'redis.log').read_text()[-2000:]}"
            raise RuntimeError(msg)
        time.sleep(0.1)
    return url, process


def answers(client: t.Any) -> bool:  # noqa: ANN401 - a redis client
    """Whether the Redis server answers a PING."""
    import redis  # noqa: PLC0415

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def start_daemon(folder: Path) -> subprocess.Popen[bytes]:
    """The Dagster daemon (run queue, run monitoring, run retries)."""
    env = component_env(folder)
    return spawn([str(BIN / "dagster-daemon"), "run", *CODE], folder, env, "daemon.log")


def worker_command(name: str, serves: list[str], threads: int = 1) -> list[str]:
    """``celery worker`` of the threads pool: one run at a time unless told otherwise.

    One run at a time (as one pod per run on Kubernetes): a worker that dies takes one
    workspace's sync with it, and every other run waits in its queue for a live worker.
    """
    return [
        str(BIN / "celery"),
        "-A",
        "edges_orchestrate.worker",
        "worker",
        "-P",
        "threads",
        "-c",
        str(threads),
        "-Q",
        ",".join(queue(s) for s in serves),
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "INFO",
    ]


def start_worker(folder: Path, name: str, serves: list[str]) -> subprocess.Popen[bytes]:
    """A worker in ``folder/<name>``.

    Its own DAGSTER_HOME, Meltano system folder and dbt target, and only the keys of the
    workspaces it serves.
    """
    own, env = prepare_worker(folder, name, serves)
    return spawn(worker_command(name, serves), own, env, "worker.log")


def prepare_worker(folder: Path, name: str, serves: list[str]) -> tuple[Path, dict[str, str]]:
    """The worker's folder and environment."""
    own = folder / name
    env = component_env(own, EDGES_DBT_TARGET_DIR=str(own / "dbt"))
    env["MELTANO_SYS_DIR_ROOT"] = str(meltano_system_dir(own))
    return own, worker_env(env, serves, load(workspaces_file()))


def workspaces_file() -> Path:
    """The workspaces file in use."""
    return Path(os.environ.get("EDGES_WORKSPACES") or WORKSPACES_FILE)


@contextlib.contextmanager
def code_location(instance: dg.DagsterInstance) -> Iterator[t.Any]:
    """The code location, as the daemon loads it."""
    from dagster._core.workspace.context import WorkspaceProcessContext  # noqa: PLC0415
    from dagster._core.workspace.load_target import ModuleTarget  # noqa: PLC0415

    target = ModuleTarget(
        module_name="edges_orchestrate.definitions",
        attribute=None,
        working_directory=None,
        location_name=None,
    )
    with WorkspaceProcessContext(instance, target) as context:
        workspace = context.create_request_context()
        (name,) = workspace.get_code_location_entries()
        yield workspace, workspace.get_code_location(name)


def submit(names: list[str], *, tables_only: bool = False) -> dict[str, str]:
    """One run per workspace (job ``workspace_<name>``) through the run queue; run IDs.

    With ``tables_only``, its tables only (no dbt).
    """
    from dagster import DagsterInstance  # noqa: PLC0415
    from dagster._core.definitions.selector import JobSubsetSelector  # noqa: PLC0415

    submitted: dict[str, str] = {}
    with DagsterInstance.get() as instance, code_location(instance) as (workspace, location):
        (repo,) = location.get_repositories().values()
        for name in names:
            tables = frozenset(
                key
                for key in repo.asset_graph.get_all_asset_keys()
                if key.path[:2] == [name, "tables"]
            )
            selector = JobSubsetSelector(
                location_name=location.name,
                repository_name=repo.name,
                job_name=f"workspace_{name}",
                op_selection=None,
                asset_selection=tables if tables_only else None,
            )
            job = location.get_job(selector)
            plan = location.get_execution_plan(
                job, {}, step_keys_to_execute=None, known_state=None, instance=instance
            ).execution_plan_snapshot
            run = instance.create_run(
                job_name=job.name,
                run_id=None,
                run_config={},
                resolved_op_selection=None,
                step_keys_to_execute=plan.step_keys_to_execute,
                op_selection=None,
                status=None,
                root_run_id=None,
                parent_run_id=None,
                tags=job.tags,
                job_snapshot=job.job_snapshot,
                execution_plan_snapshot=plan,
                parent_job_snapshot=job.parent_job_snapshot,
                remote_job_origin=job.get_remote_origin(),
                job_code_origin=job.get_python_origin(),
                asset_selection=tables if tables_only else None,
                asset_check_selection=frozenset() if tables_only else None,
                asset_graph=repo.asset_graph,
            )
            instance.submit_run(run.run_id, workspace)
            submitted[name] = run.run_id
    return submitted


def attempts(instance: dg.DagsterInstance, root: str) -> list[dg.DagsterRun]:
    """A run and its retries, oldest first."""
    from dagster import RunsFilter  # noqa: PLC0415
    from dagster._core.storage.tags import ROOT_RUN_ID_TAG  # noqa: PLC0415

    retries = instance.get_runs(filters=RunsFilter(tags={ROOT_RUN_ID_TAG: root}))  # newest first
    first = instance.get_run_by_id(root)
    return ([first] if first else []) + retries[::-1]


def settled(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> bool:
    """Whether the last attempt finished and no retry of it is coming (retrying.over)."""
    from dagster._core.storage.tags import WILL_RETRY_TAG  # noqa: PLC0415

    last = runs[-1]
    record = instance.get_run_record_by_id(last.run_id)
    ended = record.end_time if record is not None else None
    return retrying.over(
        finished=last.is_finished,
        failed=last.is_failure,
        will_retry=last.tags.get(WILL_RETRY_TAG),
        retries_enabled=instance.run_retries_enabled,
        ended_ago=time.time() - ended if ended else 0.0,
    )


def wait(runs: dict[str, str], timeout: float = RUN_TIMEOUT) -> dict[str, t.Any]:
    """Wait for each workspace's run and its retries; what each attempt did."""
    from dagster import DagsterInstance  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    with DagsterInstance.get() as instance:
        while True:
            chains = {name: attempts(instance, root) for name, root in runs.items()}
            done = all(settled(instance, chain) for chain in chains.values())
            if done or time.monotonic() > deadline:
                break
            time.sleep(1)
        return {name: outcome(instance, name, chain) for name, chain in chains.items()}


def outcome(
    instance: dg.DagsterInstance, name: str, chain: list[dg.DagsterRun]
) -> dict[str, t.Any]:
    """What a workspace's runs did: every attempt (status, worker, failure) and the rows added."""
    from dagster import DagsterEventType  # noqa: PLC0415

    from edges_orchestrate.liveness import worker_of  # noqa: PLC0415

    runs = []
    rows: dict[str, int] = {}
    for run in chain:
        failure = [
            e.message for e in instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        ]
        for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = record.asset_materialization
            if materialization is None or materialization.asset_key.path[1:2] != ["tables"]:
                continue
            new = materialization.metadata.get("new rows")
            if new is not None:
                table = materialization.asset_key.path[-1]
                rows[table] = rows.get(table, 0) + int(t.cast("int", new.value))
        record = instance.get_run_record_by_id(run.run_id)
        runs.append(
            {
                "run_id": run.run_id,
                "end_time": record.end_time if record else None,
                "status": run.status.value,
                "worker": worker_of(run.tags),
                "failure": failure[-1] if failure else None,
            }
        )
    workspace = next(w for w in load(workspaces_file()) if w.name == name)
    ok = bool(chain) and chain[-1].status.value == "SUCCESS"
    return {
        "status": "ok" if ok else "failed",
        "worker": runs[-1]["worker"] if runs else None,
        "new_rows": rows,
        "state_id": workspace.state_id(*sync_target()),
        "attempts": runs,
    }


def line(name: str, result: dict[str, t.Any]) -> str:
    """One workspace's line."""
    rows = ", ".join(f"{table} {n}" for table, n in sorted(result["new_rows"].items()))
    retried = (
        f" (retried after {result['attempts'][0]['worker']})" if len(result["attempts"]) > 1 else ""
    )
    return (
        f"{name:<10} {result['status'].upper():<7} worker {result['worker'] or '-'}{retried}  "
        f"rows added: {rows or 'none'}  state {result['state_id']}"
    )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """End what this command started: SIGTERM to each group, SIGKILL after 20 s."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def run_all(
    folder: Path, only: list[str] | None, workers: int, *, tables_only: bool
) -> dict[str, t.Any]:
    """Everything, on this machine; what each workspace did."""
    workspaces = [w for w in load(workspaces_file()) if not only or w.name in only]
    started: list[subprocess.Popen[bytes]] = []
    try:
        if not os.environ.get("EDGES_CELERY_BROKER"):
            url, broker = start_broker(folder / "redis")
            started.append(broker)
            os.environ["EDGES_CELERY_BROKER"] = url
        migrate(folder)
        started.append(start_daemon(folder / "daemon"))
        for name, serves in assignment(workspaces, workers).items():
            started.append(start_worker(folder, name, serves))
        os.environ["DAGSTER_HOME"] = str(home(folder / "submit"))
        results = wait(submit([w.name for w in workspaces], tables_only=tables_only))
    finally:
        stop(started[::-1])
    return results


def main(argv: list[str] | None = None) -> int:
    """The subcommands."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "action", choices=["run", "migrate", "broker", "daemon", "worker", "submit", "wait"]
    )
    parser.add_argument("names", nargs="*", help="workspaces (submit, run) or run IDs (wait)")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--name", default="worker-1", help="worker: its name")
    parser.add_argument("--serves", default="", help="worker: the workspaces it serves (a,b)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="submit, wait, run: write the result here")
    parser.add_argument("--no-dbt", action="store_true", help="submit, run: the tables only")
    args = parser.parse_intermixed_args(argv)
    folder = args.folder.resolve()
    result: t.Any = None
    if args.action == "run":
        result = run_all(folder, args.names or None, args.workers, tables_only=args.no_dbt)
        for name, outcome_ in result.items():
            print(line(name, outcome_))
    elif args.action == "migrate":
        migrate(folder)
    elif args.action == "broker":
        # Its URL, then this process becomes the Redis server (a process to stop, not two).
        command, url = broker_command(folder / "redis")
        print(url, flush=True)
        os.execv(command[0], command)  # noqa: S606
    elif args.action == "daemon":
        own = folder / "daemon"
        become([str(BIN / "dagster-daemon"), "run", *CODE], own, component_env(own), "daemon.log")
    elif args.action == "worker":
        serves = args.serves.split(",")
        own, env = prepare_worker(folder, args.name, serves)
        become(worker_command(args.name, serves), own, env, "worker.log")
    elif args.action == "submit":
        os.environ["DAGSTER_HOME"] = str(home(folder / "submit"))
        result = submit(args.names, tables_only=args.no_dbt)
        print(json.dumps(result))
    else:
        os.environ["DAGSTER_HOME"] = str(home(folder / "submit"))
        result = wait(json.loads(args.names[0]))
    if args.json and result is not None:
        args.json.write_text(json.dumps(result), encoding="utf-8")
    if args.action in {"run", "wait"}:
        return 0 if all(r["status"] == "ok" for r in result.values()) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
