"""Real Meltano pipelines from meltano.yml: tap-edges into DuckDB and into PostgreSQL.

Each test runs ``meltano run tap-edges <loader>`` twice against its own sandbox world and
Meltano system database (so its own state), growing the world in between, and compares what
landed with the sandbox's ground truth: the same primary keys, no duplicates, state holding
the Edges run uids, and a second run that loads exactly the new items. Into PostgreSQL, each
run also builds the dbt models (``dbt-postgres:build``), whose every test must pass.
"""

from __future__ import annotations

import json
import subprocess
import typing as t

import pytest
from dbtkit import check_build, dbt_env, engagement_ids
from meltanokit import (
    STREAMS,
    Key,
    cli_singer_state,
    expected_keys,
    grow_world,
    install_plugins,
    iteration_indexes,
    keys_by_stream,
    listing_fed,
    meltano_run,
    partition_contexts,
    plugin_python,
    project_env,
    run_uids,
    singer_state,
)
from pgserver import PostgresServer, running_server

from tap_edges.actions import ACTIONS_BY_STREAM

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

SCHEMA = "tap_edges"
# 2 sandbox identities x (connections, viewers, 1 page; the conversations listing and the 6
# threads of 8 active within 30 days; the listing of the identity's own posts and the 3 of 6
# within 30 days x 3 post streams): the demo names no thread, post or profile
RUNS = 2 * (3 + 1 + 6 + 1 + 3 * 3)
GROWTH = 3
DUMP_DUCKDB = """
import json, sys, duckdb
with duckdb.connect(sys.argv[1], read_only=True) as db:
    names = [r[0] for r in db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [sys.argv[2]]
    ).fetchall()]
    out = {}
    for name in names:
        cursor = db.execute(f'SELECT * FROM {sys.argv[2]}."{name}"')
        columns = [d[0] for d in cursor.description]
        out[name] = [dict(zip(columns, row)) for row in cursor.fetchall()]
print(json.dumps(out, default=str))
"""

Tables = dict[str, list[dict[str, t.Any]]]


@pytest.fixture(scope="session")
def meltano_plugins(session_dir: Path) -> None:
    """Meltano and the plugins, installed once per session (reused from .meltano/)."""
    install_plugins(session_dir, "tap-edges", "target-duckdb", "target-postgres", "dbt-postgres")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    yield from running_server()


