"""Helpers for the Meltano end-to-end tests: install, run, read state and the ground truth."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import typing as t
import urllib.parse
from pathlib import Path

from filelock import FileLock

from edges_orchestrate.environment import linked_system_dir
from edges_orchestrate.localpg import install_postgres
from edges_sandbox import Sandbox
from tap_edges.actions import ACTIONS_BY_STREAM
from tap_edges.streams import derive_key

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
SETUP = ROOT / "scripts" / "setup-meltano"
STREAMS = tuple(ACTIONS_BY_STREAM)
# The listing actions (discovery), each to its stream: a new run every sync.
LISTINGS = {spec.action: spec.stream for spec in ACTIONS_BY_STREAM.values() if spec.lists}
INSTALL_TIMEOUT = 1200
RUN_TIMEOUT = 300

Key = tuple[str, ...]


def install_plugins(session_dir: Path, *plugins: str) -> None:
    """Install Meltano (own venv) and these plugins with the project's own setup script.

    Each plugin once per test session, whichever xdist worker asks first (``session_dir`` is
    shared by all of them): ``meltano install`` reinstalls the editable tap-edges in place, which
    would pull it from under a pipeline that another test is running.
    """
    with FileLock(session_dir / "meltano-install.lock"):
        missing = [p for p in plugins if not (session_dir / f"meltano-installed-{p}").exists()]
        if not missing:
            return
        done = subprocess.run(
            [str(SETUP), *missing],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
            cwd=ROOT,
        )
        assert done.returncode == 0, f"{SETUP} failed:\n{done.stdout}\n{done.stderr}"
        for plugin in missing:
            (session_dir / f"meltano-installed-{plugin}").touch()


def plugin_python(kind: str, name: str) -> Path:
    """The Python of a plugin's venv under .meltano/."""
    return ROOT / ".meltano" / kind / name / "venv" / "bin" / "python"


def system_dir(workdir: Path) -> Path:
    """A Meltano system folder (``.meltano``) of the test's own, holding the repo's plugins.

    Meltano keeps a run's files in ``.meltano/run/<plugin>/`` (discovery rewrites tap-edges'
    ``tap.properties.json`` there in place), so tests running at once must not share it; the
    plugins' venvs, which they may share, are the repo's (installed once per session), linked in
    as the orchestrator links them into each workspace's folder.
    """
    return linked_system_dir(workdir / ".meltano", ROOT / ".meltano")


def project_env(workdir: Path, **settings: str) -> dict[str, str]:
    """Environment for Meltano in the repo's project, with state and sandbox in ``workdir``.

    Plugin venvs are the repo's (installed once per session); the system folder (run files,
    logs), the system database (Meltano's state) and the sandbox world are the test's own. The
    tap's other settings are the `demo` environment's.
    """
    env = {
        **os.environ,
        "MELTANO_SYS_DIR_ROOT": str(system_dir(workdir)),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_ENVIRONMENT": "demo",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_EDGES_SANDBOX_PATH": str(sandbox_path(workdir)),
    }
    env.update(settings)
    return env


def sandbox_path(workdir: Path) -> Path:
    """Where the test's sandbox world lives."""
    return workdir / "edges-sandbox.json"


