"""The run lifecycle of every partition of one sync: executes what :mod:`.lifecycle` decides.

Nothing here knows Singer. The stream layer hands in partitions with their bookmarks and a
``save`` callback that puts a bookmark in the state; ``flush`` writes a STATE message.

* :meth:`RunCoordinator.start` decides every partition's step, writes every launch and
  continue into the state (one STATE) before any is sent, then sends them, so a sync takes
  about as long as its slowest run and a sync killed meanwhile is resumed without a second
  paid run;
* what a request answers goes back to :mod:`.lifecycle` for the next step (a refused
  continue, a refused launch at a grown cap) until the partition has a run to wait for or
  fails;
* :meth:`RunCoordinator.records` waits for the partition's run (:mod:`.polling`), reads its
  new items (:mod:`.outputs`) and marks the batch consumed in the bookmark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import typing as t

from tap_edges import errors, reading
from tap_edges.adopting import adopt_lost_launches, launch_written_ahead
from tap_edges.lifecycle import (
    Action,
    Caps,
    Refusal,
    Step,
    after_continue_refused,
    after_launch_refused,
    decide,
    wanted_max_results,
)
from tap_edges.partitions import Partition, PartitionKey, Tracked
from tap_edges.polling import Poller, by_uid
from tap_edges.sending import (
    Gone,
    Refused,
    Sender,
    Started,
    started,
    write_ahead_continue,
    write_ahead_launch,
)
from tap_edges.summary import SyncSummary
from tap_edges.times import iso

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

    from tap_edges.client import EdgesClient
    from tap_edges.model import Batch, Run
    from tap_edges.state import Bookmark

# A STATE holds every partition: with thousands of them, one per emitted batch would make the
# output grow with the square of the partitions. At most about this many are flushed while
# batches are emitted (a sync killed in between re-reads the batches emitted since).
MAX_EMIT_STATES = 20
# Steps one partition may take in one sync (a refused continue leads to a launch, a launch
# refused at a grown cap back to the old run): more means the table loops.
MAX_STEPS = 4


@dataclasses.dataclass
class RunCoordinator:
    """Drives the Edges runs of every partition of one sync."""

    client: EdgesClient
    logger: logging.Logger
    poll_interval: float = 15.0
    run_timeout: float = 3600.0
    callback_url: str | None = None
    adaptive: bool = True
    ceiling: int = 5000
    confirm_tries: int = 3
    flush: Callable[[], None] = dataclasses.field(default=lambda: None)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    failures: list[errors.EdgesError] = dataclasses.field(default_factory=list)
    possible_losses: int = 0
    metrics_logger: logging.Logger | None = None
    _tracked: dict[PartitionKey, Tracked] = dataclasses.field(default_factory=dict)
    _consumed_since_flush: int = 0
    summary: SyncSummary = dataclasses.field(default_factory=SyncSummary)
    names_refused: bool = False  # Edges refuses ``name`` on launches (row 14; in the state)
    wall_clock: Callable[[], float] = time.time
    _positional: set[str] = dataclasses.field(default_factory=set)  # streams said so of
    _unsent: set[PartitionKey] = dataclasses.field(default_factory=set)  # launches not sent

    def __post_init__(self) -> None:
        """Build the sender and the poller from the coordinator's settings."""
        self._sender = Sender(
            self.client, self.logger, self.sleep, self.callback_url, self.confirm_tries
        )
        self._poller = Poller(
            self.client, self.logger, self.poll_interval, self.run_timeout, self.clock, self.sleep
        )

    # -- start: one decision per partition, every launch/continue before any wait --------

    def start(
        self, entries: Iterable[tuple[Partition, Bookmark, Callable[[Bookmark], None]]]
    ) -> None:
        """Launch or continue the run of every partition (or plan to wait for it or read it).

        Args:
            entries: Each partition with its bookmark and a function that saves it.

        Raises:
            AuthError: The API key was rejected; no partition can succeed.
        """
        tracked = [Tracked(p, b, save) for p, b, save in entries]
        self._tracked.update((tr.partition.key, tr) for tr in tracked)
        self._poller.restart()
        uids = sorted({tr.bookmark.run_uid for tr in tracked if tr.bookmark.run_uid})
        known = by_uid(self.client.list_runs(uids)) if uids else {}
        lost = [tr for tr in tracked if tr.bookmark.pending_launch]
        adopt_lost_launches(self._sender, lost, known, self._taken(), self.logger)
        planned: list[tuple[Tracked, Step, Run | None]] = []
        for tr in tracked:
            if tr.error is None:
                self._guarded(tr, self._plan, tr, known.get(tr.bookmark.run_uid or ""), planned)
        self.flush()  # every launch and continue is in the state before any is sent
        for tr, step, run in planned:
            self._guarded(tr, self._execute, tr, step, run)
        self.flush()

    def _guarded(self, tr: Tracked, work: Callable[..., None], *args: t.Any) -> None:  # noqa: ANN401
        """Run one partition's work, keeping its error for its turn (a rejected key stops all)."""
        try:
            work(*args)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            tr.error = exc

    def _taken(self) -> set[str]:
        """The runs the partitions of this sync own."""
        return {uid for tr in self._tracked.values() if (uid := tr.bookmark.run_uid)}

    def _plan(
        self, tr: Tracked, run: Run | None, planned: list[tuple[Tracked, Step, Run | None]]
    ) -> None:
        """Decide; write what will be sent into the bookmark (not flushed yet)."""
        bookmark = tr.bookmark
        if bookmark.run_uid is not None and run is None and bookmark.pending_launch is None:
            run = self._poller.get_run_or_none(bookmark.run_uid)  # confirm before a launch
        step = decide(bookmark, run, self._wanted(tr))
        self._write_ahead(tr, step, run)
        planned.append((tr, step, run))

    def _write_ahead(self, tr: Tracked, step: Step, run: Run | None) -> None:
        """Log the step, and put a launch's token or a continue's start in the bookmark."""
        old = tr.bookmark
        if step.action is Action.LAUNCH:
            if old.run_uid is not None and old.pending_launch is None:
                self.logger.log(
                    step.level,
                    "%s: run %s %s; launching a fresh run with max_results %d.",
                    tr.partition.label,
                    old.run_uid,
                    step.reason,
                    step.max_results,
                )
            sent_at = iso(dt.datetime.fromtimestamp(self.wall_clock(), tz=dt.timezone.utc))
            named = not self.names_refused
            tr.keep(write_ahead_launch(old, step.max_results, named=named, sent_at=sent_at))
            self._unsent.add(tr.partition.key)
        elif step.action is Action.CONTINUE and run is not None:
            tr.keep(write_ahead_continue(old, run))
        elif step.action in {Action.WAIT, Action.READ}:
            self.logger.info(
                "%s: run %s %s; %s.",
                tr.partition.label,
                old.run_uid,
                step.reason,
                "waiting for it"
                if step.action is Action.WAIT
                else "reading it (it is continued next sync)",
            )

    def _execute(self, tr: Tracked, step: Step, run: Run | None) -> None:
        """Send the step's request; let the lifecycle decide what an answer leads to."""
        old = tr.bookmark
        for _ in range(MAX_STEPS):
            if step.action in {Action.WAIT, Action.READ} and run is not None:
                tr.track(run, self.clock())
                if step.action is Action.WAIT:
                    self.summary.waiting += 1
                else:
                    self.summary.read += 1
                return
            if step.action is Action.LAUNCH:
                answer = self._launch(tr, step, run, old)
            elif step.action is Action.CONTINUE and run is not None:
                answer = self._continue(tr, run, old)
            else:
                raise errors.RunError(tr.partition.label, old.run_uid, step.reason)
            if answer is None:
                return
            step, run = answer
            if step.grown is not None:
                self.logger.log(step.level, "%s: %s.", tr.partition.label, step.reason)
                limit = step.grown.max_results  # Edges takes no more for this action
                old = dataclasses.replace(old, grown=step.grown, cap_limit=limit)
            tr.keep(old)
            if step.action in {Action.LAUNCH, Action.CONTINUE}:
                self._write_ahead(tr, step, run)
                self.flush()  # sent at once, outside the start's batch: its state first
        raise errors.RunError(tr.partition.label, old.run_uid, "the lifecycle did not settle")

    def _launch(
        self, tr: Tracked, step: Step, run: Run | None, old: Bookmark
    ) -> tuple[Step, Run | None] | None:
        """Launch; None once the run is started, else the step Edges' refusal leads to."""
        pending = launch_written_ahead(tr)
        self._unsent.discard(tr.partition.key)
        outcome = self._sender.launch(tr.partition, pending, self._taken())
        if isinstance(outcome, Refused):
            exc = outcome.error
            words = f"{exc.label or exc.status}: {exc.detail or ''}"
            refusal = Refusal(exc.status, words, named=pending.named)
            instead = after_launch_refused(old, run, step, tr.partition.max_results, refusal)
            if instead.action is Action.FAIL:
                raise errors.RunError(tr.partition.label, None, _launch_refused(tr.partition, exc))
            if instead.unnamed:
                self._refuse_names()
            reason = f"{instead.reason} ({exc.label or exc.status})"
            return dataclasses.replace(instead, reason=reason), run
        run = outcome.run
        tr.keep(started(tr.bookmark, run.uid, pending))
        tr.track(run, self.clock())
        self.logger.info("%s: launched run %s.", tr.partition.label, run.uid)
        self.summary.launched += 1
        return None

    def _refuse_names(self) -> None:
        """Row 14: from now on launch without a name, the launches written ahead included."""
        self.names_refused = True
        for key in self._unsent:
            tr = self._tracked[key]
            launch = tr.bookmark.pending_launch
            if launch is not None and launch.named:
                unnamed = dataclasses.replace(launch, named=False)
                tr.keep(dataclasses.replace(tr.bookmark, pending=unnamed))

    def _continue(self, tr: Tracked, run: Run, old: Bookmark) -> tuple[Step, Run | None] | None:
        """Continue; None once the run moved on, else the step Edges' answer leads to."""
        outcome = self._sender.continue_run(tr.partition, run)
        if isinstance(outcome, Started):
            tr.track(outcome.run, self.clock(), before=run)
            self.logger.info("%s: continued run %s.", tr.partition.label, run.uid)
            self.summary.continued += 1
            return None
        now = None if isinstance(outcome, Gone) else self._poller.get_run_or_none(run.uid)
        refusal = ""
        if isinstance(outcome, Refused):
            exc = outcome.error
            refusal = f"{exc.label or exc.status}: {exc.detail or exc}"
        step = after_continue_refused(old, now, self._wanted(tr), refusal)
        if step.action is Action.FAIL:
            reason = f"{step.reason}; {_refusal_hint(tr.partition)}"
            raise errors.RunError(tr.partition.label, run.uid, reason)
        return step, now

    def _wanted(self, tr: Tracked) -> int:
        return wanted_max_results(tr.bookmark, self._caps(tr))

    def _caps(self, tr: Tracked) -> Caps:
        return Caps(tr.partition.max_results, adaptive=self.adaptive, ceiling=self.ceiling)

    # -- records: wait for the partition's run, then read its new items -----------------

    def records(self, key: PartitionKey) -> Iterator[dict[str, t.Any]]:
        """Yield the partition's new items; failures are logged and collected, not raised.

        Args:
            key: The partition's key.

        Yields:
            Every item not emitted before (from the run :meth:`run_uid` names).
        """
        tr = self._tracked[key]
        try:
            if tr.error is not None:
                raise tr.error
            run = self._poller.wait(tr, self._tracked.values())
            batch = yield from reading.read_batch(self.client, tr, run, self.logger)
            self._consumed(tr, run, batch)
            reading.check_outcome(tr, run, self.logger)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            self._fail(tr, exc)

    def bookmarks(self) -> list[Bookmark]:
        """Every partition's bookmark now."""
        return [tr.bookmark for tr in self._tracked.values()]

    def run_uid(self, key: PartitionKey) -> str | None:
        """The run whose items :meth:`records` yields for a partition."""
        return self._tracked[key].bookmark.run_uid

    def _fail(self, tr: Tracked, exc: errors.EdgesError) -> None:
        if not isinstance(exc, errors.RunError):
            exc = errors.RunError(tr.partition.label, tr.bookmark.run_uid, str(exc))
        self.logger.error("%s", exc)
        self.failures.append(exc)

    def _consumed(self, tr: Tracked, run: Run, batch: Batch) -> None:
        """Mark the batch emitted in the bookmark, and say so loudly when items may be lost."""
        done = reading.consumed(tr.bookmark, run, batch, self._caps(tr))
        if done.clamp is not None:
            self.logger.warning(
                "%s: Edges runs %s with max_results %d, not %d as sent (its maximum for this "
                "action, it seems): the tap takes %d as the cap and does not relaunch for it.",
                tr.partition.label,
                tr.partition.action,
                done.clamp,
                tr.bookmark.max_results,
                done.clamp,
            )
        if batch.positional and tr.partition.stream not in self._positional:
            self._positional.add(tr.partition.stream)
            self.logger.info(
                "%s: Edges' output items carry no readable extracted_at: new items are told "
                "from old ones by their position (the first and last items read are kept in "
                "the state).",
                tr.partition.stream,
            )
        tr.keep(done.bookmark)
        self.summary.items[tr.partition.stream] += batch.count
        self._consumed_since_flush += 1
        if self._consumed_since_flush * MAX_EMIT_STATES >= len(self._tracked):
            self.flush()
            self._consumed_since_flush = 0
        if reading.report_batch(
            self.logger,
            self.metrics_logger,
            tr.partition,
            run_uid=tr.bookmark.run_uid,
            batch=batch,
            cap=done.cap,
            first=done.first,
            grew=done.grew,
        ):
            self.possible_losses += 1


def _launch_refused(partition: Partition, exc: errors.APIError) -> str:
    """Why Edges refused to launch a partition's run, in words that say what to do."""
    words = f"{exc.label or exc.status}: {exc.detail or exc}"
    if "incremental" in words.lower() or "sync_mode" in words.lower():
        return (
            f"Edges refused incremental sync for {partition.action} ({words}); this stream "
            f"cannot load incrementally on this workspace: deselect '{partition.stream}' or ask "
            "Edges to enable it. The other streams load."
        )
    return f"Edges refused to launch the run ({words})"


def _refusal_hint(partition: Partition) -> str:
    """The likeliest reason Edges refused to continue a finished run, and what to do."""
    if not partition.continue_documented:
        return (
            f"Edges documents continue only for some actions, not {partition.action}; "
            "this stream may not be incremental on your plan"
        )
    return "check that the identity is an engagement identity"
