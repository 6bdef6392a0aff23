"""A throwaway PostgreSQL server on 127.0.0.1 for the end-to-end tests.

The server itself (installing PostgreSQL where it is missing, ``initdb``, ``pg_ctl``, a folder
the ``postgres`` user reaches when the tests run as root) is the product's
(orchestrate/edges_orchestrate/localpg.py, which ./scripts/orchestrate uses too); this adds
what the tests ask it. Nothing here skips: a server that cannot be had fails the tests that
need it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import typing as t

from edges_orchestrate.localpg import USER, Cluster, free_port, install_postgres, temporary_root

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and how to ask it things."""

    bindir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = USER

    def psql(self, database: str, sql: str) -> str:
        """Run one SQL command with psql and return its unaligned output."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def create_database(self, name: str) -> None:
        """Create an empty database."""
        self.psql("postgres", f'CREATE DATABASE "{name}"')

    def rows(self, database: str, schema: str, table: str) -> list[dict[str, t.Any]]:
        """Every row of a table, as JSON objects."""
        sql = f'SELECT coalesce(json_agg(t), \'[]\') FROM "{schema}"."{table}" t'  # noqa: S608
        rows: list[dict[str, t.Any]] = json.loads(self.psql(database, sql))
        return rows

    def tables(self, database: str, schema: str) -> list[str]:
        """Names of the tables in a schema."""
        sql = (
            "SELECT table_name FROM information_schema.tables "  # noqa: S608 - test's own names
            f"WHERE table_schema = '{schema}' ORDER BY 1"
        )
        return self.psql(database, sql).split()


def running_server() -> Iterator[PostgresServer]:
    """Install (if needed), initialise and start a server; stop and delete it afterwards.

    Its folder is a new temporary one that the server user can reach (under its home when
    the temporary folder is one only root can enter).
    """
    cluster = Cluster(install_postgres(), temporary_root())
    port = free_port()
    try:
        cluster.init()
        cluster.start(port, "fsync=off")
        try:
            yield PostgresServer(bindir=cluster.bindir, port=port)
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)
