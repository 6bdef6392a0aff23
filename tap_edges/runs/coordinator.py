"""The run lifecycle of every partition of one sync: executes what :mod:`.lifecycle` decides.

Nothing here knows Singer. The stream layer hands in partitions with their bookmarks and a
``save`` callback that puts a bookmark in the state; ``flush`` writes a STATE message.

* :meth:`RunCoordinator.start` decides every partition's step, writes every launch and
  continue into the state (one STATE) before any is sent, then sends them, so a sync takes
  about as long as its slowest run and a sync killed meanwhile is resumed without a second
  paid run;
* the steps are planned and sent by :mod:`.executing`; what a request answers goes back to
  :mod:`.lifecycle` for the next step (a refused
  continue, a refused launch at a grown cap) until the partition has a run to wait for or
  fails;
* :meth:`RunCoordinator.records` waits for the partition's run (:mod:`.polling`), reads its
  new items (:mod:`tap_edges.batches`) and marks the batch consumed in the bookmark.
"""

from __future__ import annotations

import dataclasses
import math
import time
import typing as t

from tap_edges import errors
from tap_edges.batches.reading import read_batch
from tap_edges.lifecycle import Caps
from tap_edges.runs import consuming
from tap_edges.runs.adopting import adopt_lost_launches
from tap_edges.runs.executing import Executor, Names, Planned
from tap_edges.runs.partitions import Partition, PartitionKey, Tracked
from tap_edges.runs.polling import Poller, by_uid
from tap_edges.runs.sending import Sender
from tap_edges.runs.summary import SyncSummary

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

    from tap_edges.api.client import EdgesClient
    from tap_edges.model import Batch, Run
    from tap_edges.state import Bookmark

# A STATE holds every partition: with thousands of them, one per emitted batch would make the
# output grow with the square of the partitions. At most about this many are flushed while
# batches are emitted (a sync killed in between re-reads the batches emitted since).
MAX_EMIT_STATES = 20


