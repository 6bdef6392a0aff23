"""Fixtures shared by the test files.

The suite runs in parallel (pytest-xdist, see ./scripts/test): every test has its own sandbox
(on a free port), its own files (``tmp_path``) and its own Meltano system folder and database
(tests/meltanokit.py); the Meltano plugins are installed once per session, under a lock in
``session_dir``.
"""

from __future__ import annotations

import os
import signal
import typing as t

import pytest
import requests

from edges_sandbox import DEFAULT_API_KEY

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """An HTTP session that sends the sandbox's default API key."""
    with requests.Session() as session:
        session.headers["X-API-Key"] = DEFAULT_API_KEY
        yield session


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that every xdist worker of this test session shares (for locks and markers).

    A worker's temporary folder is a subfolder of the session's; run without xdist, the
    session's own temporary folder.
    """
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def _first_signal_handlers() -> dict[int, t.Any]:
    """SIGINT's and SIGTERM's handlers before any test ran."""
    return {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}


@pytest.fixture(autouse=True)
def _signal_handlers_restored(_first_signal_handlers: dict[int, t.Any]) -> Iterator[None]:
    """After each test, SIGINT and SIGTERM are handled as before any test ran.

    A tap built in-process (the SDK standard suite, discovery tests) installs its own handlers
    for the whole process, and an xdist worker outlives it: execnet stops a worker still busy
    after the session with a SIGINT, which the tap would take for a sync to stop.
    """
    yield
    for signum, handler in _first_signal_handlers.items():
        if handler is not None:
            signal.signal(signum, handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest tests first: the e2e tests, then the slow ones, then the rest.

    A test that takes much longer than the others of its kind says so (``e2e(seconds=N)``,
    ``slow(seconds=N)``) and starts before them: the session cannot end before it does.

    With ``--dist loadgroup`` the workers take tests in this order, so a 90-second Meltano and
    dbt pipeline starts at once and overlaps the short tests instead of running alone at the
    end of the session. The sort is stable: within each kind, the collection order stays.

    xdist hands each of the N workers a second test at once (the first test of an xdist_group
    counts for its whole group, which comes first). Short tests fill those N places, so no
    long test waits minutes behind another on one worker while the others run short ones.
    """

    def kind(item: pytest.Item) -> tuple[int, float]:
        for rank, name in enumerate(("e2e", "slow")):
            marker = item.get_closest_marker(name)
            if marker:
                return rank, -float(marker.kwargs.get("seconds", 0))
        return 2, 0

    items.sort(key=kind)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if not workers:
        return  # one process
    group = {item: mark.args for item in items if (mark := item.get_closest_marker("xdist_group"))}
    grouped = [item for item in items if item in group]
    alone = [item for item in items if item not in group]
    groups = set(group.values())
    first = max(workers - len(groups), 0)
    short = [item for item in alone[first:] if kind(item)[0] == 2][:workers]
    rest = [item for item in alone[first:] if item not in short]
    items[:] = grouped + alone[:first] + short + rest
