"""The distributed deployment for real (orchestrate/cluster/dagster.yaml, cluster.py).

PostgreSQL (Dagster's storage, Meltano's state, the warehouse), Redis (Debian's, started by
``cluster broker``), the Dagster daemon and Celery workers, each a process group of its own in a
folder of its own, sharing nothing but PostgreSQL and the broker. Three sandbox workspaces:
alpha on worker-1 only, beta on worker-2 only, gamma on both (cluster.assignment). Then a worker
is SIGKILLed with everything under it in the middle of gamma's sync and a replacement starts;
then two runs of gamma and a direct ``meltano run`` of it meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import typing as t

import psutil
import pytest
from meltanokit import (
    ROOT,
    STREAMS,
    expected_keys,
    grow_world,
    install_orchestrator,
    keys_by_stream,
    meltano,
    singer_state,
    system_dir,
)
from pgserver import PostgresServer, running_server

from tap_edges.actions import ACTIONS_BY_STREAM

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.cluster, pytest.mark.e2e(seconds=240), pytest.mark.slow]

PYTHON = ROOT / ".venv-orchestrate" / "bin" / "python"
WORKSPACES = ("alpha", "beta", "gamma")
SERVES = {"worker-1": "alpha,gamma", "worker-2": "beta,gamma"}
DETECTION_SECONDS = 30
TIMEOUT = 600

Tables = dict[str, list[dict[str, t.Any]]]


@pytest.fixture(scope="module")
def orchestrator(session_dir: Path) -> None:
    """Meltano's plugins, then .venv-orchestrate."""
    install_orchestrator(session_dir)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    yield from running_server()