def duckdb_tables(database: Path) -> Tables:
    done = subprocess.run(
        [str(plugin_python("loaders", "target-duckdb")), "-c", DUMP_DUCKDB, str(database), SCHEMA],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    tables: Tables = json.loads(done.stdout)
    return tables


def check_load(tables: Tables, expected: dict[str, set[Key]]) -> dict[str, list[Key]]:
    """Every stream's table holds exactly the expected keys, each once."""
    assert sorted(tables) == sorted(STREAMS)
    loaded = keys_by_stream(tables)
    for stream in STREAMS:
        keys = loaded[stream]
        assert len(keys) == len(set(keys)), f"{stream}: duplicate primary keys"
        assert set(keys) == expected[stream], stream
        assert keys, f"{stream}: nothing loaded"
    return loaded


def batched_after(tables: Tables, mark: str) -> dict[str, set[Key]]:
    """Keys of the rows the target wrote (inserted or updated) after a load time."""
    late = {
        stream: [row for row in rows if str(row["_sdc_batched_at"]) > mark]
        for stream, rows in tables.items()
    }
    return {stream: set(keys) for stream, keys in keys_by_stream(late).items()}


def last_batch(tables: Tables) -> str:
    return max(str(row["_sdc_batched_at"]) for rows in tables.values() for row in rows)


def two_runs(
    loader: str,
    env: dict[str, str],
    workdir: Path,
    read: Callable[[], Tables],
    then: tuple[str, Callable[[], None]] | None = None,
) -> None:
    """Run the pipeline twice, growing the world in between, and check both loads.

    ``then``: a task run after the loader in the same ``meltano run`` (``dbt-postgres:build``)
    and the check of its outcome, made after each run.
    """
    state_id = f"demo:tap-edges-to-{loader}"
    after = (then[0],) if then else ()
    meltano_run(loader, env, *after)
    if then:
        then[1]()
    state = singer_state(state_id, env)
    assert len(partition_contexts(state)) == RUNS
    first = read()
    check_load(first, expected_keys(workdir, state))
    (start,) = iteration_indexes(workdir)
    mark = last_batch(first)

    # Every feed gains items, every thread of the inbox among them: the idle ones become
    # active, and discovery launches them.
    assert grow_world(workdir, GROWTH) > 0
    before = run_uids(workdir)
    meltano_run(loader, env, *after)
    if then:
        then[1]()
    second_state = singer_state(state_id, env)
    # The same Edges runs were continued, not new ones launched (a listing lists anew, and a
    # thread active for the first time gets its first run).
    old, now = partition_contexts(state), partition_contexts(second_state)
    kept = {uid for uid, (stream, _) in old.items() if not ACTIONS_BY_STREAM[stream].lists}
    assert kept <= now.keys()
    assert all(listing_fed(now[uid][0]) for uid in now.keys() - old.keys() - listings(now))
    assert iteration_indexes(workdir) == [start, start + 1]
    second = read()
    new = expected_keys(workdir, second_state, iteration=start + 1, since=before)
    assert all(new[s] for s in STREAMS if not ACTIONS_BY_STREAM[s].lists), new
    check_load(second, expected_keys(workdir, second_state))
    # The second run wrote exactly the new items: nothing old was loaded again (the parents
    # emit what moved and every listed post: their rows are checked whole above).
    written = batched_after(second, mark)
    for stream in STREAMS:
        if not ACTIONS_BY_STREAM[stream].lists:
            assert written[stream] == new[stream], stream
            assert len(second[stream]) == len(first[stream]) + len(new[stream]), stream


def listings(contexts: dict[str, tuple[str, dict[str, t.Any]]]) -> set[str]:
    """The runs of listing partitions among these."""
    return {uid for uid, (stream, _) in contexts.items() if ACTIONS_BY_STREAM[stream].lists}


def test_meltano_into_duckdb(meltano_plugins: None, tmp_path: Path) -> None:
    database = tmp_path / "edges.duckdb"
    env = project_env(
        tmp_path,
        TARGET_DUCKDB_FILEPATH=str(database),
        TARGET_DUCKDB_ADD_METADATA_COLUMNS="true",
    )
    two_runs("target-duckdb", env, tmp_path, lambda: duckdb_tables(database))


def model_counts(postgres: PostgresServer, database: str) -> str:
    """Per stream: rows, rows with an extracted_at and its range, in staging and engagements."""
    stats = "count(*), count(extracted_at), min(extracted_at), max(extracted_at)"
    lines = []
    for stream in STREAMS:
        sql = f"SELECT {stats} FROM analytics.stg_{stream}"  # noqa: S608 - the test's own names
        lines.append(f"stg_{stream}: {postgres.psql(database, sql).strip()}")
    sql = f"SELECT source_stream, {stats} FROM analytics.engagements GROUP BY 1 ORDER BY 1"  # noqa: S608
    lines.append(f"engagements:\n{postgres.psql(database, sql).strip()}")
    return "\n".join(lines)


def postgres_env(
    postgres: PostgresServer, tmp_path: Path, **settings: str
) -> tuple[str, dict[str, str]]:
    """A database of the test's own, and the Meltano environment that loads into it."""
    database = f"edges_{tmp_path.name.lower().replace('-', '_')}"
    postgres.create_database(database)
    env = project_env(
        tmp_path,
        TARGET_POSTGRES_HOST=postgres.host,
        TARGET_POSTGRES_PORT=str(postgres.port),
        TARGET_POSTGRES_USER=postgres.user,
        TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",  # noqa: S106
        TARGET_POSTGRES_DATABASE=database,
        **settings,
    )
    return database, env


def test_meltano_into_postgres(
    meltano_plugins: None, postgres: PostgresServer, tmp_path: Path
) -> None:
    database, env = postgres_env(
        postgres,
        tmp_path,
        TARGET_POSTGRES_ADD_RECORD_METADATA="true",
        **dbt_env(tmp_path, "dbt-postgres"),
    )

    def read() -> Tables:
        names = postgres.tables(database, SCHEMA)
        return {name: postgres.rows(database, SCHEMA, name) for name in names}

    built: set[str] = set()

    def check_models() -> None:
        """Every dbt test passed; engagements holds every item, written once, incrementally."""
        invocation = check_build(tmp_path)
        engagements = postgres.rows(database, "analytics", "engagements")
        expected = engagement_ids(read())
        assert sorted(e["engagement_id"] for e in engagements) == sorted(expected)
        written = {e["engagement_id"] for e in engagements if e["dbt_invocation_id"] == invocation}
        assert written == expected - built
        built.update(written)
        assert postgres.rows(database, "analytics", "warm_leads")

    try:
        two_runs("target-postgres", env, tmp_path, read, ("dbt-postgres:build", check_models))
    except AssertionError as failed:
        # What each staging model and engagements held, to tell which rows and why (how an
        # empty staging view over a loaded table was found: test_dbt.py, relation cache).
        pytest.fail(f"{failed}\n{model_counts(postgres, database)}")
    constraint_sql = (
        "SELECT count(*) FROM information_schema.table_constraints "  # noqa: S608
        f"WHERE table_schema = '{SCHEMA}' AND constraint_type = 'PRIMARY KEY'"
    )
    assert postgres.psql(database, constraint_sql).strip() == str(len(STREAMS))


def test_meltano_into_postgres_while_edges_types_drift(
    meltano_plugins: None, postgres: PostgresServer, tmp_path: Path
) -> None:
    """A validating target (target-postgres validates every record) loads a drifting world.

    Edges' value types drift (the sandbox's ``type_drift``): every item still lands under its
    key as the types the schema declares give it, undeclared fields in ``edges_extra`` and
    values that could not take their type in ``edges_unreconciled``.
    """
    database, env = postgres_env(postgres, tmp_path, TAP_EDGES_SANDBOX_VARIANTS='["type_drift"]')
    meltano_run("target-postgres", env)
    state = singer_state("demo:tap-edges-to-target-postgres", env)
    # The state as the tests read it is what Meltano itself says (SQLite system database).
    assert state == cli_singer_state("demo:tap-edges-to-target-postgres", env)
    tables = {name: postgres.rows(database, SCHEMA, name) for name in STREAMS}
    check_load(tables, expected_keys(tmp_path, state))  # the ground truth served without drift
    for stream, rows in tables.items():
        assert any(row["edges_extra"] for row in rows), stream
        assert any(row["edges_unreconciled"] for row in rows), stream
