"""tap_edges/runs/polling.py: waiting for runs, every run in flight refreshed by each poll.

The real Poller and client over real HTTP against the sandbox, on one simulated time (the
poller's sleeps move the sandbox's clock). Faults: a run that never ends (run_timeout passes),
a run purged while in flight, a poll that still shows the run as it was before a continue.
"""

from __future__ import annotations

import logging
import typing as t

import pytest
from runskit import LOGGER, RUN_SECONDS, SharedTime, client, connections, sent

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from tap_edges import errors
from tap_edges.model import Launching, Run
from tap_edges.runs.partitions import Tracked
from tap_edges.runs.polling import FIRST_POLL_SECONDS, Poller
from tap_edges.runs.sending import Sender, Started, started
from tap_edges.state import Bookmark

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_edges.runs.partitions import Partition

FIRST, SECOND = ENGAGEMENT_IDENTITY_IDS


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime()


@pytest.fixture
def sandbox(shared: SharedTime) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=RUN_SECONDS, clock=shared.clock) as sb:
        yield sb


def poller(sandbox: Sandbox, shared: SharedTime, **options: t.Any) -> Poller:
    options.setdefault("poll_interval", 30.0)
    found = Poller(
        client(sandbox, shared), LOGGER, clock=shared.monotonic, sleep=shared.sleep, **options
    )
    found.restart()  # as the coordinator does once runs are started
    return found


def launched(sandbox: Sandbox, shared: SharedTime, partition: Partition) -> Tracked:
    """A partition whose run was just launched, tracked from now on."""
    pending = Launching(partition.identity_id[:8] * 2, partition.max_results)
    outcome = Sender(client(sandbox, shared), LOGGER, shared.sleep).launch(partition, pending)
    assert isinstance(outcome, Started)
    bookmark = started(Bookmark(pending=pending), outcome.run.uid, pending)
    tr = Tracked(partition, bookmark, lambda _: None)
    tr.track(outcome.run, shared.monotonic())
    return tr


def test_one_poll_refreshes_every_run_in_flight(sandbox: Sandbox, shared: SharedTime) -> None:
    one, two = (
        launched(sandbox, shared, connections(FIRST)),
        launched(sandbox, shared, connections(SECOND)),
    )
    sandbox.requests.clear()
    run = poller(sandbox, shared).wait(one, [one, two])
    assert run.status == "SUCCEEDED"
    assert two.run is not None
    assert two.run.status == "SUCCEEDED"  # refreshed by the same polls, not waited for again
    polls = [e for e in sandbox.requests.entries() if e["path"] == "/v1/runs"]
    assert len(polls) == len(sandbox.requests.entries())  # never one GET per run
    uids = sorted([str(one.bookmark.run_uid), str(two.bookmark.run_uid)])
    assert all(sorted(e["query"]["uid"]) == uids for e in polls)
    assert shared.slept[:3] == [FIRST_POLL_SECONDS, 2 * FIRST_POLL_SECONDS, 4 * FIRST_POLL_SECONDS]
    assert max(shared.slept) == 30.0