class Deployment:
    """The test's deployment: its databases, environment and processes."""

    def __init__(self, workdir: Path, server: PostgresServer) -> None:
        self.workdir, self.server = workdir, server
        self.folder = workdir / "cluster"
        self.processes: dict[str, subprocess.Popen[str]] = {}
        for database in ("meltano", "warehouse", "dagster"):
            server.create_database(f"cluster_{database}")
        at = f"{server.user}@{server.host}:{server.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAP_EDGES")},
            "EDGES_DAGSTER_PG_URL": f"postgresql+psycopg2://{at}/cluster_dagster",
            "MELTANO_DATABASE_URI": f"postgresql+psycopg://{at}/cluster_meltano",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TARGET_POSTGRES_HOST": server.host,
            "TARGET_POSTGRES_PORT": str(server.port),
            "TARGET_POSTGRES_USER": server.user,
            "TARGET_POSTGRES_PASSWORD": "unused-with-trust-auth",
            "TARGET_POSTGRES_DATABASE": "cluster_warehouse",
        }
        for name in WORKSPACES:
            prefix = f"TAP_EDGES__{name.upper()}_"
            self.env[f"EDGES_{name.upper()}_API_KEY"] = f"edges-sandbox-key-{name}"
            self.env[f"{prefix}SANDBOX_PATH"] = str(self.world(name))
            # Gamma's runs take longer, so that its sync can be killed in the middle.
            self.env[f"{prefix}SANDBOX_RUN_SECONDS"] = "6" if name == "gamma" else "1"
            self.env[f"{prefix}POLL_INTERVAL_SECONDS"] = "1"

    def world(self, name: str) -> Path:
        return self.workdir / f"{name}-sandbox.json"

    def cluster(self, *args: str) -> list[str]:
        return [str(PYTHON), "-m", "edges_orchestrate.cluster", *args, "--folder", str(self.folder)]

    def spawn(self, key: str, *args: str) -> subprocess.Popen[str]:
        """A long-running component, in a process group of its own."""
        process = subprocess.Popen(
            self.cluster(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )
        self.processes[key] = process
        return process

    def call(self, *args: str) -> str:
        done = subprocess.run(
            self.cluster(*args),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env=self.env,
            cwd=ROOT,
        )
        assert done.returncode in {0, 1}, done.stdout[-3000:] + done.stderr[-5000:]
        return done.stdout

    def start(self) -> None:
        """Broker, databases migrated once, then the daemon and the two workers."""
        broker = self.spawn("broker", "broker")
        assert broker.stdout is not None
        url = broker.stdout.readline().strip()
        assert url.startswith("redis://127.0.0.1:"), url
        self.env["EDGES_CELERY_BROKER"] = url
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
        self.call("migrate")
        self.spawn("daemon", "daemon")
        for name, serves in SERVES.items():
            self.start_worker(name, serves)

    def start_worker(self, name: str, serves: str) -> None:
        self.spawn(name, "worker", "--name", name, "--serves", serves)

    def run(self, *names: str) -> dict[str, t.Any]:
        """Submit one run per workspace (tables only) and wait for them and their retries."""
        return self.wait(self.submit(*names))

    def submit(self, *names: str) -> dict[str, str]:
        out = self.workdir / f"submit-{time.monotonic_ns()}.json"
        self.call("submit", "--no-dbt", *names, "--json", str(out))
        runs: dict[str, str] = json.loads(out.read_text(encoding="utf-8"))
        assert sorted(runs) == sorted(set(names))
        return runs

    def wait(self, runs: dict[str, str]) -> dict[str, t.Any]:
        out = self.workdir / f"wait-{time.monotonic_ns()}.json"
        self.call("wait", json.dumps(runs), "--json", str(out))
        result: dict[str, t.Any] = json.loads(out.read_text(encoding="utf-8"))
        return result

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)

    def state(self, name: str) -> dict[str, t.Any]:
        return singer_state(f"cluster:tap-edges--{name}-to-target-postgres", self.env)

    def tables(self, name: str) -> Tables:
        schema = f"edges_{name}"
        tables = self.server.tables("cluster_warehouse", schema)
        return {table: self.server.rows("cluster_warehouse", schema, table) for table in tables}

    def meltano_runs(self, name: str) -> list[tuple[str, str, str]]:
        sql = (
            "SELECT state, started_at, coalesce(ended_at::text, '') FROM runs "  # noqa: S608
            f"WHERE job_name = 'cluster:tap-edges--{name}-to-target-postgres' ORDER BY started_at"
        )
        rows = self.server.psql("cluster_meltano", sql).splitlines()
        return [(state, started, ended) for state, started, ended in (r.split("|") for r in rows)]

    def claimed(self) -> tuple[int, int]:
        """Pool slots held by a run, and sync locks held, right now."""
        slots = self.server.psql(
            "cluster_dagster", "SELECT count(*) FROM concurrency_slots WHERE run_id IS NOT NULL"
        )
        locks = self.server.psql(
            "postgres", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        return int(slots), int(locks)


@pytest.fixture
def deployment(
    orchestrator: None, postgres: PostgresServer, tmp_path: Path
) -> Iterator[Deployment]:
    made = Deployment(tmp_path, postgres)
    try:
        made.start()
        yield made
    finally:
        made.stop()


def check_tables(deployment: Deployment, name: str) -> None:
    """The workspace's tables hold exactly what its world delivered, each key once."""
    tables = deployment.tables(name)
    assert sorted(tables) == sorted(STREAMS), name
    loaded = keys_by_stream(tables)
    expected = expected_keys(
        deployment.workdir, deployment.state(name), None, world=deployment.world(name)
    )
    for stream in STREAMS:
        assert len(loaded[stream]) == len(set(loaded[stream])), f"{name}.{stream}: duplicates"
        assert set(loaded[stream]) == expected[stream], f"{name}.{stream}"
        # The sandbox workspaces list their inputs, discovery off: the parents stay empty.
        listing = ACTIONS_BY_STREAM[stream].lists is not None
        assert bool(loaded[stream]) is not listing, f"{name}.{stream}: {len(loaded[stream])} rows"


def kill_worker_of(deployment: Deployment, name: str, after: float = 3) -> tuple[str, float]:
    """SIGKILL the process group of the worker running the workspace's tap, ``after`` seconds
    into the tap's run; the worker's name and when it was killed."""
    # Only this deployment's folders: other end-to-end tests run workspaces of the same names
    # on the same machine at the same time.
    folders = {
        w: f"{deployment.folder}/{w}/.meltano/workspaces/{name}/run/tap-edges--{name}/"
        for w in SERVES
    }
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for process in psutil.process_iter(["cmdline", "create_time"]):
            cmdline = " ".join(process.info["cmdline"] or ())
            workers = [w for w, folder in folders.items() if folder in cmdline]
            if not workers or "--discover" in cmdline:
                continue
            (worker,) = workers
            time.sleep(max(0.0, process.info["create_time"] + after - time.time()))
            os.killpg(deployment.processes[worker].pid, signal.SIGKILL)
            return worker, time.time()
        time.sleep(0.2)
    pytest.fail(f"{name}'s tap never started")


def wait_unclaimed(deployment: Deployment) -> None:
    deadline = time.monotonic() + 30
    while deployment.claimed() != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert deployment.claimed() == (0, 0)


def first_round(deployment: Deployment) -> None:
    """Every workspace once: exact tables, both workers worked, each with its own keys only."""
    first = deployment.run(*WORKSPACES)
    for name in WORKSPACES:
        assert first[name]["status"] == "ok", first[name]
        assert len(first[name]["attempts"]) == 1
        check_tables(deployment, name)
        assert sum(first[name]["new_rows"].values()) > 0
    workers = {name: first[name]["worker"].split("@")[0] for name in WORKSPACES}
    assert workers["alpha"] == "worker-1"
    assert workers["beta"] == "worker-2"
    assert set(workers.values()) == {"worker-1", "worker-2"}  # both did work
    wait_unclaimed(deployment)
    # A worker's environment holds the keys of the workspaces it serves, no other; its
    # Meltano run folder (the tap's config, with the key) is its own and private.
    worker1 = psutil.Process(deployment.processes["worker-1"].pid).environ()
    assert "EDGES_ALPHA_API_KEY" in worker1
    assert "EDGES_BETA_API_KEY" not in worker1
    worker2 = psutil.Process(deployment.processes["worker-2"].pid).environ()
    assert "EDGES_ALPHA_API_KEY" not in worker2
    for worker in SERVES:
        assert (deployment.folder / worker).stat().st_mode & 0o077 == 0


def killed_round(deployment: Deployment, tmp_path: Path) -> None:
    """Gamma's worker SIGKILLed in the middle of its sync, a replacement started: the others
    untouched, gamma's run failed within 30 s and retried once elsewhere, nothing lost."""
    for name in WORKSPACES:
        assert grow_world(tmp_path, 2, world=deployment.world(name)) > 0
    runs = deployment.submit(*WORKSPACES)
    killed, killed_at = kill_worker_of(deployment, "gamma")
    deployment.start_worker("worker-3", SERVES[killed])
    second = deployment.wait(runs)
    for name in ("alpha", "beta"):
        assert second[name]["status"] == "ok", second[name]
        assert len(second[name]["attempts"]) == 1, second[name]  # untouched
    gamma = second["gamma"]
    # A string message: pytest would cut a dict's repr short, and the attempts are the story.
    assert gamma["status"] == "ok", json.dumps({"killed": killed, **gamma}, indent=1)
    dead, retry = gamma["attempts"]  # failed, then retried once
    assert dead["status"] == "FAILURE"
    assert dead["worker"].startswith(f"{killed}@")
    assert "stopped beating" in (dead["failure"] or ""), dead
    assert dead["end_time"] - killed_at <= DETECTION_SECONDS, (dead, killed_at)
    assert retry["status"] == "SUCCESS"
    assert not retry["worker"].startswith(f"{killed}@")
    for name in WORKSPACES:
        check_tables(deployment, name)  # every item, each once
    states = [s for s, _, _ in deployment.meltano_runs("gamma")]
    assert states == ["SUCCESS", "RUNNING", "SUCCESS"]
    wait_unclaimed(deployment)


def never_overlapping(deployment: Deployment, tmp_path: Path) -> None:
    """Two runs of gamma (both live workers serve it) and a direct meltano run meanwhile."""
    for name in WORKSPACES:
        grow_world(tmp_path, 1, world=deployment.world(name))
    twice = [deployment.submit("gamma")["gamma"], deployment.submit("gamma")["gamma"]]
    deadline = time.monotonic() + TIMEOUT
    while not any(s == "RUNNING" for s, _, _ in deployment.meltano_runs("gamma")):
        assert time.monotonic() < deadline, "no sync of gamma started"
        time.sleep(0.3)
    direct_env = {
        **deployment.env,
        "MELTANO_ENVIRONMENT": "cluster",
        "MELTANO_SYS_DIR_ROOT": str(system_dir(tmp_path)),
    }
    refused = meltano(["run", "tap-edges--gamma", "target-postgres"], direct_env)
    assert refused.returncode != 0
    assert "pipeline is already running" in refused.stderr
    for run_id in twice:
        result = deployment.wait({"gamma": run_id})["gamma"]
        assert result["status"] == "ok", result
    records = deployment.meltano_runs("gamma")[-2:]
    assert [s for s, _, _ in records] == ["SUCCESS", "SUCCESS"], records
    (_, _, first_end), (_, second_start, _) = records
    assert second_start >= first_end, records  # never overlapping
    check_tables(deployment, "gamma")
    wait_unclaimed(deployment)


def test_workspaces_spread_over_workers_and_a_dead_worker_is_survived(
    deployment: Deployment, tmp_path: Path
) -> None:
    """One deployment for the three parts: starting one costs a minute of CPU."""
    first_round(deployment)
    killed_round(deployment, tmp_path)
    never_overlapping(deployment, tmp_path)
