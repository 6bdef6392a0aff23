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

import pytest
from conftest import pytest_collection_modifyitems

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


class Item:
    """What the ordering hook reads of a test: its name and its marks."""

    def __init__(self, name: str, *marks: pytest.MarkDecorator) -> None:
        self.name = name
        self.marks = {mark.mark.name: mark.mark for mark in marks}

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self.marks.get(name)


def test_the_longest_tests_start_first_and_short_ones_fill_the_second_places(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = [
        *(Item(f"short{i}") for i in range(5)),
        Item("slow", pytest.mark.slow),
        Item("slow-60", pytest.mark.slow(seconds=60)),
        Item("e2e", pytest.mark.e2e),
        Item("e2e-180", pytest.mark.e2e(seconds=180)),
        *(Item(f"grouped{i}", pytest.mark.xdist_group("g")) for i in range(2)),
    ]
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    pytest_collection_modifyitems(t.cast("list[pytest.Item]", items))
    assert [item.name for item in items] == [
        "grouped0",
        "grouped1",  # the group: one worker's first place
        "e2e-180",
        "e2e",  # the other two workers' first places
        "short0",
        "short1",
        "short2",  # each worker's second place
        "slow-60",
        "slow",
        "short3",
        "short4",
    ]
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT")  # one process: the longest first, that is all
    pytest_collection_modifyitems(t.cast("list[pytest.Item]", items))
    assert [item.name for item in items][:4] == ["e2e-180", "e2e", "slow-60", "slow"]
