"""tap_edges/runs/adopting.py: the runs of launches an earlier sync lost the answers of.

An earlier sync wrote each launch into its bookmark, sent it, and never read the answer (the
sandbox applied it and lost the answer, or the sync was killed). The next sync adopts the run
instead of paying for another: by the token in its name, or, where Edges refuses names, by
the rows unnamed-* of the lifecycle. The real Sender and client over real HTTP against the sandbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import typing as t

import pytest
from runskit import (
    CONNECTIONS,
    LOGGER,
    MESSAGES,
    RUN_SECONDS,
    SharedTime,
    client,
    connections,
    messages,
    sent,
    thread_url,
)

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.variants import NO_NAME
from tap_edges import errors
from tap_edges.model import Launched
from tap_edges.runs.adopting import adopt_lost_launches
from tap_edges.runs.partitions import Tracked
from tap_edges.runs.sending import Sender, write_ahead_launch
from tap_edges.state import Bookmark
from tap_edges.times import iso

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_edges.model import Run
    from tap_edges.runs.partitions import Partition

FIRST, SECOND = ENGAGEMENT_IDENTITY_IDS


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime()


@pytest.fixture
def sandbox(shared: SharedTime) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=RUN_SECONDS, clock=shared.clock) as sb:
        yield sb


def written_ahead(shared: SharedTime, partition: Partition, *, named: bool = True) -> Tracked:
    """A partition whose launch an earlier sync wrote into its state."""
    now = iso(dt.datetime.fromtimestamp(shared.clock(), tz=dt.timezone.utc))
    bookmark = write_ahead_launch(Bookmark(), partition.max_results, named=named, sent_at=now)
    return Tracked(partition, bookmark, lambda _: None)


def sent_and_lost(sandbox: Sandbox, shared: SharedTime, tr: Tracked) -> str:
    """Send the launch written ahead; Edges applies it and its answer is lost. Its run's uid."""
    pending = tr.bookmark.pending_launch
    assert pending is not None
    body = tr.partition.launch_body(
        None, token=pending.token, max_results=pending.max_results, named=pending.named
    )
    before = {run["uid"] for run in sandbox.backstage.runs()}
    kept = sandbox.settings.faults
    sandbox.settings.faults = dataclasses.replace(kept, lost_answer_every=1)
    with pytest.raises(errors.AmbiguousError):
        client(sandbox, shared).launch(tr.partition.action, body)
    sandbox.settings.faults = kept
    shared.clock.advance(1)
    (uid,) = {run["uid"] for run in sandbox.backstage.runs()} - before
    return str(uid)


def adopt(
    sandbox: Sandbox, shared: SharedTime, *pending: Tracked, **options: t.Any
) -> tuple[dict[str, Run], set[str]]:
    known: dict[str, Run] = {}
    taken: set[str] = set()
    sender = Sender(client(sandbox, shared, **options), LOGGER, shared.sleep)
    sandbox.requests.clear()
    adopt_lost_launches(sender, list(pending), known, taken, LOGGER)
    return known, taken


