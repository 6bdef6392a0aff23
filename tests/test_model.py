"""A model-based test of the delivery guarantees (Hypothesis stateful testing).

A real tap (the installed CLI, in its own process) syncs against the sandbox over HTTP, in each
of the three outputs layouts Edges may use, through random sequences of: the world growing,
clean syncs, syncs whose target fails (Meltano then keeps the state the target committed last,
possibly none of this sync's), syncs killed with SIGKILL after a random number of output lines,
launches and continues whose answers are lost (504 or a reset connection after Edges applied
them), ``max_results`` changes, syncs killed right after Edges applied their k-th launch or
continue, Edges starting to refuse ``name`` on launches, and runs purged by Edges between the
tap's look at them and its continues (the last two lead to sends decided after the start's
batch). Discovery is on: the identity's inbox gains conversations and replies, its author
publishes posts, and the tap lists both every sync (listing runs, whose launches are killed and
lose their answers like any other). The model plays Meltano and the target: it keeps the
committed state and the keys of the committed records. After every step it checks that:

* every launch and continue Edges applied was named by the last STATE the tap had written
  before it sent the request (the write-ahead rule, :mod:`writeahead`);

* no run was continued while its previous iterations' items were not all committed (a
  continue is only ever sent when the incoming state records the latest iteration);
* no partition has more than one run in flight, and no sync creates two runs for one
  partition;

and at the end, after clean syncs, that every item Edges delivered to a run the committed
state ever owned and Edges did not purge is committed, that the newest message of every thread
active since the lookback began is committed (the listings hid none), every conversation was
committed at least once, and every post published within the window is followed by each post
stream: nothing is lost on the tap's account.

CI runs a few examples per outputs mode; a larger run is one command::

    TAP_EDGES_MODEL_EXAMPLES=200 .venv/bin/pytest tests/test_model.py
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import typing as t
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from tapkit import THREAD_URLS, api_config
from writeahead import Watch

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox, activity, inbox
from edges_sandbox.variants import (
    CLAMP_MAX_RESULTS,
    EXTRACTED_AT_VARIANTS,
    NO_DATA_FAILED,
    NO_MAX_RESULTS_ECHO,
    NO_NAME,
    QUEUE,
    REFUSE_OFFSET,
)
from tap_edges.actions import ACTIONS_BY_STREAM
from tap_edges.lifecycle import TERMINAL
from tap_edges.streams import derive_key

if t.TYPE_CHECKING:
    from edges_sandbox.wire import Request, Response

# A minute or more (dozens of real syncs): on the main Python only (scripts/test-other-pythons).
pytestmark = pytest.mark.slow(seconds=20)

EXAMPLES = int(os.environ.get("TAP_EDGES_MODEL_EXAMPLES", "3"))
STEPS = int(os.environ.get("TAP_EDGES_MODEL_STEPS", "8"))
STREAM_OF_ACTION = {spec.action: spec.stream for spec in ACTIONS_BY_STREAM.values()}
Key = tuple[str, str, str | None, str]
IDENTITY = ENGAGEMENT_IDENTITY_IDS[0]
AUTHOR = "https://www.linkedin.com/in/ada-lovelace"
MESSAGES = "linkedin-extract-messages"
LISTINGS = {spec.action for spec in ACTIONS_BY_STREAM.values() if spec.lists}
POST_STREAMS = [s.stream for s in ACTIONS_BY_STREAM.values() if s.input_setting == "post_urls"]
WINDOW_DAYS = 5  # the author's seeded posts of 1 and 4 days are followed, and new ones
# The API variants the model draws its world from (edges-api.md §11: what the docs leave open);
# at most one form of extracted_at at a time.
WORLD_VARIANTS = (
    NO_NAME,
    CLAMP_MAX_RESULTS,
    NO_MAX_RESULTS_ECHO,
    REFUSE_OFFSET,
    QUEUE,
    NO_DATA_FAILED,
)


def item_key(stream: str, identity: str, value: str | None, item: dict[str, t.Any]) -> Key:
    """What identifies an item across runs: its stream, partition and natural key."""
    spec = ACTIONS_BY_STREAM[stream]
    fields = dict(item)
    if spec.derived_key is not None:
        fields[spec.derived_key.name] = derive_key(fields, spec.derived_key.parts)
    natural = json.dumps([fields.get(k) for k in spec.natural_keys], default=str)
    return (stream, identity, value, natural)


class Delivery(RuleBasedStateMachine):
    """Meltano, a target and Edges, driven at random; the tap is the real one."""

    mode = "cumulative"

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="tap-edges-model-"))
        self.sandbox = Sandbox(run_seconds=0.2, outputs_mode=self.mode, inbox_threads=3)
        self.sandbox.start()
        self.config = api_config(
            self.sandbox,
            identity_ids=[IDENTITY],
            post_urls=[],
            thread_urls=THREAD_URLS[:1],  # listed by hand, and found by discovery too
            company_page_urls=[],
            max_results=5,
            poll_interval_seconds=1,
            discover_threads=True,
            discover_posts=True,
            post_authors=[AUTHOR],
            post_window_days=WINDOW_DAYS,
            # listed in one run per sync (a full listing listed further is a second run)
            max_results_per_stream={"conversations": 100},
        )
        self.first_sync: float | None = None  # when the lookback began
        self.state: dict[str, t.Any] | None = None  # what Meltano hands the next sync
        self.committed: set[Key] = set()  # what the target committed
        self.owned: set[str] = set()  # runs a committed state ever named
        self.purged: set[str] = set()  # runs Edges forgot (their items are Edges' loss)
        self.purge_next = False  # Edges purges the runs of the next sync's first look
        self.watch = Watch(self.sandbox, self.workdir)

    def teardown(self) -> None:
        try:
            self.sandbox.settings.faults = Faults()
            for _ in range(2):  # read what is pending, then continue once more
                self._sync(commit=1.0)
            self._check_nothing_lost()
        finally:
            self.sandbox.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- which world Edges is, what happens to it, the network and the config ----------

    @initialize(
        variants=st.sets(st.sampled_from(WORLD_VARIANTS), max_size=3),
        extracted_at=st.sampled_from([None, *EXTRACTED_AT_VARIANTS]),
    )
    def world(self, variants: set[str], extracted_at: str | None) -> None:
        self.sandbox.settings.variants = sorted(
            variants | ({extracted_at} if extracted_at else set())
        )

    @rule(n=st.integers(min_value=0, max_value=9))
    def grow(self, n: int) -> None:
        self.sandbox.backstage.grow(n=n)

    @rule(every=st.integers(min_value=1, max_value=3), kind=st.sampled_from(["504", "reset"]))
    def lose_answers(self, every: int, kind: str) -> None:
        self.sandbox.settings.faults = Faults(lost_answer_every=every, lost_answer_kind=kind)

    @rule()
    def answers_arrive(self) -> None:
        self.sandbox.settings.faults = Faults()

    @rule(cap=st.sampled_from([3, 5, 8]))
    def change_max_results(self, cap: int) -> None:
        self.config["max_results"] = cap

    @rule()
    def edges_starts_refusing_names(self) -> None:
        self.sandbox.settings.variants = sorted({*self.sandbox.settings.variants, NO_NAME})

    @rule()
    def edges_purges_runs(self) -> None:
        self.purge_next = True

    @rule()
    def a_conversation_starts(self) -> None:
        self.sandbox.backstage.start_conversation(IDENTITY)

    @rule(which=st.integers(min_value=0, max_value=9), n=st.integers(min_value=1, max_value=3))
    def a_thread_gets_replies(self, which: int, n: int) -> None:
        threads = self.sandbox.backstage.inbox(IDENTITY)
        url = threads[which % len(threads)]["linkedin_thread_url"]
        self.sandbox.backstage.grow(n, action=MESSAGES, identity_id=IDENTITY, input=url)

    @rule()
    def a_post_is_published(self) -> None:
        self.sandbox.backstage.publish_post(AUTHOR)

    # -- syncs --------------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        self._sync(commit=1.0)

    @rule(commit=st.floats(min_value=0.0, max_value=0.99))
    def sync_whose_target_fails(self, commit: float) -> None:
        self._sync(commit=commit)

    @rule(lines=st.integers(min_value=0, max_value=60), commit=st.floats(0.0, 1.0))
    def sync_killed(self, lines: int, commit: float) -> None:
        self._sync(commit=commit, kill_after=lines)

    @rule(sends=st.integers(min_value=1, max_value=5), commit=st.floats(0.0, 1.0))
    def sync_killed_at_a_send(self, sends: int, commit: float) -> None:
        self._sync(commit=commit, kill_at_send=sends)

    def _sync(
        self, *, commit: float, kill_after: int | None = None, kill_at_send: int | None = None
    ) -> None:
        """One sync; the target commits through a STATE chosen by ``commit`` (1.0: the last)."""
        if self.first_sync is None:
            self.first_sync = self.sandbox.engine.clock()
        iterations = self._iterations()
        committed_before = set(self.committed)
        runs_before = set(self.sandbox.engine.runs)
        messages = self._run_tap(kill_after, kill_at_send)
        assert self.watch.problems() == []
        states = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
        chosen = min(int(commit * (len(states) + 1)), len(states))
        if chosen:
            upto = states[chosen - 1]
            for message in messages[:upto]:
                if message["type"] == "RECORD":
                    self.committed.add(self._record_key(message))
            self.state = messages[upto]["value"]
            self.owned |= {
                str(p["edges_run_uid"])
                for stream in self.state.get("bookmarks", {}).values()
                for p in stream.get("partitions", [])
                if p.get("edges_run_uid")
            }
        self._check_continues(iterations, committed_before)
        self._check_one_new_run_per_partition(runs_before)

    def _run_tap(self, kill_after: int | None, kill_at_send: int | None) -> list[dict[str, t.Any]]:
        count = itertools.count(1)
        run = self.watch.run(
            self.config,
            state=self.state,
            kill_after_lines=kill_after,
            kill_when=None if kill_at_send is None else lambda _: next(count) == kill_at_send,
            also=self._purge_listed if self.purge_next else None,
        )
        self.purge_next = False
        if not self.watch.killed:
            assert "Traceback" not in run.stderr, run.stderr
        return run.messages

    def _purge_listed(self, request: Request, response: Response) -> None:
        """Edges purges the runs the tap's first look of the sync asked for."""
        uids = request.query.get("uid", [])
        if request.method == "GET" and request.path == "/v1/runs" and uids and self.purge_next:
            self.purge_next = False
            for uid in uids:
                self.sandbox.backstage.purge_run(uid)
                self.purged.add(uid)

    def _record_key(self, message: dict[str, t.Any]) -> Key:
        stream, record = message["stream"], message["record"]
        field = ACTIONS_BY_STREAM[stream].input_field
        return item_key(stream, record["identity_id"], record.get(field) if field else None, record)

    # -- what the sandbox knows ---------------------------------------------------------

    def _iterations(self) -> dict[str, int]:
        return {uid: len(run.iterations) for uid, run in self.sandbox.engine.runs.items()}

    def _delivered(self, uid: str, index: int) -> set[Key]:
        run = self.sandbox.engine.runs[uid]
        stream = STREAM_OF_ACTION[run.action_name]
        field = ACTIONS_BY_STREAM[stream].input_field
        value = run.input.get(field) if field else None
        truth = self.sandbox.backstage.ground_truth(uid)[index]
        assert run.identity_id is not None  # the tap never launches a managed run
        return {item_key(stream, run.identity_id, value, i) for i in truth["delivered"]}

    def _check_continues(self, before: dict[str, int], committed: set[Key]) -> None:
        for uid, count in self._iterations().items():
            for index in range(max(before.get(uid, 1), 1), count):  # continued in this sync
                for earlier in range(index):
                    missing = self._delivered(uid, earlier) - committed
                    assert not missing, f"run {uid} continued past uncommitted items {missing}"

    def _check_one_new_run_per_partition(self, before: set[str]) -> None:
        created = [
            run.feed_key for uid, run in self.sandbox.engine.runs.items() if uid not in before
        ]
        assert len(created) == len(set(created)), f"two runs launched for one partition: {created}"

    @invariant()
    def at_most_one_run_in_flight_per_partition(self) -> None:
        now = self.sandbox.engine.clock()
        live = [
            r.feed_key for r in self.sandbox.engine.runs.values() if r.status(now) not in TERMINAL
        ]
        assert len(live) == len(set(live)), f"two runs in flight for one partition: {live}"

    def _check_nothing_lost(self) -> None:
        runs = self.sandbox.engine.runs
        for uid in self.owned - self.purged:
            if runs[uid].action_name in LISTINGS:  # a parent emits what moved: checked below
                continue
            for index in range(len(runs[uid].iterations)):
                missing = self._delivered(uid, index) - self.committed
                assert not missing, f"run {uid} iteration {index}: lost {missing}"
        self._check_discovered()

    def _check_discovered(self) -> None:
        """The listings hid nothing: every active thread read, every post in the window."""
        if self.first_sync is None:
            return
        engine = self.sandbox.engine
        since_ms = (self.first_sync - 30 * 86400) * 1000  # thread_lookback_days: 30
        committed_threads = {key[3] for key in self.committed if key[0] == "conversations"}
        for feed in inbox.threads(engine.world, IDENTITY, engine.clock()):
            thread = json.dumps([inbox.thread_of(feed)])
            assert thread in committed_threads, f"conversation {thread} never emitted"
            if feed.times_ms[-1] < since_ms:
                continue
            # Its newest message is committed: the tap read the thread since its last activity
            # (what Edges delivered to the tap's runs is checked above; what a first run's cap
            # leaves out of an old thread is Edges' to leave).
            newest = item_key("messages", IDENTITY, feed.input_value, feed.records[-1])
            assert newest in self.committed, f"thread {feed.input_value}: its activity unread"
        followed = {(key[0], key[2]) for key in self.committed if key[0] in POST_STREAMS} | {
            (STREAM_OF_ACTION[run.action_name], run.input.get("linkedin_post_url"))
            for uid, run in engine.runs.items()
            if uid in self.owned and STREAM_OF_ACTION[run.action_name] in POST_STREAMS
        }
        now_ms = engine.clock() * 1000
        for post in self._posts():
            if (
                post["linkedin_post_type"] == "original"
                and post["published_ms"] >= now_ms - (WINDOW_DAYS - 1) * 86400 * 1000
            ):
                for stream in POST_STREAMS:
                    assert (stream, post["linkedin_post_url"]) in followed, (stream, post)

    def _posts(self) -> list[dict[str, t.Any]]:
        """The author's posts as post activity lists them, with their time in ms."""
        engine = self.sandbox.engine
        now = engine.clock()
        posts = activity.author_posts(engine.world, AUTHOR)
        return [
            {**activity.post(engine.world, AUTHOR, i, now), "published_ms": p.published_ms}
            for i, p in enumerate(posts)
        ]


