"""The Dagster code location for real: three sandbox workspaces at once, state in PostgreSQL.

Real Dagster (its own venv, .venv-orchestrate, installed here under a lock as the Meltano tests
install Meltano), real Meltano (``cluster`` environment: system database and state in a real
PostgreSQL), real target-postgres and dbt. ``python -m edges_orchestrate.run`` runs the
``all_workspaces`` job with the multiprocess executor and writes what each workspace did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
import typing as t

import psutil
import pytest
from dbtkit import engagement_ids
from meltanokit import (
    MELTANO,
    ROOT,
    STREAMS,
    cli_singer_state,
    expected_keys,
    grow_world,
    install_orchestrator,
    iteration_indexes,
    keys_by_stream,
    meltano,
    partition_contexts,
    singer_state,
    system_dir,
)
from pgserver import PostgresServer, running_server

from tap_edges.actions import ACTIONS_BY_STREAM

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Three and two minutes: they start before every other test (conftest.py).
pytestmark = [pytest.mark.e2e(seconds=180), pytest.mark.slow]

PYTHON = ROOT / ".venv-orchestrate" / "bin" / "python"
WORKSPACES = ("alpha", "beta", "gamma")
RUNS = 7  # 1 identity x (connections, viewers, 1 thread, 1 post x 3, 1 page) per workspace
GROWTH = 2
RUN_TIMEOUT = 600

Tables = dict[str, list[dict[str, t.Any]]]


@pytest.fixture(scope="session")
def orchestrator(session_dir: Path) -> None:
    """Meltano's plugins, then .venv-orchestrate."""
    install_orchestrator(session_dir)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    yield from running_server()


@pytest.fixture
def cluster(orchestrator: None, postgres: PostgresServer, tmp_path: Path) -> Iterator[Cluster]:
    """The test's cluster; runs still going when the test ends are killed."""
    made = Cluster(tmp_path, postgres)
    yield made
    made.stop()


