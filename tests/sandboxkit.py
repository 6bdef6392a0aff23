"""What the sandbox's HTTP tests share: sandboxes on manual clocks, stopped after the test."""

from __future__ import annotations

import typing as t

from edges_sandbox import Sandbox
from edges_sandbox.clock import ManualClock

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = t.TypeVar("T")


def manual_clock_sandboxes(
    make: Callable[[Sandbox, ManualClock], T], run_seconds: float
) -> Iterator[Callable[..., T]]:
    """A fixture's body: yields ``start(**settings)``, which starts a sandbox on a clock of its
    own (``run_seconds`` unless the settings say otherwise) and returns ``make(sandbox,
    clock)``; every sandbox started is stopped when the test ends."""
    started: list[Sandbox] = []

    def start(**settings: t.Any) -> T:
        clock = ManualClock()
        settings.setdefault("run_seconds", run_seconds)
        sandbox = Sandbox(clock=clock, **settings)
        sandbox.start()
        started.append(sandbox)
        return make(sandbox, clock)

    try:
        yield start
    finally:
        for sandbox in started:
            sandbox.stop()
