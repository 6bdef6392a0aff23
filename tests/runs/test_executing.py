"""tap_edges/runs/executing.py: each partition's step planned, written ahead, sent, answered.

The real Executor (with its Sender and Poller) over real HTTP against the sandbox, on one
simulated time. ``flush`` records a STATE (every bookmark saved so far); the sandbox's observer
records, at every launch or continue Edges applies, which STATE was the last one written: the
write-ahead rule holds when that STATE already named what was sent. Faults: refusals (``name``
refused, a grown cap above the limit, a continue refused), a run purged, a lost answer.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import typing as t

import pytest
from runskit import LOGGER, RUN_SECONDS, SharedTime, client, connections, sent

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, STANDARD_IDENTITY_ID, Faults, Sandbox
from edges_sandbox.variants import NO_NAME
from tap_edges import errors
from tap_edges.lifecycle import Caps
from tap_edges.model import Continuing, Grown, Launched, Launching, Run
from tap_edges.runs.executing import Executor, Names, Planned
from tap_edges.runs.partitions import Tracked, token_of
from tap_edges.runs.polling import Poller
from tap_edges.runs.sending import Sender, Started
from tap_edges.runs.summary import SyncSummary
from tap_edges.state import Bookmark

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from edges_sandbox.wire import Request, Response
    from tap_edges.runs.partitions import Partition, PartitionKey

FIRST, SECOND = ENGAGEMENT_IDENTITY_IDS


@dataclasses.dataclass(frozen=True)
class Send:
    """One launch or continue Edges answered, and the STATE written last before it."""

    path: str
    status: int
    body: dict[str, t.Any]
    state: dict[PartitionKey, Bookmark]


class World:
    """The sandbox, the shared time, the STATEs written and the sends answered."""

    def __init__(self, sandbox: Sandbox, shared: SharedTime) -> None:
        self.sandbox, self.shared = sandbox, shared
        self.saved: dict[PartitionKey, Bookmark] = {}
        self.states: list[dict[PartitionKey, Bookmark]] = []
        self.sends: list[Send] = []
        self.tracked: dict[PartitionKey, Tracked] = {}
        self.summary = SyncSummary()
        self.names = Names()
        sandbox.requests.observer = self._observe
        api = client(sandbox, shared)
        self.executor = Executor(
            sender=Sender(api, LOGGER, shared.sleep),
            poller=Poller(api, LOGGER, 30.0, 3600.0, shared.monotonic, shared.sleep),
            logger=LOGGER,
            flush=self.flush,
            clock=shared.monotonic,
            wall_clock=shared.clock,
            caps=lambda tr: Caps(tr.partition.max_results),
            summary=self.summary,
            tracked=self.tracked,
            names=self.names,
        )

    def flush(self) -> None:
        self.states.append(dict(self.saved))

    def _observe(self, request: Request, response: Response) -> None:
        if request.method == "POST":
            body = json.loads(request.body or b"{}")
            last = self.states[-1] if self.states else {}
            self.sends.append(Send(request.path, response.status, body, last))

    def track(self, partition: Partition, bookmark: Bookmark) -> Tracked:
        def save(bookmark: Bookmark) -> None:
            self.saved[partition.key] = bookmark

        tr = Tracked(partition, bookmark, save)
        self.tracked[partition.key] = tr
        return tr

    def start(self, *plans: tuple[Tracked, Run | None]) -> list[Planned]:
        """What the coordinator does: plan all, one STATE, then send each."""
        planned: list[Planned] = []
        for tr, run in plans:
            self.executor.plan(tr, run, planned)
        self.flush()
        return planned

    def finished_run(self, partition: Partition) -> tuple[Run, Bookmark]:
        """A run of the partition, launched and finished, and a bookmark that consumed it."""
        pending = Launching("f" * 16, partition.max_results)
        api = client(self.sandbox, self.shared)
        outcome = Sender(api, LOGGER, self.shared.sleep).launch(partition, pending)
        assert isinstance(outcome, Started)
        self.shared.clock.advance(RUN_SECONDS + 1)
        run = Run.from_json(api.get_run(outcome.run.uid))
        assert run is not None
        assert run.status == "SUCCEEDED"
        self.sandbox.backstage.grow(n=3)
        self.sandbox.requests.clear()
        self.sends.clear()
        consumed = Bookmark(run.uid, iteration=run.iteration, max_results=partition.max_results)
        return run, consumed


@pytest.fixture
def world() -> Iterator[World]:
    shared = SharedTime()
    with Sandbox(run_seconds=RUN_SECONDS, clock=shared.clock) as sandbox:
        yield World(sandbox, shared)


def test_a_launch_is_written_ahead_with_its_token_and_sent_after_the_state(world: World) -> None:
    tr = world.track(connections(FIRST), Bookmark())
    (planned,) = world.start((tr, None))
    pending = tr.bookmark.pending_launch
    assert pending is not None
    assert pending.named
    assert pending.sent_at is not None
    assert world.sends == []  # planning sends nothing
    world.executor.execute(planned)
    (send,) = world.sends
    assert token_of(send.body["name"]) == pending.token
    assert send.state[tr.partition.key].pending == pending  # in a STATE before it was sent
    assert tr.bookmark.run_uid == world.sandbox.backstage.runs()[0]["uid"]
    assert tr.bookmark.pending == Launched()
    assert world.summary.launched == 1


def test_a_launch_refused_for_its_name_is_sent_again_without_it_and_so_are_the_others(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.sandbox.settings.variants = [NO_NAME]
    one = world.track(connections(FIRST), Bookmark())
    two = world.track(connections(SECOND), Bookmark())
    planned = world.start((one, None), (two, None))
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        for each in planned:
            world.executor.execute(each)
    assert [(s.path.endswith("/run/async"), s.status) for s in world.sends] == [
        (True, 400),
        (True, 201),
        (True, 201),
    ]
    assert world.names.refused
    assert "Edges refuses the run's name on launches" in caplog.text
    refused, again, other = world.sends
    assert "name" in refused.body
    assert "name" not in again.body
    assert "name" not in other.body  # the other partition learned it before its send
    for send, tr in ((again, one), (other, two)):
        launch = send.state[tr.partition.key].pending_launch
        assert launch is not None
        assert not launch.named  # written ahead unnamed: found by unnamed-adopt if lost
    assert {one.bookmark.run_uid, two.bookmark.run_uid} == {
        r["uid"] for r in world.sandbox.backstage.runs()
    }


def test_a_grown_cap_above_the_limit_stays_on_the_old_run_and_continues_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    run, consumed = world.finished_run(connections(FIRST))
    grown = dataclasses.replace(consumed, grown=Grown(setting=100, max_results=200))
    tr = world.track(connections(FIRST), grown)
    world.sandbox.settings.max_results_limit = 150  # Edges takes no more than 150 for this action
    (planned,) = world.start((tr, run))
    assert tr.bookmark.pending_launch is not None
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        world.executor.execute(planned)
    assert sent(world.sandbox, "POST", "/run/async") == [400]
    assert sent(world.sandbox, "POST", "/continue") == [200]
    assert "Edges refused max_results 200; staying at 100" in caplog.text
    assert tr.bookmark.run_uid == run.uid
    assert tr.bookmark.cap_limit == 100
    assert tr.bookmark.grown == Grown(setting=100, max_results=100)  # not asked again
    continued = world.sends[-1]
    assert isinstance(continued.state[tr.partition.key].pending, Continuing)  # written ahead
    assert (world.summary.launched, world.summary.continued) == (0, 1)
    assert len(world.sandbox.backstage.runs()) == 1


def test_a_continue_of_a_purged_run_relaunches_it_written_ahead_first(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    run, consumed = world.finished_run(connections(FIRST))
    tr = world.track(connections(FIRST), consumed)
    (planned,) = world.start((tr, run))
    world.sandbox.backstage.purge_run(run.uid)
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        world.executor.execute(planned)
    assert sent(world.sandbox, "POST", "/continue") == [404]
    assert sent(world.sandbox, "POST", "/run/async") == [201]
    assert f"run {run.uid} no longer exists; launching a fresh run" in caplog.text
    launch = world.sends[-1]
    pending = launch.state[tr.partition.key].pending_launch
    assert pending is not None
    assert token_of(launch.body["name"]) == pending.token
    (new,) = world.sandbox.backstage.runs()
    assert tr.bookmark.run_uid == new["uid"] != run.uid


def test_a_continue_refused_as_another_process_continued_the_run_waits_for_it(
    world: World,
) -> None:
    run, consumed = world.finished_run(connections(FIRST))
    tr = world.track(connections(FIRST), consumed)
    (planned,) = world.start((tr, run))
    client(world.sandbox, world.shared).continue_run(run.uid)  # another process, meanwhile
    world.executor.execute(planned)
    assert sent(world.sandbox, "POST", "/continue") == [200, 400]
    assert sent(world.sandbox, "POST", "/run/async") == []  # no second run paid
    assert tr.run is not None
    assert tr.run.status == "SCHEDULED"
    assert tr.bookmark.pending is None  # the continue written ahead was not applied
    assert world.summary.waiting == 1
    assert len(world.sandbox.backstage.ground_truth(run.uid)) == 2


@pytest.mark.parametrize(
    ("documented", "hint"),
    [
        (True, "check that the identity is an engagement identity"),
        (False, "Edges documents continue only for some actions"),
    ],
)
def test_a_continue_refused_otherwise_fails_the_partition_with_a_hint(
    world: World, documented: bool, hint: str
) -> None:
    partition = dataclasses.replace(
        connections(STANDARD_IDENTITY_ID), continue_documented=documented
    )
    run, consumed = world.finished_run(partition)
    tr = world.track(partition, consumed)
    (planned,) = world.start((tr, run))
    with pytest.raises(errors.RunError) as raised:
        world.executor.execute(planned)
    assert "Edges refused to continue it (BAD_PARAMETERS: identity" in str(raised.value)
    assert hint in str(raised.value)
    assert sent(world.sandbox, "POST", "/continue") == [400]
    assert sent(world.sandbox, "POST", "/run/async") == []


@pytest.mark.parametrize("purged", [False, True], ids=["listed-late", "gone"])
def test_a_run_missing_from_the_listing_is_looked_at_before_a_launch(
    world: World, purged: bool
) -> None:
    run, consumed = world.finished_run(connections(FIRST))
    if purged:
        world.sandbox.backstage.purge_run(run.uid)
    tr = world.track(connections(FIRST), consumed)
    (planned,) = world.start((tr, None))  # the start's listing did not show the run
    assert sent(world.sandbox, "GET", f"/runs/{run.uid}") == [404 if purged else 200]
    if purged:  # run-unknown: a fresh run
        assert tr.bookmark.pending_launch is not None
    else:  # consumed, on the run read back, not a second paid run
        assert isinstance(tr.bookmark.pending, Continuing)
        assert planned.run == run


def test_a_continue_whose_answer_is_lost_is_counted_once_and_waited_for(world: World) -> None:
    run, consumed = world.finished_run(connections(FIRST))
    tr = world.track(connections(FIRST), consumed)
    (planned,) = world.start((tr, run))
    world.sandbox.settings.faults = Faults(lost_answer_every=1, lost_answer_kind="reset")
    world.executor.execute(planned)
    assert len(sent(world.sandbox, "POST", "/continue")) == 1
    assert world.summary.continued == 1
    assert tr.before == run  # the poller tells the new iteration from this one
    assert tr.run is not None
    assert tr.run.iteration != run.iteration or tr.run.status != "SUCCEEDED"
