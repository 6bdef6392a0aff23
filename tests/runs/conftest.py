"""The fixtures every direct test of runs/ shares: one simulated time, and a sandbox on it."""

from __future__ import annotations

import typing as t

import pytest
from runskit import RUN_SECONDS, SharedTime

from edges_sandbox import Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def shared() -> SharedTime:
    """The time the sandbox and the tap share (the tap's sleeps move the sandbox's clock)."""
    return SharedTime()


@pytest.fixture
def sandbox(shared: SharedTime) -> Iterator[Sandbox]:
    """A sandbox on the shared time."""
    with Sandbox(run_seconds=RUN_SECONDS, clock=shared.clock) as sb:
        yield sb
