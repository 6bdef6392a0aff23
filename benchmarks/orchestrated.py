"""Figure 8 of bench.py: many workspaces through the Dagster code location at once.

N sandbox workspaces, each its own world with P post partitions (post_commenters only), run by
``python -m edges_orchestrate.run --no-dbt`` (job ``all_workspaces``, multiprocess executor,
Meltano's state in PostgreSQL, loads into PostgreSQL): once all together, then each of the
first few alone on fresh worlds and state. The figure is the wall time of all together divided
by the slowest alone (goal <= 1.5: the workspaces wait on Edges, not on each other), with the
peak RSS of the process tree per workspace and of its largest process, and the CPU time of
all together divided by the cores (when it nears the wall time, the cores are the limit).

Needs ``scripts/setup-orchestrate`` (run here) and PostgreSQL (started here as the tests do).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "orchestrate")]

from pgserver import PostgresServer, running_server  # noqa: E402

from edges_orchestrate.workspaces import Workspace, meltano_file  # noqa: E402

if t.TYPE_CHECKING:
    from collections.abc import Iterator

PYTHON = ROOT / ".venv-orchestrate" / "bin" / "python"
PLUGIN_KINDS = ("extractors", "loaders", "utilities")
IDENTITY = "11111111-1111-4111-8111-111111111111"


def bench_workspaces(count: int, urls: list[str]) -> list[Workspace]:
    """``count`` sandbox workspaces with the same posts (each its own world)."""
    return [
        Workspace(
            name=f"bench{i}",
            api_key_env="EDGES_BENCH_API_KEY",
            identity_ids=(IDENTITY,),
            post_urls=tuple(urls),
            runs_requests_per_minute=100_000,
            sandbox=True,
        )
        for i in range(count)
    ]


def make_project(folder: Path, workspaces: list[Workspace]) -> Path:
    """A copy of the repo's Meltano project whose workspaces are these; the repo's plugins."""
    (folder / "orchestrate").mkdir(parents=True)
    shutil.copy(ROOT / "meltano.yml", folder / "meltano.yml")
    (folder / "orchestrate" / "meltano-workspaces.yml").write_text(
        meltano_file(workspaces), encoding="utf-8"
    )
    entries = [
        {
            "name": w.name,
            "api_key_env": w.api_key_env,
            "identity_ids": list(w.identity_ids),
            "post_urls": list(w.post_urls),
            "runs_requests_per_minute": w.runs_requests_per_minute,
            "sandbox": True,
        }
        for w in workspaces
    ]
    path = folder / "workspaces.yml"
    path.write_text(yaml.safe_dump({"workspaces": entries}), encoding="utf-8")
    system = folder / ".meltano"
    system.mkdir()
    for kind in PLUGIN_KINDS:
        (system / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    return path


def _rss_mb(process: psutil.Process) -> float:
    try:
        return float(process.memory_info().rss) / 2**20
    except psutil.Error:  # gone meanwhile
        return 0.0


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return list(process.children(recursive=True))
    except psutil.Error:
        return []


SYNC_PARTS = (  # a sync's processes, told apart by their command line (first match)
    ("pipes", "edges_orchestrate.meltano_pipes"),
    ("discovery", "--discover"),
    ("tap", "bin/tap-edges "),
    ("target", "bin/target-postgres"),
    ("meltano", "bin/meltano "),
)


def _part(process: psutil.Process) -> str:
    """Which part of a sync a process is (``other`` when none)."""
    try:
        cmdline = " ".join(process.cmdline())
    except psutil.Error:
        return "other"
    return next((part for part, marker in SYNC_PARTS if marker in cmdline), "other")


def _is_sync(process: psutil.Process) -> bool:
    """Whether the process is a workspace sync's Pipes process."""
    try:
        return "edges_orchestrate.meltano_pipes" in process.cmdline()
    except psutil.Error:
        return False


class TreeMemory:
    """Polls a process and its descendants: peak RSS of the sum and of any one, and CPU time.

    The CPU time is each process's last reading, summed: ``wait4`` of the root misses the
    processes nobody waits for (Dagster's step workers, forked from a forkserver), and a
    process shorter than a poll (0.2 s) is missed here.
    """

    def __init__(self, pid: int) -> None:
        """Start polling ``pid``'s tree."""
        self.peak_total_mb = 0.0
        self.peak_one_mb = 0.0
        self.peak_sync_mb = 0.0
        self._cpu: dict[tuple[int, float], float] = {}
        self._sync_cpu: dict[tuple[int, float], float] = {}
        self._parts: dict[tuple[int, float], str] = {}
        self._root = psutil.Process(pid)
        self._done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def cpu_s(self) -> float:
        """CPU time (user and system) of every process seen in the tree."""
        return sum(self._cpu.values())

    @property
    def sync_cpu_s(self) -> float:
        """CPU time of the workspace syncs alone.

        Each sync's Pipes process (meltano_pipes.py) and everything under it (Meltano, the tap,
        the target), without Dagster's run and steps.
        """
        return sum(self._sync_cpu.values())

    def sync_cpu_by_part(self) -> dict[str, float]:
        """The syncs' CPU time by part (Pipes, Meltano, discovery, tap, target)."""
        parts: dict[str, float] = {}
        for process, seconds in self._sync_cpu.items():
            part = self._parts.get(process, "other")
            parts[part] = parts.get(part, 0.0) + seconds
        return parts

    def _run(self) -> None:
        while not self._done.is_set():
            tree = [self._root, *_children(self._root)]
            sizes = [_rss_mb(p) for p in tree]
            self.peak_total_mb = max(self.peak_total_mb, sum(sizes))
            self.peak_one_mb = max(self.peak_one_mb, *sizes)
            for process in tree:
                self._read_cpu(process, self._cpu)
            for sync in [p for p in tree if _is_sync(p)]:
                members = [sync, *_children(sync)]
                self.peak_sync_mb = max(self.peak_sync_mb, sum(_rss_mb(p) for p in members))
                for process in members:
                    self._read_cpu(process, self._sync_cpu)
                    with contextlib.suppress(psutil.Error):
                        self._parts.setdefault((process.pid, process.create_time()), _part(process))
            time.sleep(0.2)

    @staticmethod
    def _read_cpu(process: psutil.Process, into: dict[tuple[int, float], float]) -> None:
        try:
            times = process.cpu_times()
            into[process.pid, process.create_time()] = times.user + times.system
        except psutil.Error:  # gone meanwhile: its last reading stands
            return

    def stop(self) -> None:
        """Stop polling."""
        self._done.set()
        self.thread.join()


