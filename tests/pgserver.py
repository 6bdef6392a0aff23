"""A throwaway PostgreSQL server on 127.0.0.1 for the end-to-end tests.

Installs PostgreSQL with apt-get where its binaries are missing (CI starts on a fresh
machine), then runs ``initdb`` and ``pg_ctl`` in a temporary directory, as the ``postgres``
user when the tests run as root. Nothing here skips: a server that cannot be had fails the
tests that need it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import tempfile
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterator

APT_TIMEOUT = 900
USER = "postgres"


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


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and psql, newest version first."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    found = str(candidates[0]) if candidates else on_path
    return Path(found).resolve().parent if found else None


def install_postgres() -> Path:
    """Find the PostgreSQL binaries, installing Debian's postgresql package if needed."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        done = subprocess.run(
            [*sudo, *command],
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            check=False,
            env=env,
        )
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
    bindir = find_bindir()
    assert bindir is not None, "apt-get installed postgresql but initdb is nowhere to be found"
    return bindir


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_server_user(command: list[str]) -> list[str]:
    """Run as ``postgres`` when root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else command


@dataclasses.dataclass(frozen=True)
class _Cluster:
    bindir: Path
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *args: str) -> None:
        done = subprocess.run(
            as_server_user([str(self.bindir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"


def _make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tap-edges-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, USER, USER)
    return root


def running_server() -> Iterator[PostgresServer]:
    """Install (if needed), initialise and start a server; stop and delete it afterwards."""
    cluster = _Cluster(install_postgres(), _make_root())
    port = free_port()
    try:
        cluster.run("initdb", "-D", str(cluster.data), "-U", USER, "--auth=trust", "-E", "UTF8")
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {cluster.root} -c fsync=off"
        log = str(cluster.root / "server.log")
        cluster.run("pg_ctl", "-D", str(cluster.data), "-o", options, "-l", log, "-w", "start")
        try:
            yield PostgresServer(bindir=cluster.bindir, port=port)
        finally:
            cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)