@dataclasses.dataclass(frozen=True)
class RunCoordinator:
    """Drives the Edges runs of every partition of one sync.

    Every collaborator (``flush`` above all, which the executor calls before each send it
    decides after the start's batch) is given when the coordinator is built and can never be
    replaced: the coordinator is frozen, and what it builds from them is built once, here.
    """

    client: EdgesClient
    logger: logging.Logger
    flush: Callable[[], None]
    poll_interval: float = 15.0
    run_timeout: float = 3600.0
    callback_url: str | None = None
    adaptive: bool = True
    ceiling: int = 5000
    confirm_tries: int = 3
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    failures: list[errors.EdgesError] = dataclasses.field(default_factory=list)
    metrics_logger: logging.Logger | None = None
    _tracked: dict[PartitionKey, Tracked] = dataclasses.field(default_factory=dict)
    summary: SyncSummary = dataclasses.field(default_factory=SyncSummary)
    names: Names = dataclasses.field(default_factory=Names)  # Edges refuses ``name``
    wall_clock: Callable[[], float] = time.time
    _positional: set[str] = dataclasses.field(default_factory=set)  # streams said so of
    _sender: Sender = dataclasses.field(init=False)
    _poller: Poller = dataclasses.field(init=False)
    _executor: Executor = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        """Build the sender, the poller and the executor from the coordinator's settings."""
        sender = Sender(self.client, self.logger, self.sleep, self.callback_url, self.confirm_tries)
        poller = Poller(
            self.client, self.logger, self.poll_interval, self.run_timeout, self.clock, self.sleep
        )
        executor = Executor(
            sender=sender,
            poller=poller,
            logger=self.logger,
            flush=self.flush,
            clock=self.clock,
            wall_clock=self.wall_clock,
            caps=self._caps,
            summary=self.summary,
            tracked=self._tracked,
            names=self.names,
        )
        for name, value in (("_sender", sender), ("_poller", poller), ("_executor", executor)):
            object.__setattr__(self, name, value)  # frozen: built once, here

    @property
    def possible_losses(self) -> int:
        """Partitions whose batch was full (Edges may have dropped items)."""
        return self.summary.possible_losses

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
        adopt_lost_launches(self._sender, lost, known, self._executor.taken(), self.logger)
        planned: list[Planned] = []
        for tr in tracked:
            if tr.error is None:
                run = known.get(tr.bookmark.run_uid or "")
                self._guarded(tr, self._executor.plan, tr, run, planned)
        self.flush()  # every launch and continue is in the state before any is sent
        for one in planned:
            self._guarded(one.tr, self._executor.execute, one)
        self.flush()

    def _guarded(self, tr: Tracked, work: Callable[..., None], *args: t.Any) -> None:  # noqa: ANN401
        """Run one partition's work, keeping its error for its turn (a rejected key stops all)."""
        try:
            work(*args)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            tr.error = exc

    # -- records: wait for the partition's run, then read its new items -----------------

    def records(self, key: PartitionKey, *, flush: bool = True) -> Iterator[dict[str, t.Any]]:
        """Yield the partition's new items; failures are logged and collected, not raised.

        Args:
            key: The partition's key.
            flush: Whether the batch's STATE may be flushed now (a listing's is not: its
                reader says when it counts as read).

        Yields:
            Every item not emitted before (from the run :meth:`run_uid` names).
        """
        tr = self._tracked[key]
        try:
            if tr.error is not None:
                raise tr.error
            run = self._poller.wait(tr, self._tracked.values())
            expected = consuming.expected(tr.bookmark, run)
            batch = yield from read_batch(
                self.client, run.uid, expected, tr.partition.label, self.logger
            )
            self._consumed(tr, run, batch, flush=flush)
            consuming.check_outcome(tr, run, self.logger)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            self._fail(tr, exc)

    def refuses_names(self) -> bool:
        """Whether Edges refuses ``name`` on launches (learned now or by an earlier sync)."""
        return self.names.refused

    def _caps(self, tr: Tracked) -> Caps:
        return Caps(tr.partition.max_results, adaptive=self.adaptive, ceiling=self.ceiling)

    def bookmarks(self) -> list[Bookmark]:
        """Every partition's bookmark now."""
        return [tr.bookmark for tr in self._tracked.values()]

    def sent(self, key: PartitionKey) -> bool:
        """Whether this sync launched or continued a partition's run (and it did not fail)."""
        tr = self._tracked.get(key)
        return tr is not None and tr.sent and tr.error is None

    def bookmark(self, key: PartitionKey) -> Bookmark:
        """A partition's bookmark now."""
        return self._tracked[key].bookmark

    def run_uid(self, key: PartitionKey) -> str | None:
        """The run whose items :meth:`records` yields for a partition."""
        return self._tracked[key].bookmark.run_uid

    def failed(self, key: PartitionKey) -> bool:
        """Whether a partition of this sync failed (its start or its read)."""
        tr = self._tracked.get(key)
        return tr is not None and tr.error is not None

    def _fail(self, tr: Tracked, exc: errors.EdgesError) -> None:
        if not isinstance(exc, errors.RunError):
            exc = errors.RunError(tr.partition.label, tr.bookmark.run_uid, str(exc))
        self.logger.error("%s", exc)
        self.failures.append(exc)
        tr.error = exc

    def _consumed(self, tr: Tracked, run: Run, batch: Batch, *, flush: bool = True) -> None:
        """Mark the batch emitted in the bookmark, and say so loudly when items may be lost."""
        done = consuming.consumed(tr.bookmark, run, batch, self._caps(tr))
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
        self.summary.batches += 1
        every = math.ceil(len(self._tracked) / MAX_EMIT_STATES)  # batches between two STATEs
        if flush and self.summary.batches % every == 0:
            self.flush()
        if consuming.report_batch(
            self.logger,
            self.metrics_logger,
            tr.partition,
            run_uid=tr.bookmark.run_uid,
            batch=batch,
            cap=done.cap,
            first=done.first,
            grew=done.grew,
        ):
            self.summary.possible_losses += 1