class Cluster:
    """One test's world: PostgreSQL databases, Dagster instance, sandbox worlds, environment."""

    def __init__(self, workdir: Path, server: PostgresServer) -> None:
        self.workdir, self.server = workdir, server
        self.states: dict[str, dict[str, t.Any]] = {}
        self.started: list[subprocess.Popen[str]] = []
        self.last_log = ""
        suffix = workdir.name.lower().replace("-", "_")
        self.system_db, self.warehouse = f"meltano_{suffix}", f"warehouse_{suffix}"
        server.create_database(self.system_db)
        server.create_database(self.warehouse)
        home = workdir / "dagster"
        home.mkdir()
        shutil.copy(ROOT / "orchestrate" / "dagster.yaml", home / "dagster.yaml")
        uri = f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{self.system_db}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAP_EDGES")},
            "DAGSTER_HOME": str(home),
            "MELTANO_DATABASE_URI": uri,
            "MELTANO_SYS_DIR_ROOT": str(system_dir(workdir)),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "EDGES_DBT_TARGET_DIR": str(workdir / "dbt"),
            "TARGET_POSTGRES_HOST": server.host,
            "TARGET_POSTGRES_PORT": str(server.port),
            "TARGET_POSTGRES_USER": server.user,
            "TARGET_POSTGRES_PASSWORD": "unused-with-trust-auth",
            "TARGET_POSTGRES_DATABASE": self.warehouse,
            "TARGET_POSTGRES_ADD_RECORD_METADATA": "true",
        }
        for name in WORKSPACES:
            prefix = f"TAP_EDGES__{name.upper()}_"
            self.env[f"EDGES_{name.upper()}_API_KEY"] = "edges-sandbox-key"
            self.env[f"{prefix}SANDBOX_PATH"] = str(self.world(name))
            self.env[f"{prefix}SANDBOX_RUN_SECONDS"] = "1"
            self.env[f"{prefix}POLL_INTERVAL_SECONDS"] = "1"

    def world(self, name: str) -> Path:
        return self.workdir / f"{name}-sandbox.json"

    def start(self, *args: str, **env: str) -> tuple[subprocess.Popen[str], Path]:
        """``python -m edges_orchestrate.run ARGS`` in the background; its JSON summary file."""
        out = self.workdir / f"run-{time.monotonic_ns()}.json"
        process = subprocess.Popen(
            [str(PYTHON), "-m", "edges_orchestrate.run", "--json", str(out), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env={**self.env, **env},
        )
        self.started.append(process)
        return process, out

    def stop(self) -> None:
        """End the runs a failed test left behind (each holds a slot of its workspace)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=60)

    def finish(self, started: tuple[subprocess.Popen[str], Path]) -> tuple[int, dict[str, t.Any]]:
        process, out = started
        try:
            log, _ = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            # Seen once, under load, not understood: say what the run was doing, and where.
            process.kill()
            log, _ = process.communicate(timeout=60)
            records = {name: self.meltano_runs(state_id(name)) for name in WORKSPACES}
            pytest.fail(
                f"edges_orchestrate.run still running after {RUN_TIMEOUT} s; Meltano's records "
                f"{records}; sync locks held {self.lock_holders()}; its log's end:\n{log[-6000:]}"
            )
        self.states.clear()  # the run changed them
        (self.workdir / f"{out.stem}.log").write_text(log, encoding="utf-8")
        self.last_log = log
        assert out.exists(), log[-8000:]
        return process.returncode, json.loads(out.read_text(encoding="utf-8"))

    def run(self, *args: str, **env: str) -> tuple[int, dict[str, t.Any]]:
        return self.finish(self.start(*args, **env))

    def meltano_env(self) -> dict[str, str]:
        return {**self.env, "MELTANO_ENVIRONMENT": "cluster"}

    def state(self, name: str) -> dict[str, t.Any]:
        """The workspace's state, as Meltano keeps it (read once between two runs)."""
        if name not in self.states:
            self.states[name] = singer_state(state_id(name), self.meltano_env())
        return self.states[name]

    def tables(self, name: str) -> Tables:
        schema = f"edges_{name}"
        tables = self.server.tables(self.warehouse, schema)
        return {table: self.server.rows(self.warehouse, schema, table) for table in tables}

    def expected(self, name: str, iteration: int | None = None) -> dict[str, set[tuple[str, ...]]]:
        return expected_keys(self.workdir, self.state(name), iteration, world=self.world(name))

    def lock_holders(self) -> list[str]:
        """The sessions holding a sync lock (synclock.py), by application name."""
        sql = (
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "  # noqa: S608
            f"WHERE l.locktype = 'advisory' AND l.granted AND a.datname = '{self.system_db}' "
            "ORDER BY 1"
        )
        return self.server.psql(self.system_db, sql).splitlines()

    def meltano_runs(self, state_id: str) -> list[tuple[str, str, str]]:
        """Meltano's job records of a state ID: (state, started, ended), oldest first."""
        if not self.server.psql(self.system_db, "SELECT to_regclass('runs')").strip():
            return []  # Meltano has not created its tables yet
        sql = (
            "SELECT state, started_at, coalesce(ended_at::text, '') FROM runs "  # noqa: S608
            f"WHERE job_name = '{state_id}' ORDER BY started_at"
        )
        rows = self.server.psql(self.system_db, sql).splitlines()
        return [(state, started, ended) for state, started, ended in (r.split("|") for r in rows)]


def state_id(name: str) -> str:
    """A workspace's Meltano state ID in the cluster environment, loading into PostgreSQL."""
    return f"cluster:tap-edges--{name}-to-target-postgres"


def check_tables(cluster: Cluster, name: str) -> Tables:
    """The workspace's tables hold exactly what its sandbox world delivered, each key once.

    Returns:
        The tables, as read for the check.
    """
    tables = cluster.tables(name)
    assert sorted(tables) == sorted(STREAMS), name
    loaded = keys_by_stream(tables)
    expected = cluster.expected(name)
    for stream in STREAMS:
        assert len(loaded[stream]) == len(set(loaded[stream])), f"{name}.{stream}: duplicates"
        assert set(loaded[stream]) == expected[stream], f"{name}.{stream}"
        # The sandbox workspaces list their inputs, discovery off: the parents stay empty.
        listing = ACTIONS_BY_STREAM[stream].lists is not None
        assert bool(loaded[stream]) is not listing, f"{name}.{stream}: {len(loaded[stream])} rows"
    return tables


def batched_after(tables: Tables, mark: str) -> dict[str, set[tuple[str, ...]]]:
    late = {s: [r for r in rows if str(r["_sdc_batched_at"]) > mark] for s, rows in tables.items()}
    return {stream: set(keys) for stream, keys in keys_by_stream(late).items()}


def last_batch(tables: Tables) -> str:
    return max(str(row["_sdc_batched_at"]) for rows in tables.values() for row in rows)


def kill_worker_mid_sync(
    name: str, cluster: Cluster, after: float = 4, timeout: float = 120
) -> dict[str, str]:
    """SIGKILL the Dagster step worker of a workspace's sync, and everything it started (a
    machine or pod lost), ``after`` seconds into its tap's run.

    The tap is found by its Meltano run folder, the worker as the parent of the Pipes process
    above it; with runs that take longer than ``after``, the sync dies between continuing its
    Edges runs and reading them. Returns the tap's environment.
    """
    folder = f"{system_dir(cluster.workdir)}/workspaces/{name}/run/tap-edges--{name}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in psutil.process_iter(["cmdline", "create_time"]):
            cmdline = process.info["cmdline"] or ()
            if folder not in " ".join(cmdline) or "--discover" in cmdline:
                continue  # not the tap, or Meltano's discovery before the sync
            time.sleep(max(0.0, process.info["create_time"] + after - time.time()))
            with contextlib.suppress(psutil.NoSuchProcess):
                environment: dict[str, str] = process.environ()
                (pipes,) = [
                    p for p in process.parents() if "edges_orchestrate.meltano_pipes" in p.cmdline()
                ]
                worker = pipes.parent()
                assert worker is not None
                for victim in [worker, *worker.children(recursive=True)]:
                    victim.send_signal(signal.SIGKILL)
                return environment
        time.sleep(0.2)
    pytest.fail(f"{name}'s tap never started")


@dataclasses.dataclass(frozen=True)
class Loaded:
    """Where a workspace stood after a load: its Edges runs, its world's iteration, its last
    batch."""

    uids: set[str]
    iteration: int
    mark: str


def first_load(cluster: Cluster, postgres: PostgresServer) -> dict[str, Loaded]:
    """Materialize every workspace once: each loads exactly its own world into its own schema,
    the sync summary counts those rows, dbt builds over each, and no Edges run of one workspace
    is in another's state.

    Returns:
        Where each workspace stands.
    """
    code, first = cluster.run()
    assert code == 0, first
    loaded: dict[str, Loaded] = {}
    for name in WORKSPACES:
        outcome = first[name]
        assert outcome["status"] == "ok", outcome
        assert outcome["dbt"] == "ok", outcome
        assert outcome["state_id"] == state_id(name)
        tables = check_tables(cluster, name)
        # The sync summary, as Dagster metadata, counts exactly the rows that landed.
        assert outcome["new_rows"] == {s: len(keys) for s, keys in keys_by_stream(tables).items()}
        assert outcome["sync"]["partitions launched"] == RUNS
        assert outcome["sync"]["partitions failed"] == 0
        uids = set(partition_contexts(cluster.state(name)))
        assert len(uids) == RUNS
        engagements = postgres.rows(cluster.warehouse, f"analytics_{name}", "engagements")
        assert {e["engagement_id"] for e in engagements} == engagement_ids(tables)
        (iteration,) = iteration_indexes(cluster.workdir, world=cluster.world(name))
        loaded[name] = Loaded(uids, iteration, last_batch(tables))
    # Each workspace synced in a Meltano system folder of its own: its loader's config and
    # logging files were its own (environment.workspace_system), the plugins shared.
    for name in WORKSPACES:
        own = system_dir(cluster.workdir) / "workspaces" / name
        assert (own / "run" / "target-postgres").is_dir(), name
        assert (own / "loaders").resolve() == (system_dir(cluster.workdir) / "loaders").resolve()
    # Separate states: no run of one workspace in another's state.
    assert not (loaded["alpha"].uids & loaded["beta"].uids)
    assert not (loaded["beta"].uids & loaded["gamma"].uids)
    assert not (loaded["alpha"].uids & loaded["gamma"].uids)
    return loaded


def check_continued(cluster: Cluster, name: str, before: Loaded, outcome: dict[str, t.Any]) -> None:
    """The workspace's second load continued its runs and wrote exactly the new items."""
    assert outcome["status"] == "ok", outcome
    assert set(partition_contexts(cluster.state(name))) == before.uids  # continued
    new = cluster.expected(name, iteration=before.iteration + 1)
    assert all(keys for s, keys in new.items() if not ACTIONS_BY_STREAM[s].lists), new
    tables = check_tables(cluster, name)
    # Exactly the new items were written: nothing old again.
    assert batched_after(tables, before.mark) == new
    assert outcome["new_rows"] == {s: len(keys) for s, keys in new.items()}


def test_three_workspaces_in_parallel(
    cluster: Cluster, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Each workspace loads its own world into its own schema and dbt builds over each; a
    second materialization loads only each workspace's new items, while one workspace's step
    worker is killed in the middle of its sync (SIGKILL, with Meltano and the tap under it):
    that fails this workspace alone, visibly, leaves the others untouched, and its next
    materialization goes ahead and loses nothing. (One test, one cluster: every Dagster run
    costs seconds of CPU.)"""
    before = first_load(cluster, postgres)
    for name in WORKSPACES:
        assert grow_world(tmp_path, GROWTH, world=cluster.world(name)) > 0
    # Gamma's runs take longer this time, so its sync can be killed in the middle.
    second_run = cluster.start("--no-dbt", TAP_EDGES__GAMMA_SANDBOX_RUN_SECONDS="8")
    seen = kill_worker_mid_sync("gamma", cluster)
    # Gamma's tap saw its own key and settings, none of the other workspaces'.
    assert seen["EDGES_GAMMA_API_KEY"]
    assert "EDGES_ALPHA_API_KEY" not in seen
    assert "EDGES_BETA_API_KEY" not in seen
    assert not [k for k in seen if k.startswith(("TAP_EDGES__ALPHA_", "TAP_EDGES__BETA_"))]
    assert seen["TAP_EDGES__GAMMA_SANDBOX_RUN_SECONDS"] == "8"
    code, second = cluster.finish(second_run)
    assert code == 1, second
    assert second["gamma"]["status"] == "failed"
    assert "gamma" in second["gamma"]["error"]
    for name in ("alpha", "beta"):
        check_continued(cluster, name, before[name], second[name])

    # The state as read for these checks is what Meltano itself says, after a killed sync too
    # (its partial state merged over its completed one).
    assert cluster.state("gamma") == cli_singer_state(state_id("gamma"), cluster.meltano_env())
    # Meltano still holds the killed sync as running (it never recorded its end) and would
    # refuse gamma's syncs for five minutes; it no longer beats, so the next goes ahead.
    records = cluster.meltano_runs(state_id("gamma"))
    assert [state for state, _, _ in records] == ["SUCCESS", "RUNNING"]
    # PostgreSQL released the killed sync's lock with its connection.
    assert cluster.lock_holders() == []
    code, third = cluster.run("--only", "gamma", "--no-dbt", EDGES_STALE_SYNC_SECONDS="2")
    assert code == 0, third
    assert set(third) == {"run_id", "gamma"}
    assert "with meltano run --force" in cluster.last_log
    check_tables(cluster, "gamma")  # everything the world delivered, the killed batch included
    assert set(partition_contexts(cluster.state("gamma"))) == before["gamma"].uids


def test_one_workspace_never_runs_twice(cluster: Cluster) -> None:
    """Two Dagster runs of one workspace queue on its pool (one sync after the other, both
    load); a ``meltano run`` of the same state ID meanwhile is refused by Meltano; a workspace
    whose key is missing fails by name."""
    alpha = state_id("alpha")
    slow = {"TAP_EDGES__ALPHA_SANDBOX_RUN_SECONDS": "4"}
    # The second run starts once the first one's sync has: two runs starting together on a new
    # Dagster instance race to create its SQLite tables ("table runs already exists").
    runs = [cluster.start("--only", "alpha", "--no-dbt", **slow)]
    deadline = time.monotonic() + RUN_TIMEOUT  # a Dagster run starts slowly on busy cores
    while not any(r[0] == "RUNNING" for r in cluster.meltano_runs(alpha)):
        assert time.monotonic() < deadline, "no sync of alpha started"
        time.sleep(0.3)
    # The running sync holds alpha's lock in PostgreSQL (synclock.py), and only alpha's.
    assert cluster.lock_holders() == [f"edges sync {alpha}"]
    runs.append(cluster.start("--only", "alpha", "--no-dbt", **slow))
    refused = meltano(["run", "tap-edges--alpha", "target-postgres"], cluster.meltano_env())
    assert refused.returncode != 0
    assert f"Another '{alpha}' pipeline is already running" in refused.stderr
    outcomes = [cluster.finish(run) for run in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    records = cluster.meltano_runs(alpha)
    assert [state for state, _, _ in records] == ["SUCCESS", "SUCCESS"], records
    (_, _, first_end), (_, second_start, _) = records
    assert second_start >= first_end, records  # one after the other, never overlapping
    assert cluster.lock_holders() == []
    check_tables(cluster, "alpha")

    env = {k: v for k, v in cluster.env.items() if k != "EDGES_BETA_API_KEY"}
    done = subprocess.run(
        [str(PYTHON), "-m", "edges_orchestrate.run", "--only", "beta", "--no-dbt"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 1
    assert "workspace beta: EDGES_BETA_API_KEY (its Edges API key) is not set" in done.stdout
    assert not cluster.meltano_runs(state_id("beta"))
    assert MELTANO.exists()


# What the code location takes from Dagster's private modules, and what it relies on them doing.
# An upgrade of the pinned versions fails here, naming the name, before a run fails at it.
PINNED_PRIVATE = """
import importlib, inspect, json, sys
from importlib import metadata
names = {
    "dagster._core.launcher": ["CheckRunHealthResult", "WorkerStatus"],
    "dagster._core.workspace.context": ["WorkspaceProcessContext"],
    "dagster._core.workspace.load_target": ["ModuleTarget"],
    "dagster._core.definitions.selector": ["JobSubsetSelector"],
    "dagster._core.storage.tags": ["ROOT_RUN_ID_TAG", "WILL_RETRY_TAG"],
    "dagster._core.storage.sqlite_storage": [],
    "dagster._core.instance.methods.event_methods": ["EventMethods"],
    "dagster._cli.api": ["_execute_run_command_body"],
    "dagster._grpc.types": ["ExecuteRunArgs"],
    "dagster._serdes": ["unpack_value"],
}
missing = [f"{m}.{n}" for m, ns in names.items() for n in ns
           if not hasattr(importlib.import_module(m), n)]
from dagster._core.instance.methods.event_methods import EventMethods
if not hasattr(EventMethods, "get_yaml_python_handlers"):
    missing.append("EventMethods.get_yaml_python_handlers (patched by worker.py)")
from dagster_dbt import DbtCliResource
if "self._cli_version" not in inspect.getsource(sys.modules[DbtCliResource.__module__]):
    missing.append("DbtCliResource reads self._cli_version (overridden by DbtCli)")
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG
from edges_orchestrate.liveness import TASK_ID_TAG
if DAGSTER_CELERY_TASK_ID_TAG != TASK_ID_TAG:
    missing.append("dagster_celery.tags.DAGSTER_CELERY_TASK_ID_TAG (liveness.TASK_ID_TAG)")
versions = {d: metadata.version(d) for d in sys.argv[1:]}
print(json.dumps({"missing": missing, "versions": versions}))
"""


def test_the_private_dagster_names_the_code_location_uses_are_pinned(orchestrator: None) -> None:
    pins = dict(
        line.strip().strip('",').split("==")
        for line in (ROOT / "orchestrate" / "pyproject.toml").read_text().splitlines()
        if line.strip().startswith('"dagster') and "==" in line
    )
    done = subprocess.run(
        [str(PYTHON), "-c", PINNED_PRIVATE, *pins],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["versions"] == pins  # the venv runs exactly the versions pinned
    assert found["missing"] == [], "Dagster changed what orchestrate/ relies on"
