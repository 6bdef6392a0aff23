"""tap_edges/runs/sending.py: a launch or continue is sent once, confirmed after a lost answer.

The real Sender and client over real HTTP against the sandbox, on one simulated time. Each test
injects one fault (a lost answer, a timeout, a refusal) and counts what reached Edges: neither
request is idempotent, so a blind resend pays for a second run or skips an iteration.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import pytest
from runskit import (
    LOGGER,
    RUN_SECONDS,
    SharedTime,
    answer_held,
    client,
    connections,
    fail_next_runs_request,
    messages,
    sent,
    thread_url,
)

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.variants import NO_NAME
from tap_edges import errors
from tap_edges.model import Launching, Run
from tap_edges.runs.partitions import token_of
from tap_edges.runs.sending import Gone, Refused, Sender, Started
from tap_edges.times import iso

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from edges_sandbox.wire import Request, Response
    from tap_edges.runs.partitions import Partition

IDENTITY = ENGAGEMENT_IDENTITY_IDS[0]
TOKEN = "0123456789abcdef"  # noqa: S105 (a launch token, no secret)


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime()


@pytest.fixture
def sandbox(shared: SharedTime) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=RUN_SECONDS, clock=shared.clock) as sb:
        yield sb


def sender(sandbox: Sandbox, shared: SharedTime, **options: t.Any) -> Sender:
    return Sender(client(sandbox, shared, **options), LOGGER, shared.sleep)


def launching(shared: SharedTime, *, named: bool = True, max_results: int = 100) -> Launching:
    sent_at = iso_now(shared)
    return Launching(TOKEN, max_results, named=named, sent_at=sent_at)


def iso_now(shared: SharedTime) -> str:
    return iso(dt.datetime.fromtimestamp(shared.clock(), tz=dt.timezone.utc))


def finished_run(sandbox: Sandbox, shared: SharedTime, partition: Partition) -> Run:
    """A run of the partition, launched and finished (a continue may follow)."""
    outcome = sender(sandbox, shared).launch(partition, launching(shared))
    assert isinstance(outcome, Started)
    shared.clock.advance(RUN_SECONDS + 1)
    run = Run.from_json(client(sandbox, shared).get_run(outcome.run.uid))
    assert run is not None
    assert run.status == "SUCCEEDED"
    sandbox.backstage.grow(n=3)
    sandbox.requests.clear()
    return run


# -- launch ----------------------------------------------------------------------------------


def test_a_launch_carries_its_token_in_the_run_name(sandbox: Sandbox, shared: SharedTime) -> None:
    outcome = sender(sandbox, shared).launch(connections(IDENTITY), launching(shared))
    assert isinstance(outcome, Started)
    (run,) = sandbox.backstage.runs()
    assert outcome.run.uid == run["uid"]
    assert token_of(run["name"]) == TOKEN  # what finds it again when the answer is lost
    assert run["parameters"] == {"sync_mode": "incremental", "max_results": 100}


@pytest.mark.parametrize("kind", ["504", "reset"])
def test_a_launch_whose_answer_is_lost_is_adopted_not_paid_twice(
    sandbox: Sandbox, shared: SharedTime, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.settings.faults = Faults(lost_answer_every=1, lost_answer_kind=kind)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        outcome = sender(sandbox, shared).launch(connections(IDENTITY), launching(shared))
    assert isinstance(outcome, Started)
    (run,) = sandbox.backstage.runs()
    assert outcome.run.uid == run["uid"]
    assert len(sent(sandbox, "POST", "/run/async")) == 1
    assert f"adopting run {run['uid']}" in caplog.text
    assert shared.slept == []  # no wait for a resend that is not needed


def test_a_launch_timing_out_is_found_by_its_token_not_paid_twice(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    # The read timeout passes while Edges holds the answer back: it applied the launch.
    with answer_held(sandbox, "POST", "/run/async"):
        outcome = sender(sandbox, shared, timeout=(5.0, 0.3)).launch(
            connections(IDENTITY), launching(shared)
        )
    assert isinstance(outcome, Started)
    (run,) = sandbox.backstage.runs()
    assert outcome.run.uid == run["uid"]
    assert len(sent(sandbox, "POST", "/run/async")) == 1


def test_a_launch_without_name_whose_answer_is_lost_is_told_apart_by_its_input(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    sandbox.settings.variants = [NO_NAME]
    one, other = messages(IDENTITY, thread_url(1)), messages(IDENTITY, thread_url(2))
    assert isinstance(sender(sandbox, shared).launch(one, launching(shared, named=False)), Started)
    shared.clock.advance(1)
    sandbox.settings.faults = Faults(lost_answer_every=1)
    outcome = sender(sandbox, shared).launch(other, launching(shared, named=False))
    assert isinstance(outcome, Started)
    runs = {run["uid"]: run for run in sandbox.backstage.runs()}
    assert len(runs) == 2  # not launched again
    inputs = client(sandbox, shared).run_inputs(outcome.run.uid)
    assert [entry["input_data"] for entry in inputs] == [{"linkedin_thread_url": thread_url(2)}]


def test_a_launch_refused_for_its_name_is_returned_not_raised(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    sandbox.settings.variants = [NO_NAME]
    outcome = sender(sandbox, shared).launch(connections(IDENTITY), launching(shared))
    assert isinstance(outcome, Refused)
    assert (outcome.error.status, outcome.error.label) == (400, "BAD_PARAMETERS")
    assert "additional properties (name)" in str(outcome.error.detail)
    assert sent(sandbox, "POST", "/run/async") == [400]  # a refusal is not sent again
    assert sandbox.backstage.runs() == []


def test_a_launch_above_the_largest_cap_is_refused(sandbox: Sandbox, shared: SharedTime) -> None:
    sandbox.settings.max_results_limit = 150
    outcome = sender(sandbox, shared).launch(
        connections(IDENTITY), launching(shared, max_results=200)
    )
    assert isinstance(outcome, Refused)
    assert outcome.error.status == 400
    assert sandbox.backstage.runs() == []


def test_a_rejected_key_is_raised_not_refused(sandbox: Sandbox, shared: SharedTime) -> None:
    refused = Sender(client(sandbox, shared, api_key="wrong"), LOGGER, shared.sleep)
    with pytest.raises(errors.AuthError):
        refused.launch(connections(IDENTITY), launching(shared))


# -- continue --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["504", "reset"])
def test_a_continue_whose_answer_is_lost_is_confirmed_not_sent_again(
    sandbox: Sandbox, shared: SharedTime, kind: str
) -> None:
    before = finished_run(sandbox, shared, connections(IDENTITY))
    sandbox.settings.faults = Faults(lost_answer_every=1, lost_answer_kind=kind)
    outcome = sender(sandbox, shared).continue_run(connections(IDENTITY), before)
    assert isinstance(outcome, Started)
    assert outcome.moved  # read back: it already moved on
    assert outcome.run.uid == before.uid
    assert outcome.run.iteration != before.iteration or outcome.run.status != "SUCCEEDED"
    assert len(sent(sandbox, "POST", "/continue")) == 1
    assert len(sandbox.backstage.ground_truth(before.uid)) == 2  # one new iteration, none skipped


def test_a_run_purged_while_its_continue_answer_was_lost_is_gone(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    """Edges applied the continue, the answer was lost, and the run is gone when the tap looks:
    the partition relaunches (continue-gone), the sync goes on."""
    before = finished_run(sandbox, shared, connections(IDENTITY))
    sandbox.settings.faults = Faults(lost_answer_every=1, lost_answer_kind="504")

    def purge_after_continue(request: Request, response: Response) -> None:
        if request.method == "POST" and request.path.endswith("/continue"):
            sandbox.backstage.purge_run(before.uid)

    sandbox.requests.observer = purge_after_continue
    outcome = sender(sandbox, shared).continue_run(connections(IDENTITY), before)
    assert isinstance(outcome, Gone)
    assert len(sent(sandbox, "POST", "/continue")) == 1  # never sent again


def test_a_continue_that_was_not_applied_is_sent_again_after_a_pause(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    before = finished_run(sandbox, shared, connections(IDENTITY))
    fail_next_runs_request(sandbox)  # the continue: a 503 before Edges does anything
    outcome = sender(sandbox, shared).continue_run(connections(IDENTITY), before)
    assert isinstance(outcome, Started)
    assert not outcome.moved
    assert sent(sandbox, "POST", "/continue") == [503, 200]
    assert shared.slept == [2.0]
    assert len(sandbox.backstage.ground_truth(before.uid)) == 2


def test_a_continue_never_confirmed_gives_up_after_its_tries(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    before = finished_run(sandbox, shared, connections(IDENTITY))
    # Every continue fails with a 503 before Edges does anything; every look at the run passes.

    def continues_fail(request: Request, response: Response) -> None:
        sandbox.settings.set_faults(error_every=1 if request.method == "GET" else None)

    sandbox.settings.set_faults(error_every=1)
    sandbox.requests.observer = continues_fail
    with pytest.raises(errors.AmbiguousError, match="no clear answer"):
        sender(sandbox, shared).continue_run(connections(IDENTITY), before)
    assert sent(sandbox, "POST", "/continue") == [503, 503, 503]
    assert shared.slept == [2.0, 4.0]
    assert len(sandbox.backstage.ground_truth(before.uid)) == 1


def test_a_continue_of_a_run_in_flight_is_refused(sandbox: Sandbox, shared: SharedTime) -> None:
    before = finished_run(sandbox, shared, connections(IDENTITY))
    client(sandbox, shared).continue_run(before.uid)  # another process continued it
    sandbox.requests.clear()
    outcome = sender(sandbox, shared).continue_run(connections(IDENTITY), before)
    assert isinstance(outcome, Refused)
    assert (outcome.error.status, outcome.error.label) == (400, "BAD_PARAMETERS")
    assert sent(sandbox, "POST", "/continue") == [400]
    assert len(sandbox.backstage.ground_truth(before.uid)) == 2


def test_a_continue_of_a_purged_run_is_gone(sandbox: Sandbox, shared: SharedTime) -> None:
    before = finished_run(sandbox, shared, connections(IDENTITY))
    sandbox.backstage.purge_run(before.uid)
    outcome = sender(sandbox, shared).continue_run(connections(IDENTITY), before)
    assert isinstance(outcome, Gone)
    assert sent(sandbox, "POST", "/continue") == [404]
