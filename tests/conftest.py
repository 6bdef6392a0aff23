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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests first (stable otherwise): the longest start before the short ones.

    ``--dist loadgroup`` hands tests to the workers in this order, so the few minutes-long
    pipelines (Meltano, the Dagster code location) run beside the many short tests instead of
    after them, at the end of the session.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


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
