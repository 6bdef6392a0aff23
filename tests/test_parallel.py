"""What the parallel run of the suite (./scripts/test: pytest-xdist, --dist loadgroup) relies on.

The SDK standard suite reads one sync, made once per test class: the class is an
``xdist_group``, which ``--dist loadgroup`` must keep on one worker. Some pytest and pytest-xdist
versions together silently stop doing so (every test still passes, each worker then making its
own sync); this test says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t

if t.TYPE_CHECKING:
    from pathlib import Path

TESTS = """
import os
from pathlib import Path

import pytest


def seen(name: str) -> None:
    (Path(os.environ["WORKERS_SEEN"]) / name).write_text(os.environ["PYTEST_XDIST_WORKER"])


@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("i", range(4))
def test_grouped(i: int) -> None:
    seen(f"grouped-{i}")


@pytest.mark.parametrize("i", range(4))
def test_alone(i: int) -> None:
    seen(f"alone-{i}")
"""
PYTEST = ("-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-q")


def outer_environ() -> dict[str, str]:
    """This environment without what pytest and xdist set for the test running now."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def test_loadgroup_keeps_an_xdist_group_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_groups.py").write_text(TESTS, encoding="utf-8")
    seen = tmp_path / "seen"
    seen.mkdir()
    done = subprocess.run(
        [sys.executable, *PYTEST, "test_groups.py"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**outer_environ(), "WORKERS_SEEN": str(seen)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {path.name: path.read_text(encoding="utf-8") for path in seen.iterdir()}
    assert sorted(set(workers.values())) == ["gw0", "gw1"], workers
    assert len({w for name, w in workers.items() if name.startswith("grouped-")}) == 1, workers
