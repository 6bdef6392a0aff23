"""Helpers for the direct tests of tap_edges/runs and tap_edges/api against the sandbox.

One simulated time drives the sandbox (its epoch clock) and the tap (its monotonic clock and
its sleep), so a run that takes minutes is waited for at once; the client is the real
:class:`EdgesClient` over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import typing as t

from edges_sandbox.clock import ManualClock
from tap_edges.api.client import EdgesClient
from tap_edges.api.pacing import RateBudget
from tap_edges.api.transport import Transport
from tap_edges.runs.partitions import Partition

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from edges_sandbox import Sandbox
    from edges_sandbox.wire import Request, Response

LOGGER = logging.getLogger("test-runs-direct")
RUN_SECONDS = 600.0
CONNECTIONS = "linkedin-extract-connections"
MESSAGES = "linkedin-extract-messages"


class SharedTime:
    """One simulated time for the sandbox (epoch seconds) and the tap (monotonic, sleep)."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.clock()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)


class FakeTime:
    """A clock that only the tap's sleeps move, for tests without a sandbox on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(
    sandbox: Sandbox, shared: SharedTime, *, api_key: str | None = None, **options: t.Any
) -> EdgesClient:
    """The real client, on the shared time; options are the client's (max_tries, timeout)."""
    budget = RateBudget(10_000, clock=shared.monotonic, sleep=shared.sleep)
    http = Transport(
        sandbox.base_url,
        sandbox.api_key if api_key is None else api_key,
        budget=budget,
        logger=LOGGER,
        clock=shared.monotonic,
        sleep=shared.sleep,
        **options,
    )
    return EdgesClient(http)


def connections(identity: str, max_results: int = 100) -> Partition:
    return Partition(
        stream="connections",
        action=CONNECTIONS,
        identity_id=identity,
        input_field=None,
        input_value=None,
        max_results=max_results,
    )


def thread_url(number: int) -> str:
    """A LinkedIn thread URL the sandbox accepts (its own feed for each number)."""
    return f"https://www.linkedin.com/messaging/thread/2-{number:04d}dGhyZWFk==/"


def messages(identity: str, thread: str, max_results: int = 100) -> Partition:
    return Partition(
        stream="messages",
        action=MESSAGES,
        identity_id=identity,
        input_field="linkedin_thread_url",
        input_value=thread,
        max_results=max_results,
    )


def sent(sandbox: Sandbox, method: str, suffix: str) -> list[int]:
    """The statuses of the requests ``method ...suffix`` the sandbox answered, in order."""
    return [
        entry["status"]
        for entry in sandbox.requests.entries()
        if entry["method"] == method and entry["path"].endswith(suffix)
    ]


def fail_next_runs_request(sandbox: Sandbox) -> None:
    """The next ``/v1/runs*`` request gets a 503 before Edges does anything; no other."""

    def once(request: Request, response: Response) -> None:
        if response.status == 503:
            sandbox.settings.set_faults(error_every=None)
            sandbox.requests.observer = None

    sandbox.settings.set_faults(error_every=1)
    sandbox.requests.observer = once


@contextlib.contextmanager
def answer_held(sandbox: Sandbox, method: str, suffix: str) -> Iterator[threading.Event]:
    """Hold back the answer to every matching request (applied) until the block ends.

    The client's read timeout passes meanwhile: a request timing out after Edges applied it.
    """
    release = threading.Event()

    def hold(request: Request, response: Response) -> None:
        if request.method == method and request.path.endswith(suffix):
            release.wait(timeout=30.0)

    sandbox.requests.observer = hold
    try:
        yield release
    finally:
        sandbox.requests.observer = None
        release.set()