def test_a_run_that_never_ends_times_out_at_run_timeout_exactly(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    sandbox.settings.faults = Faults(hang={FIRST})
    tr = launched(sandbox, shared, connections(FIRST))
    with pytest.raises(errors.RunError, match=r"still RUNNING after 1000s \(run_timeout_seconds\)"):
        poller(sandbox, shared, run_timeout=1000.0).wait(tr, [tr])
    assert sum(shared.slept) == pytest.approx(1000.0)  # never sleeps past the timeout
    assert tr.run is not None
    assert tr.run.status == "RUNNING"


def test_a_run_purged_while_in_flight_fails_its_partition_only(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    one, two = (
        launched(sandbox, shared, connections(FIRST)),
        launched(sandbox, shared, connections(SECOND)),
    )
    assert two.run is not None
    sandbox.backstage.purge_run(two.run.uid)
    sandbox.requests.clear()
    assert poller(sandbox, shared).wait(one, [one, two]).status == "SUCCEEDED"
    assert isinstance(two.error, errors.RunError)
    assert "disappeared from Edges while in flight" in str(two.error)
    assert sent(sandbox, "GET", f"/runs/{two.run.uid}") == [404]  # asked once, then left alone
    with pytest.raises(errors.RunError, match="disappeared"):
        poller(sandbox, shared).wait(two, [one, two])


def test_a_poll_still_showing_the_run_before_a_continue_is_not_taken_for_its_end(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    # Row 20: this sync continued the run, but the listing still shows the finished iteration
    # before it (Edges applies a continue a little later here: the next sleep).
    tr = launched(sandbox, shared, connections(FIRST))
    shared.clock.advance(RUN_SECONDS + 1)
    api = client(sandbox, shared)
    before = Run.from_json(api.get_run(tr.bookmark.run_uid or ""))
    assert before is not None
    assert before.status == "SUCCEEDED"
    tr.track(Run(before.uid, "SCHEDULED"), shared.monotonic(), before=before)
    sandbox.backstage.grow(n=3)

    def sleep_then_apply(seconds: float) -> None:
        if len(shared.slept) == 2:
            api.continue_run(before.uid)
        shared.sleep(seconds)

    waits = Poller(api, LOGGER, 30.0, 3600.0, shared.monotonic, sleep_then_apply)
    waits.restart()
    run = waits.wait(tr, [tr])
    assert run.status == "SUCCEEDED"
    assert run.iteration != before.iteration  # the new iteration's end, not the old one's
    assert len(sandbox.backstage.ground_truth(before.uid)) == 2


def test_restart_polls_quickly_again(sandbox: Sandbox, shared: SharedTime) -> None:
    waits = poller(sandbox, shared)
    tr = launched(sandbox, shared, connections(FIRST))
    waits.wait(tr, [tr])
    assert shared.slept[-1] == 30.0
    late = launched(sandbox, shared, connections(SECOND))
    waits.restart()
    shared.slept.clear()
    waits.wait(late, [tr, late])
    assert shared.slept[0] == FIRST_POLL_SECONDS


def test_a_partition_failed_before_its_wait_is_raised_without_a_request(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    tr = launched(sandbox, shared, connections(FIRST))
    tr.error = errors.RunError(tr.partition.label, tr.bookmark.run_uid, "failed at the start")
    sandbox.requests.clear()
    with pytest.raises(errors.RunError, match="failed at the start"):
        poller(sandbox, shared).wait(tr, [tr])
    assert sandbox.requests.entries() == []


def test_a_poll_under_a_503_is_retried_not_a_failure(
    sandbox: Sandbox, shared: SharedTime, caplog: pytest.LogCaptureFixture
) -> None:
    tr = launched(sandbox, shared, connections(FIRST))
    sandbox.settings.set_faults(error_every=3)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        run = poller(sandbox, shared).wait(tr, [tr])
    assert run.status == "SUCCEEDED"
    assert tr.error is None
    assert 503 in sent(sandbox, "GET", "/v1/runs")
    assert "HTTP 503; retry" in caplog.text


def test_a_poller_waits_between_polls_even_before_a_restart(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    # Built as its signature allows (the coordinator happens to call restart() first), a
    # poller must not poll back to back: its first wait is FIRST_POLL_SECONDS, never 0.
    tr = launched(sandbox, shared, connections(FIRST))
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) > 50:
            msg = f"polling back to back: {polls[:5]}..."
            raise AssertionError(msg)
        shared.sleep(seconds)

    waits = Poller(client(sandbox, shared), LOGGER, 30.0, 3600.0, shared.monotonic, sleep)
    assert waits.wait(tr, [tr]).status == "SUCCEEDED"
    assert polls[0] == FIRST_POLL_SECONDS