class DeliveryNewestFirst(Delivery):
    """The same, with Edges serving every iteration's outputs, the newest iteration first."""

    mode = "cumulative-newest"


class DeliveryLatest(Delivery):
    """The same, with Edges serving only the newest iteration's outputs."""

    mode = "latest"


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDeliveryCumulative = Delivery.TestCase
TestDeliveryCumulative.settings = SETTINGS
TestDeliveryNewestFirst = DeliveryNewestFirst.TestCase
TestDeliveryNewestFirst.settings = SETTINGS
TestDeliveryLatest = DeliveryLatest.TestCase
TestDeliveryLatest.settings = SETTINGS


def test_a_sequence_the_model_found() -> None:
    """Replayed as found: syncs killed while thread continues lose their answers. A thread's
    activity mark written before its continue was sent reached a committed STATE whose
    continue was not there: the reply the continue would fetch was never read. Marks now move
    only once the launch or continue was sent (discoverer.py, step 3)."""
    machine = DeliveryNewestFirst()
    machine.world(variants={NO_NAME}, extracted_at=None)
    machine.sync()
    machine.grow(n=1)
    machine.sync_killed(commit=0.12, lines=35)
    machine.lose_answers(every=3, kind="reset")
    machine.lose_answers(every=2, kind="504")
    machine.sync_killed_at_a_send(commit=0.1, sends=4)
    machine.sync_killed(commit=0.37282218617540425, lines=17)
    machine.teardown()  # the clean syncs, then: nothing lost