@pytest.mark.parametrize("kind", ["504", "reset"])
def test_a_launch_whose_answer_was_lost_is_adopted_by_its_token(
    sandbox: Sandbox, shared: SharedTime, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    tr = written_ahead(shared, connections(FIRST, max_results=70))
    pending = tr.bookmark.pending_launch
    assert pending is not None
    sandbox.settings.faults = Faults(lost_answer_kind=kind)
    uid = sent_and_lost(sandbox, shared, tr)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        known, _ = adopt(sandbox, shared, tr)
    assert tr.bookmark.run_uid == uid
    assert tr.bookmark.pending == Launched()
    assert tr.bookmark.max_results == 70  # the cap the launch was sent with
    assert set(known) == {uid}
    assert tr.error is None
    assert f"adopting run {uid}" in caplog.text
    assert sent(sandbox, "POST", "/run/async") == []


def test_a_launch_edges_never_made_stays_pending(sandbox: Sandbox, shared: SharedTime) -> None:
    other = written_ahead(shared, connections(SECOND))
    sent_and_lost(sandbox, shared, other)  # another partition's run, another token
    tr = written_ahead(shared, connections(FIRST))
    before = tr.bookmark
    known, _ = adopt(sandbox, shared, tr)
    assert tr.bookmark == before  # launch-not-found: the lifecycle launches it again
    assert known == {}
    assert tr.error is None


def test_the_runs_are_looked_for_once_per_action_not_per_partition(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    lost = [
        written_ahead(shared, connections(FIRST)),
        written_ahead(shared, connections(SECOND)),
        written_ahead(shared, messages(FIRST, thread_url(1))),
    ]
    uids = [sent_and_lost(sandbox, shared, tr) for tr in lost]
    adopt(sandbox, shared, *lost)
    assert [tr.bookmark.run_uid for tr in lost] == uids
    listings = [
        e["query"]["action_name"] for e in sandbox.requests.entries() if e["path"] == "/v1/runs"
    ]
    assert sorted(listings) == [[CONNECTIONS], [MESSAGES]]


@pytest.mark.parametrize("named", [True, False], ids=["by-token", "unnamed"])
def test_a_failed_lookup_fails_the_partition_rather_than_launching_blind(
    sandbox: Sandbox, shared: SharedTime, named: bool
) -> None:
    if not named:
        sandbox.settings.variants = [NO_NAME]
    tr = written_ahead(shared, connections(FIRST), named=named)
    sent_and_lost(sandbox, shared, tr)
    before = tr.bookmark
    sandbox.settings.set_faults(gateway_5xx_every=1)
    adopt(sandbox, shared, tr, max_tries=2)
    assert isinstance(tr.error, errors.RetriesExhaustedError)
    assert tr.bookmark == before  # still pending: the next sync looks again


def test_a_rejected_key_stops_the_adoption(sandbox: Sandbox, shared: SharedTime) -> None:
    tr = written_ahead(shared, connections(FIRST))
    with pytest.raises(errors.AuthError):
        adopt(sandbox, shared, tr, api_key="wrong")


def test_unnamed_launches_are_each_adopted_by_their_input(
    sandbox: Sandbox, shared: SharedTime
) -> None:
    sandbox.settings.variants = [NO_NAME]
    lost = [written_ahead(shared, messages(FIRST, thread_url(n)), named=False) for n in (1, 2)]
    uids = [sent_and_lost(sandbox, shared, tr) for tr in lost]
    _, taken = adopt(sandbox, shared, *lost)
    assert [tr.bookmark.run_uid for tr in lost] == uids
    assert taken == set(uids)  # no other partition may adopt them


def test_several_runs_that_could_be_an_unnamed_launch_are_not_adopted_and_it_says_so(
    sandbox: Sandbox, shared: SharedTime, caplog: pytest.LogCaptureFixture
) -> None:
    # Row 29: run objects show neither identity nor input, so two connections runs made after
    # the launch was written ahead could each be its run.
    sandbox.settings.variants = [NO_NAME]
    tr = written_ahead(shared, connections(FIRST), named=False)
    sent_and_lost(sandbox, shared, tr)
    sent_and_lost(sandbox, shared, written_ahead(shared, connections(SECOND), named=False))
    before = tr.bookmark
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        adopt(sandbox, shared, tr)
    assert tr.bookmark == before
    assert "2 runs could be it" in caplog.text
    assert "one of them may be a duplicate run" in caplog.text


def test_every_unnamed_launch_is_adopted_or_warned_of_however_many_were_lost(
    sandbox: Sandbox, shared: SharedTime, caplog: pytest.LogCaptureFixture
) -> None:
    # A sync killed after sending eleven launches of one action without a name (Edges refuses
    # names): each run is found by its input. None may be launched again in silence: that pays
    # for a duplicate run without the WARNING unnamed-several promises.
    sandbox.settings.variants = [NO_NAME]
    lost = [written_ahead(shared, messages(FIRST, thread_url(n)), named=False) for n in range(11)]
    uids = [sent_and_lost(sandbox, shared, tr) for tr in lost]
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        adopt(sandbox, shared, *lost)
    for tr, uid in zip(lost, uids, strict=True):
        adopted = tr.bookmark.run_uid == uid
        warned = any(tr.partition.label in record.getMessage() for record in caplog.records)
        assert adopted or warned, f"{tr.partition.label}: its run {uid} is paid for twice"
