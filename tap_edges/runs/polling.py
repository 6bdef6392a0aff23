"""Waiting for runs: the status of many runs per request, polled quickly then less often."""

from __future__ import annotations

import dataclasses
import time
import typing as t

from tap_edges import errors
from tap_edges.lifecycle import QUEUED, Poll, after_poll, is_terminal, timed_out
from tap_edges.model import Run

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable

    from tap_edges.api.client import EdgesClient
    from tap_edges.runs.partitions import Tracked

FIRST_POLL_SECONDS = 0.25  # then doubling up to poll_interval_seconds


@dataclasses.dataclass
class _Pace:
    """The wait before the next poll: short after runs start, doubling up to the interval."""

    seconds: float = FIRST_POLL_SECONDS  # a poller polls quickly first, restarted or not


@dataclasses.dataclass(frozen=True)
class Poller:
    """Waits for partitions' runs; one poll refreshes every run in flight.

    Its collaborators are given when it is built and never replaced (frozen).
    """

    client: EdgesClient
    logger: logging.Logger
    poll_interval: float = 15.0
    run_timeout: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _pace: _Pace = dataclasses.field(default_factory=_Pace)

    def restart(self) -> None:
        """Poll quickly again (new runs were just started)."""
        self._pace.seconds = min(FIRST_POLL_SECONDS, self.poll_interval)

    def wait(self, tr: Tracked, everyone: Iterable[Tracked]) -> Run:
        """Wait until the partition's run is terminal, polling every run in flight meanwhile.

        Args:
            tr: The partition waited for.
            everyone: Every partition of the sync (each poll refreshes all those in flight).

        Returns:
            The run, terminal.

        Raises:
            EdgesError: The partition failed meanwhile, or its run is past run_timeout_seconds.
        """
        while tr.run is None or not is_terminal(tr.run):
            if tr.error is not None:
                raise tr.error
            if tr.run is None:
                raise errors.RunError(tr.partition.label, tr.bookmark.run_uid, "no run to wait for")
            elapsed = self.clock() - tr.since
            queued = sum(1 for other in everyone if other.run and other.run.status in QUEUED)
            if timed_out(elapsed, self.run_timeout):
                raise errors.RunError(
                    tr.partition.label,
                    tr.bookmark.run_uid,
                    f"still {tr.run.status} after {elapsed:.0f}s (run_timeout_seconds)"
                    f"{_queueing(tr.run, queued)}; it stays in the state and the next sync "
                    "waits for it",
                )
            self.logger.info(
                "Waiting for %s: run %s %s%s, %.0fs elapsed.",
                tr.partition.label,
                tr.bookmark.run_uid,
                tr.run.status,
                _queueing(tr.run, queued),
                elapsed,
            )
            pause = min(self._pace.seconds, self.poll_interval)
            self.sleep(min(pause, max(self.run_timeout - elapsed, 0.0)))
            self._pace.seconds = min(self._pace.seconds * 2, self.poll_interval)
            self.poll(everyone)
        return tr.run

    def poll(self, everyone: Iterable[Tracked]) -> None:
        """Refresh the status of every run in flight with as few requests as possible."""
        waiting = {
            tr.bookmark.run_uid: tr
            for tr in everyone
            if tr.bookmark.run_uid and tr.error is None and not (tr.run and is_terminal(tr.run))
        }
        seen = by_uid(self.client.list_runs(sorted(waiting)))
        for uid, tr in waiting.items():
            now = seen.get(uid) or self.get_run_or_none(uid)
            found = after_poll(tr.before, now)
            if found is Poll.GONE:
                tr.error = errors.RunError(
                    tr.partition.label, uid, "the run disappeared from Edges while in flight"
                )
            elif found is not Poll.NOT_MOVED and now is not None:
                tr.run, tr.before = now, None
            if found is Poll.UNKNOWN and now is not None:
                self.logger.warning(
                    "%s: run %s has a status the tap does not know (%r); still waiting.",
                    tr.partition.label,
                    uid,
                    now.status,
                )

    def get_run_or_none(self, uid: str) -> Run | None:
        """``GET /runs/{uid}``; None when Edges does not know the run."""
        try:
            return Run.from_json(self.client.get_run(uid))
        except errors.NotFoundError:
            return None


def by_uid(objects: Iterable[object]) -> dict[str, Run]:
    """Read run objects, indexed by uid (objects that are not runs are left out)."""
    runs = (Run.from_json(obj) for obj in objects)
    return {run.uid: run for run in runs if run is not None}


def _queueing(run: Run, queued: int) -> str:
    """Words for a run that Edges has not started: it queues runs past the plan's concurrency."""
    if run.status not in QUEUED:
        return ""
    return (
        f": Edges is queueing it ({queued} run(s) of this sync queued; plans run a few runs "
        "at a time), not stuck"
    )