def run_orchestrator(env: dict[str, str], *args: str) -> tuple[float, float, TreeMemory]:
    """One ``edges_orchestrate.run``: its wall time, CPU time and memory; it must succeed.

    The CPU time is the whole tree's, user and system (TreeMemory): the run, Dagster's step
    workers, Meltano, the taps and targets.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(PYTHON), "-m", "edges_orchestrate.run", "--no-dbt", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        memory = TreeMemory(process.pid)
        process.wait()
        wall = time.perf_counter() - started
        memory.stop()
        if process.returncode != 0:
            log.seek(0)
            sys.stderr.write(log.read().decode("utf-8", "replace")[-6000:])
            msg = f"edges_orchestrate.run {' '.join(args)} exited {process.returncode}"
            raise RuntimeError(msg)
    return wall, memory.cpu_s, memory


def cluster_env(
    folder: Path, server: PostgresServer, tag: str, workspaces: list[Workspace], run_seconds: float
) -> dict[str, str]:
    """Environment of one measurement: its own system database, warehouse, worlds, instance."""
    for database in (f"meltano_{tag}", f"warehouse_{tag}"):
        server.create_database(database)
    home = folder / f"dagster-{tag}"
    home.mkdir()
    shutil.copy(ROOT / "orchestrate" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TAP_EDGES")},
        "DAGSTER_HOME": str(home),
        "EDGES_WORKSPACES": str(folder / "workspaces.yml"),
        "EDGES_MELTANO_PROJECT": str(folder),
        "EDGES_MAX_CONCURRENT": str(len(workspaces)),
        "EDGES_BENCH_API_KEY": "edges-sandbox-key",
        "MELTANO_PROJECT_ROOT": str(folder),
        "MELTANO_SYS_DIR_ROOT": str(folder / ".meltano"),
        "MELTANO_DATABASE_URI": (
            f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/meltano_{tag}"
        ),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TARGET_POSTGRES_HOST": server.host,
        "TARGET_POSTGRES_PORT": str(server.port),
        "TARGET_POSTGRES_USER": server.user,
        "TARGET_POSTGRES_PASSWORD": "unused",
        "TARGET_POSTGRES_DATABASE": f"warehouse_{tag}",
    }
    for workspace in workspaces:
        prefix = workspace.env_prefix
        env[f"{prefix}SANDBOX_PATH"] = str(folder / f"{tag}-{workspace.name}.json")
        env[f"{prefix}SANDBOX_RUN_SECONDS"] = str(int(run_seconds))
        env[f"{prefix}POLL_INTERVAL_SECONDS"] = "1"
        env[f"{prefix}_SELECT"] = '["post_commenters.*"]'
    return env


def setup() -> None:
    """The code location's venv, Meltano and its plugins (idempotent)."""
    subprocess.run([str(ROOT / "scripts" / "setup-orchestrate")], check=True, capture_output=True)


def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server."""
    yield from running_server()


def orchestrated(count: int, urls: list[str], run_seconds: float, alone: int) -> dict[str, float]:
    """Figure 8: all ``count`` workspaces together, then the first ``alone`` each by itself."""
    setup()
    cores = len(os.sched_getaffinity(0))
    workspaces = bench_workspaces(count, urls)
    servers = postgres()
    server = next(servers)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            make_project(folder, workspaces)
            env = cluster_env(folder, server, "together", workspaces, run_seconds)
            together, cpu, memory = run_orchestrator(env)
            walls = []
            for index, workspace in enumerate(workspaces[:alone]):
                env = cluster_env(folder, server, f"alone{index}", workspaces, run_seconds)
                wall, _, _ = run_orchestrator(env, "--only", workspace.name)
                walls.append(wall)
    finally:
        servers.close()
    return {
        "workspaces": count,
        "partitions_each": len(urls),
        "run_seconds": run_seconds,
        "wall_together_s": together,
        "slowest_alone_s": max(walls),
        "together/slowest_alone": together / max(walls),
        # When the machine's cores, not the orchestrator, bound the wall time: the CPU time of
        # every process of the run divided by the cores is close to wall_together_s.
        "cpu_s_together": cpu,
        "cores": cores,
        "cpu_s_together/cores": cpu / cores,
        "peak_rss_mb_per_workspace": memory.peak_total_mb / count,
        "peak_rss_mb_largest_process": memory.peak_one_mb,
        # One workspace sync (goal: CPU <= 3 s): its Pipes process, Meltano, the tap and the
        # target, without Dagster's run and step processes.
        "cpu_s_per_workspace_sync": memory.sync_cpu_s / count,
        "peak_rss_mb_per_workspace_sync": memory.peak_sync_mb,
        # Where a sync's CPU goes (the tap's includes the sandbox it serves itself from).
        **{
            f"cpu_s_per_workspace_sync_{part}": seconds / count
            for part, seconds in sorted(memory.sync_cpu_by_part().items())
        },
    }
