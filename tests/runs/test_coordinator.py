"""The run lifecycle with injected time: the tap's sleeps move the sandbox's clock, so runs
that take minutes are waited for instantly."""

from __future__ import annotations

import functools
import typing as t

import pytest
from runskit import LOGGER, RUN_SECONDS, SharedTime, client, connections

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from tap_edges.runs.coordinator import RunCoordinator
from tap_edges.state import Bookmark

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def time_and_sandbox() -> Iterator[tuple[SharedTime, Sandbox]]:
    shared = SharedTime()
    with Sandbox(run_seconds=RUN_SECONDS, clock=shared.clock) as sandbox:
        yield shared, sandbox


def coordinator(shared: SharedTime, sandbox: Sandbox, **kwargs: t.Any) -> RunCoordinator:
    kwargs.setdefault("flush", lambda: None)  # these tests read no STATE
    return RunCoordinator(
        client=client(sandbox, shared),
        logger=LOGGER,
        clock=shared.monotonic,
        sleep=shared.sleep,
        **kwargs,
    )


def test_polling_starts_quick_then_backs_off_to_the_interval(
    time_and_sandbox: tuple[SharedTime, Sandbox],
) -> None:
    shared, sandbox = time_and_sandbox
    saved: list[Bookmark] = []
    flushed: list[tuple[int, int]] = []

    def flush() -> None:  # what the tap does: one STATE with every bookmark saved so far
        launches = sum(1 for e in sandbox.requests.entries() if e["path"].endswith("/run/async"))
        flushed.append((launches, len(saved)))

    runs = coordinator(shared, sandbox, poll_interval=30.0, run_timeout=3600.0, flush=flush)
    partitions = [connections(i) for i in ENGAGEMENT_IDENTITY_IDS]
    runs.start((p, Bookmark(), saved.append) for p in partitions)
    assert [b.pending_launch is not None for b in saved] == [True, True, False, False]
    assert flushed == [(0, 2), (2, 4)]  # both tokens in a STATE before any launch is sent
    saved = saved[2:]
    assert all(b.pending and b.run_uid for b in saved)

    items = [item for p in partitions for item in runs.records(p.key)]
    assert runs.failures == []
    assert len(items) == 2 * 60
    assert shared.slept[:8] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert set(shared.slept[7:]) == {30.0}
    assert RUN_SECONDS <= sum(shared.slept) <= RUN_SECONDS + 30.0
    polls = [e for e in sandbox.requests.entries() if e["path"] == "/v1/runs"]
    uids = sorted({str(b.run_uid) for b in saved})
    assert all(sorted(e["query"]["uid"]) == uids for e in polls)
    assert len(polls) == len(shared.slept)  # one request per round covers both runs


def test_a_run_past_the_timeout_fails_its_partition_and_stays_pending(
    time_and_sandbox: tuple[SharedTime, Sandbox],
) -> None:
    shared, sandbox = time_and_sandbox
    sandbox.settings.faults = Faults(hang={ENGAGEMENT_IDENTITY_IDS[0]})
    runs = coordinator(shared, sandbox, poll_interval=60.0, run_timeout=1800.0)
    saved: dict[str, Bookmark] = {}
    partitions = [connections(i) for i in ENGAGEMENT_IDENTITY_IDS]
    runs.start(
        (p, Bookmark(), functools.partial(saved.__setitem__, p.identity_id)) for p in partitions
    )

    hung = list(runs.records(partitions[0].key))
    fine = list(runs.records(partitions[1].key))
    assert hung == []
    assert len(fine) == 60
    assert len(runs.failures) == 1
    assert "run_timeout_seconds" in str(runs.failures[0])
    assert saved[ENGAGEMENT_IDENTITY_IDS[0]].pending
    assert not saved[ENGAGEMENT_IDENTITY_IDS[1]].pending
    assert 1800.0 <= sum(shared.slept) <= 1800.0 + 60.0