def meltano(args: t.Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a Meltano command in the repo's project."""
    return subprocess.run(
        [str(MELTANO), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        cwd=ROOT,
        env=env,
    )


def meltano_run(loader: str, env: dict[str, str], *after: str) -> None:
    """``meltano run tap-edges <loader> [<after>...]``, which must succeed."""
    done = meltano(["run", "tap-edges", loader, *after], env)
    assert done.returncode == 0, done.stderr[-6000:]


def singer_state(state_id: str, env: dict[str, str]) -> dict[str, t.Any]:
    """The Singer state Meltano keeps for a state id, read from its system database.

    What ``meltano state get`` prints (``cli_singer_state`` is that, and the e2e tests check
    once per kind of system database that the two agree), without its 2-4 s of CPU: Meltano's
    ``state`` table holds a completed and a partial state, JSON text, and ``state get`` merges
    the partial one over the completed one, key by key at every depth.
    """
    partial, completed = stored_states(state_id, env["MELTANO_DATABASE_URI"])
    state: dict[str, t.Any] = merged(partial, completed).get("singer_state", {})
    return state


def cli_singer_state(state_id: str, env: dict[str, str]) -> dict[str, t.Any]:
    """The Singer state ``meltano state get`` prints for a state id."""
    done = meltano(["state", "get", state_id], env)
    assert done.returncode == 0, done.stderr[-3000:]
    state: dict[str, t.Any] = json.loads(done.stdout)["singer_state"]
    return state


def stored_states(state_id: str, uri: str) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """The partial and the completed state of a state id (empty where none) in Meltano's
    system database: SQLite, or PostgreSQL (read with psql, as the tests' server is)."""
    if uri.startswith("sqlite:///"):
        sql = "SELECT partial_state, completed_state FROM state WHERE state_id = ?"
        with contextlib.closing(sqlite3.connect(uri.removeprefix("sqlite:///"))) as database:
            rows = database.execute(sql, (state_id,)).fetchall()
    else:
        where = urllib.parse.urlsplit(uri)
        assert where.scheme.startswith("postgresql"), uri
        assert where.hostname, uri
        assert where.port, uri
        literal = "'" + state_id.replace("'", "''") + "'"
        sql = (
            "SELECT json_build_array(partial_state, completed_state) FROM state "  # noqa: S608
            f"WHERE state_id = {literal}"
        )
        server = ("-h", where.hostname, "-p", str(where.port), "-U", where.username or "")
        done = subprocess.run(
            [str(install_postgres() / "psql"), "-X", "-At", *server, "-d", where.path[1:]],
            input=sql,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines() if line]
    assert len(rows) <= 1, rows
    partial, completed = rows[0] if rows else (None, None)
    return json.loads(partial or "{}"), json.loads(completed or "{}")


def merged(over: dict[str, t.Any], under: dict[str, t.Any]) -> dict[str, t.Any]:
    """``over``'s keys over ``under``'s, at every depth where both hold an object."""
    out = dict(under)
    for key, value in over.items():
        below = out.get(key)
        both = isinstance(value, dict) and isinstance(below, dict)
        out[key] = merged(value, t.cast("dict[str, t.Any]", below)) if both else value
    return out


def partition_contexts(state: dict[str, t.Any]) -> dict[str, tuple[str, dict[str, t.Any]]]:
    """Run uid → (stream, partition context), from the partitions of a Singer state."""
    return {
        partition["edges_run_uid"]: (stream, partition["context"])
        for stream, bookmark in state.get("bookmarks", {}).items()
        for partition in bookmark.get("partitions", [])
    }


def record_key(stream: str, record: dict[str, t.Any]) -> Key:
    """A row's primary key, as strings (so DuckDB, Postgres and JSON values compare)."""
    return tuple(str(record[name]) for name in ACTIONS_BY_STREAM[stream].primary_keys)


def expected_keys(
    workdir: Path,
    state: dict[str, t.Any],
    iteration: int | None = None,
    world: Path | None = None,
    since: set[str] | None = None,
) -> dict[str, set[Key]]:
    """Primary keys of the items the sandbox delivered, per stream (one iteration, or all).

    Reads the sandbox world the tap left behind (a second ``Sandbox`` on the same file) and
    turns each delivered item into the record the tap makes of it: the item plus its
    partition's context, with the derived key where the stream has one. ``world``: the sandbox
    world file, when not the test's one.

    The runs are those the state names, and the listings' earlier runs (discovery lists anew
    every sync): a listing stream's rows are every item any of its runs listed. ``since``: the
    runs that existed before a sync, to get only what that sync brought: ``iteration`` of the
    runs it continued and every iteration of the runs it launched; listings are then left out
    (a parent emits what moved, or every listed post, each sync).
    """
    truth = Sandbox(state_file=world or sandbox_path(workdir))
    expected: dict[str, set[Key]] = {stream: set() for stream in STREAMS}
    contexts = partition_contexts(state)
    runs = {run["uid"]: run["action_name"] for run in truth.backstage.runs()}
    assert set(contexts) <= set(runs)
    earlier = {uid: runs[uid] for uid in set(runs) - set(contexts)}
    assert set(earlier.values()) <= set(LISTINGS), earlier  # only listings leave runs behind
    for uid in earlier:
        engine_run = truth.engine.runs[uid]
        stream = LISTINGS[engine_run.action_name]
        contexts[uid] = (stream, {"identity_id": engine_run.identity_id, **engine_run.input})
    for uid, (stream, context) in contexts.items():
        listing = ACTIONS_BY_STREAM[stream].lists is not None
        if since is not None and listing:
            continue
        derived = ACTIONS_BY_STREAM[stream].derived_key
        for it in truth.backstage.ground_truth(uid):
            launched_since = since is not None and uid not in since
            if iteration is not None and it["index"] != iteration and not launched_since:
                continue
            for item in it["delivered"]:
                record = {**item, **context}
                if derived is not None:
                    record[derived.name] = derive_key(record, derived.parts)
                expected[stream].add(record_key(stream, record))
    return expected


def listing_fed(stream: str) -> bool:
    """Whether a listing (discovery) finds the stream's partitions."""
    fed = {spec.lists for spec in ACTIONS_BY_STREAM.values() if spec.lists}
    return ACTIONS_BY_STREAM[stream].input_setting in fed


def run_uids(workdir: Path, world: Path | None = None) -> set[str]:
    """Every run the sandbox holds now."""
    truth = Sandbox(state_file=world or sandbox_path(workdir))
    return {run["uid"] for run in truth.backstage.runs()}


def iteration_indexes(workdir: Path, world: Path | None = None) -> list[int]:
    """The iteration indexes the sandbox's runs went through, in order."""
    truth = Sandbox(state_file=world or sandbox_path(workdir))
    return sorted(
        {
            int(it["index"])
            for run in truth.backstage.runs()
            for it in truth.backstage.ground_truth(run["uid"])
        }
    )


def grow_world(workdir: Path, n: int, world: Path | None = None) -> int:
    """Give every feed of the test's sandbox world ``n`` new items; return how many in all."""
    return Sandbox(state_file=world or sandbox_path(workdir)).backstage.grow(n=n)


def keys_by_stream(tables: dict[str, list[dict[str, t.Any]]]) -> dict[str, list[Key]]:
    """Primary keys of the loaded rows, per stream (a list, so duplicates show)."""
    return {stream: [record_key(stream, row) for row in tables[stream]] for stream in STREAMS}


def install_orchestrator(session_dir: Path) -> None:
    """Meltano's plugins (shared with the Meltano tests), then .venv-orchestrate, once a session."""
    install_plugins(session_dir, "tap-edges", "target-postgres", "dbt-postgres")
    with FileLock(session_dir / "orchestrate-install.lock"):
        marker = session_dir / "orchestrate-installed"
        if marker.exists():
            return
        setup = ROOT / "scripts" / "setup-orchestrate"
        done = subprocess.run(
            [str(setup), "--no-meltano"],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
            cwd=ROOT,
        )
        assert done.returncode == 0, f"{setup} failed:\n{done.stdout}\n{done.stderr}"
        marker.touch()
