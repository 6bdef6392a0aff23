"""Executing the lifecycle's steps as a sync starts: write ahead, send, act on the answer.

:meth:`Executor.plan` decides each partition's step (:func:`tap_edges.lifecycle.decide`) and
writes what it will send into the bookmark; once every plan is in a STATE,
:meth:`Executor.execute` sends it (:mod:`.sending`) and hands Edges' answer back to the
lifecycle's table for the next step (a refused continue, a launch refused for its name or at a
grown cap), until the partition has a run to wait for or fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from tap_edges import errors
from tap_edges.lifecycle import (
    Action,
    Refusal,
    Step,
    after_continue_refused,
    after_launch_refused,
    decide,
    unsent_launch_dropped,
    wanted_max_results,
)
from tap_edges.runs.adopting import launch_written_ahead
from tap_edges.runs.sending import (
    Gone,
    Refused,
    Started,
    started,
    write_ahead_continue,
    write_ahead_launch,
)
from tap_edges.times import iso

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_edges.lifecycle import Caps
    from tap_edges.model import Run
    from tap_edges.runs.partitions import Partition, PartitionKey, Tracked
    from tap_edges.runs.polling import Poller
    from tap_edges.runs.sending import Sender
    from tap_edges.runs.summary import SyncSummary
    from tap_edges.state import Bookmark

# Steps one partition may take in one sync (a refused continue leads to a launch, a launch
# refused at a grown cap back to the old run): more means the table loops.
MAX_STEPS = 4


class Planned(t.NamedTuple):
    """A partition's step, the run it was decided on, and its bookmark before the step."""

    tr: Tracked
    step: Step
    run: Run | None
    before: Bookmark


@dataclasses.dataclass
class Names:
    """Whether Edges refuses ``name`` on launches (the lifecycle's row name-refused).

    Learned by an earlier sync (kept in the state) or during this one; shared by what launches
    (:class:`Executor`) and what writes the state (the tap's flush), each given it when built.
    """

    refused: bool = False


@dataclasses.dataclass(frozen=True)
class Executor:
    """Plans and sends every partition's step as the sync starts.

    Every collaborator is given when it is built and never replaced (frozen): ``flush`` above
    all, which must write a STATE before every send decided after the start's batch.
    """

    sender: Sender
    poller: Poller
    logger: logging.Logger
    flush: Callable[[], None]
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    caps: Callable[[Tracked], Caps]
    summary: SyncSummary
    tracked: dict[PartitionKey, Tracked]
    names: Names
    _unsent: set[PartitionKey] = dataclasses.field(default_factory=set)  # written, not sent

    def taken(self) -> set[str]:
        """The runs the partitions of this sync own."""
        return {uid for tr in self.tracked.values() if (uid := tr.bookmark.run_uid)}

    def plan(self, tr: Tracked, run: Run | None, planned: list[Planned]) -> None:
        """Decide; write what will be sent into the bookmark (not flushed yet)."""
        bookmark = tr.bookmark
        if bookmark.run_uid is not None and run is None and bookmark.pending_launch is None:
            run = self.poller.get_run_or_none(bookmark.run_uid)  # confirm before a launch
        step = decide(bookmark, run, self._wanted(tr), full=tr.partition.full)
        self._write_ahead(tr, step, run)
        planned.append(Planned(tr, step, run, bookmark))

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
            named = not self.names.refused
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

    def execute(self, planned: Planned) -> None:
        """Send the step's request; let the lifecycle decide what an answer leads to."""
        tr, step, run, old = planned  # old: the bookmark before anything was written ahead
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
            if step.grown is not None or step.unnamed:
                self.logger.log(step.level, "%s: %s.", tr.partition.label, step.reason)
            if step.grown is not None:
                limit = step.grown.max_results  # Edges takes no more for this action
                grown = dataclasses.replace(old, grown=step.grown, cap_limit=limit)
                old = unsent_launch_dropped(grown)
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
        outcome = self.sender.launch(tr.partition, pending, self.taken())
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
        tr.sent = True
        return None

    def _refuse_names(self) -> None:
        """Row name-refused: from now on launch without a name, those written ahead too."""
        self.names.refused = True
        for key in self._unsent:
            tr = self.tracked[key]
            launch = tr.bookmark.pending_launch
            if launch is not None and launch.named:
                unnamed = dataclasses.replace(launch, named=False)
                tr.keep(dataclasses.replace(tr.bookmark, pending=unnamed))

    def _continue(self, tr: Tracked, run: Run, old: Bookmark) -> tuple[Step, Run | None] | None:
        """Continue; None once the run moved on, else the step Edges' answer leads to."""
        outcome = self.sender.continue_run(tr.partition, run)
        if isinstance(outcome, Started):
            tr.track(outcome.run, self.clock(), before=run)
            self.logger.info("%s: continued run %s.", tr.partition.label, run.uid)
            self.summary.continued += 1
            tr.sent = True
            return None
        now = None if isinstance(outcome, Gone) else self.poller.get_run_or_none(run.uid)
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
        return wanted_max_results(tr.bookmark, self.caps(tr))


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
