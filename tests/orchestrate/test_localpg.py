"""The local PostgreSQL of ./scripts/orchestrate and of the tests, from any folder, as root or not.

A clone in a folder only root can enter (``mktemp -d``, a home of mode 700) is out of reach of
the ``postgres`` user the server runs as: its files then live in a folder of that user's own.
And the product's scripts import nothing from tests/.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import tempfile
import typing as t
from pathlib import Path

import pytest
from meltanokit import ROOT
from pgserver import PostgresServer, running_server

from edges_orchestrate import localpg

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# Each starts a real server (seconds; apt-get on a fresh machine): on the main Python only.
pytestmark = pytest.mark.slow

TEST_MODULES = {path.stem for path in (ROOT / "tests").glob("*.py")}


def product_sources() -> list[Path]:
    """The Python sources of the product's scripts and of the code location."""
    scripts = [p for p in (ROOT / "scripts").iterdir() if p.is_file()]
    python = [
        p
        for p in scripts
        if p.suffix == ".py" or p.read_text("utf-8").startswith("#!/usr/bin/env python")
    ]
    return sorted(python + list((ROOT / "orchestrate").rglob("*.py")))


def test_product_scripts_import_nothing_from_tests() -> None:
    sources = product_sources()
    assert ROOT / "scripts" / "localpg.py" in sources
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                names = set()
            assert not names & TEST_MODULES, f"{path} imports {names & TEST_MODULES} from tests/"
            if isinstance(node, ast.Constant) and node.value == "tests":
                pytest.fail(f"{path} names the tests folder")


@pytest.fixture
def closed_folder() -> Iterator[Path]:
    """A new folder of mode 700 (as ``mktemp -d`` makes): only its owner enters it."""
    folder = Path(tempfile.mkdtemp(prefix="tap-edges-closed-"))
    assert folder.stat().st_mode & 0o777 == 0o700
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def psql(host: str, port: int, sql: str) -> str:
    done = subprocess.run(
        [
            *(str(localpg.install_postgres() / "psql"), "-X", "-At", "-h", host, "-p", str(port)),
            *("-U", localpg.USER, "-d", "postgres", "-c", sql),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def localpg_script(action: str, folder: Path) -> str:
    """scripts/localpg.py as ./scripts/orchestrate runs it: the system's Python, no venv, no
    tests/ on its path."""
    done = subprocess.run(
        ["python3", str(ROOT / "scripts" / "localpg.py"), action, str(folder)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_orchestrate_server_from_a_folder_only_root_enters(closed_folder: Path) -> None:
    """A clone's output/orchestrate/pg in a mode-700 folder: the server starts, answers, stops
    and starts again on the same port with its data kept; as root, its files are outside the
    closed folder, where the folder asked for says."""
    wanted = closed_folder / "clone" / "output" / "orchestrate" / "pg"
    host, port = localpg_script("start", wanted).split()
    try:
        psql(host, int(port), "CREATE DATABASE kept")
        assert localpg_script("start", wanted).split() == [host, port]  # already running
        localpg_script("stop", wanted)
        assert localpg_script("start", wanted).split() == [host, port]
        assert "kept" in psql(host, int(port), "SELECT datname FROM pg_database").split()
    finally:
        localpg_script("stop", wanted)
        root = localpg.server_root(wanted)
        if root != wanted:
            shutil.rmtree(root, ignore_errors=True)
    if os.geteuid() == 0:
        assert root != wanted
        assert closed_folder not in root.parents
        assert (wanted / localpg.LOCATION_FILE).read_text(encoding="utf-8").strip() == str(root)
        assert not localpg.server_user_reaches(wanted)
    else:
        assert root == wanted


def test_throwaway_server_when_the_temporary_folder_is_closed(
    closed_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests' server with TMPDIR in a folder only root enters (as root: under the server
    user's home instead), removed afterwards."""
    monkeypatch.setattr(tempfile, "tempdir", str(closed_folder))
    servers = running_server()
    server: PostgresServer = next(servers)
    assert server.psql("postgres", "SELECT 41 + 1").strip() == "42"
    roots = [Path(p) for p in server.psql("postgres", "SHOW data_directory").split()]
    with pytest.raises(StopIteration):
        next(servers)
    (data,) = roots
    assert not data.exists()
    if os.geteuid() == 0:
        assert closed_folder not in data.parents


def test_reachability_is_read_as_the_server_user(closed_folder: Path) -> None:
    if os.geteuid() != 0:
        assert localpg.server_user_reaches(closed_folder)
        return
    assert not localpg.server_user_reaches(closed_folder)
    closed_folder.chmod(0o755)
    localpg.own_folder(closed_folder / "open")
    assert localpg.server_user_reaches(closed_folder / "open")
