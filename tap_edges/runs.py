"""The run lifecycle of every partition: launch or continue, wait, read outputs.

Nothing here knows Singer. The stream layer hands in partitions with their bookmarks and a
``save`` callback that persists a bookmark (and flushes a STATE message) at once. What to do
with each partition is decided by :func:`tap_edges.lifecycle.decide` (its table is in its
docstring); the :class:`RunCoordinator` executes the steps:

* every launch and continue happens in :meth:`RunCoordinator.start`, before any partition
  waits, so a sync takes about as long as its slowest run;
* the bookmark says what is about to be sent before it is sent (a launch's token, a
  continue's starting point), so a sync killed meanwhile is resumed without a second run;
* a launch or continue that gets no clear answer is never sent again blindly: the coordinator
  looks at Edges first (the run's status, or a run carrying the launch's token in its name);
* waiting polls the status of many runs per request; reading drops items already emitted
  (by ``extracted_at``), so the tap is correct whether Edges returns cumulative outputs or
  only the newest iteration's.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import secrets
import time
import typing as t

from tap_edges import errors
from tap_edges.actions import failure_hint
from tap_edges.lifecycle import (
    TERMINAL,
    Action,
    Step,
    applied,
    decide,
    run_max_results,
    status_of,
    wanted_max_results,
)
from tap_edges.outputs import Batch, Expected, read_new, report_batch
from tap_edges.partitions import Partition, PartitionKey, token_of
from tap_edges.state import Bookmark, fingerprint, parse_time

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

    from tap_edges.client import EdgesClient

UNSUCCESSFUL = frozenset({"FAILED", "BLOCKED", "STOPPED", "INVALID"})
IN_FLIGHT = frozenset({"CREATED", "QUEUED", "SCHEDULED", "RUNNING", "PENDING"})
FIRST_POLL_SECONDS = 0.25  # then doubling up to poll_interval_seconds
# A STATE holds every partition: with thousands of them, one per emitted batch would make the
# output grow with the square of the partitions. At most about this many are flushed while
# batches are emitted (a sync killed in between re-reads the batches emitted since).
MAX_EMIT_STATES = 20


@dataclasses.dataclass
class _Tracked:
    """What the coordinator knows of one partition during a sync."""

    partition: Partition
    bookmark: Bookmark
    save: Callable[[Bookmark], None]
    error: errors.EdgesError | None = None
    status: str | None = None
    run: dict[str, t.Any] | None = None
    since: float = 0.0
    before: dict[str, t.Any] | None = None  # the run before this sync continued it

    def keep(self, bookmark: Bookmark) -> None:
        """Make ``bookmark`` the partition's bookmark and put it in the state (not flushed)."""
        self.bookmark = bookmark
        self.save(bookmark)


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
    _tracked: dict[PartitionKey, _Tracked] = dataclasses.field(default_factory=dict)
    _interval: float = 0.0
    _consumed_since_flush: int = 0

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
        tracked = [_Tracked(p, b, save) for p, b, save in entries]
        self._tracked.update((tr.partition.key, tr) for tr in tracked)
        self._interval = min(FIRST_POLL_SECONDS, self.poll_interval)
        uids = sorted({tr.bookmark.run_uid for tr in tracked if tr.bookmark.run_uid})
        known = _by_uid(self.client.list_runs(uids)) if uids else {}
        self._adopt_launches([tr for tr in tracked if tr.bookmark.pending_launch], known)
        sends: list[tuple[_Tracked, Callable[[], None]]] = []
        for tr in tracked:
            if tr.error is None:
                run = known.get(tr.bookmark.run_uid or "")
                self._guarded(tr, self._plan, tr, run, sends)
        self.flush()  # every launch and continue is in the state before any is sent
        for tr, send in sends:
            self._guarded(tr, send)
        self.flush()

    def _guarded(self, tr: _Tracked, work: Callable[..., None], *args: t.Any) -> None:  # noqa: ANN401
        """Run one partition's work, keeping its error for its turn (a rejected key stops all)."""
        try:
            work(*args)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            tr.error = exc

    def _adopt_launches(self, pending: list[_Tracked], known: dict[str, dict[str, t.Any]]) -> None:
        """Find the runs of launches sent by an earlier sync whose answers were lost."""
        by_action: dict[str, dict[str, _Tracked]] = collections.defaultdict(dict)
        for tr in pending:
            token = t.cast("dict[str, t.Any]", tr.bookmark.pending_launch)["token"]
            by_action[tr.partition.action][token] = tr
        for action, wanted in by_action.items():
            try:
                found = self.client.find_named_runs(action, _among(wanted), len(wanted))
            except errors.AuthError:
                raise
            except errors.EdgesError as exc:  # launching blind could start a second run
                for tr in wanted.values():
                    tr.error = exc
                continue
            for token, run in found.items():
                self._adopt(wanted[token], run, "an earlier sync launched it")
                known[str(run.get("uid"))] = run

    def _adopt(self, tr: _Tracked, run: dict[str, t.Any], how: str) -> str:
        pending = t.cast("dict[str, t.Any]", tr.bookmark.pending_launch)
        uid = str(run.get("uid") or run.get("run_uid"))
        self.logger.info(
            "%s: adopting run %s (%s and its answer was lost).", tr.partition.label, uid, how
        )
        _keep_new_run(tr, uid, pending["max_results"])
        return uid

    def _plan(
        self,
        tr: _Tracked,
        run: dict[str, t.Any] | None,
        sends: list[tuple[_Tracked, Callable[[], None]]],
    ) -> None:
        """Decide; write what will be sent into the bookmark and queue the sending."""
        bookmark = tr.bookmark
        if bookmark.run_uid is not None and run is None and bookmark.pending_launch is None:
            run = self._get_run_or_none(bookmark.run_uid)  # confirm before paying a launch
        step = decide(bookmark, run, self._wanted(tr))
        if step.action is Action.LAUNCH:
            sends.append((tr, self._prepare_launch(tr, step, run)))
        elif step.action is Action.CONTINUE:
            sends.append((tr, self._prepare_continue(tr, t.cast("dict[str, t.Any]", run))))
        else:
            self._track(tr, t.cast("dict[str, t.Any]", run))
            self.logger.info(
                "%s: run %s %s; %s.",
                tr.partition.label,
                bookmark.run_uid,
                step.reason,
                "waiting for it"
                if step.action is Action.WAIT
                else "reading it (it is continued next sync)",
            )

    def _wanted(self, tr: _Tracked) -> int:
        return wanted_max_results(
            tr.partition.max_results, tr.bookmark, adaptive=self.adaptive, ceiling=self.ceiling
        )

    def _now(self, send: Callable[[], None]) -> None:
        """Send a prepared request at once (outside the start's batch): flush its state first."""
        self.flush()
        send()

    def _prepare_launch(
        self, tr: _Tracked, step: Step, run: dict[str, t.Any] | None
    ) -> Callable[[], None]:
        """Put a launch's token in the bookmark; return what sends it."""
        old = tr.bookmark
        if old.run_uid is not None and old.pending_launch is None:
            self.logger.log(
                step.level,
                "%s: run %s %s; launching a fresh run with max_results %d.",
                tr.partition.label,
                old.run_uid,
                step.reason,
                step.max_results,
            )
        token = secrets.token_hex(8)
        pending = {"op": "launch", "token": token, "max_results": step.max_results}
        tr.keep(dataclasses.replace(old, pending=pending))
        return functools.partial(self._launch, tr, step, run, old)

    def _launch(
        self, tr: _Tracked, step: Step, run: dict[str, t.Any] | None, old: Bookmark
    ) -> None:
        token = t.cast("dict[str, t.Any]", tr.bookmark.pending_launch)["token"]
        body = tr.partition.launch_body(
            self.callback_url, token=token, max_results=step.max_results
        )
        try:
            uid = self._send_launch(tr, body, token)
        except errors.APIError as exc:
            if not self._grown_cap_refused(tr, old, step, exc, run):
                raise
            return
        _keep_new_run(tr, uid, step.max_results)
        self._track(tr, {"uid": uid, "status": "QUEUED"})
        self.logger.info("%s: launched run %s.", tr.partition.label, uid)

    def _send_launch(self, tr: _Tracked, body: dict[str, t.Any], token: str) -> str:
        """Launch; after a failure without a clear answer, adopt the run if Edges made it."""
        action = tr.partition.action
        for attempt in range(1, self.confirm_tries + 1):
            try:
                return str(self.client.launch(action, body)["run_uid"])
            except errors.AmbiguousError as exc:  # noqa: PERF203 (look, then maybe resend)
                found = self.client.find_named_runs(action, _among({token: tr}), 1)
                if token in found:
                    return self._adopt(tr, found[token], f"this sync launched it: {exc}")
                if attempt == self.confirm_tries:
                    raise
                self._not_applied(tr, "launch", exc, attempt)
        raise AssertionError  # pragma: no cover (the loop returns or raises)

    def _grown_cap_refused(
        self,
        tr: _Tracked,
        old: Bookmark,
        step: Step,
        exc: errors.APIError,
        run: dict[str, t.Any] | None,
    ) -> bool:
        """Keep the old run when Edges refuses a cap that adaptive_max_results grew to."""
        if not (400 <= exc.status < 500) or step.max_results <= tr.partition.max_results:  # noqa: PLR2004
            return False
        cap = run_max_results(run, old) or tr.partition.max_results
        self.logger.warning(
            "%s: Edges refused max_results %d (%s); staying at %d for this action.",
            tr.partition.label,
            step.max_results,
            exc.label or exc.status,
            cap,
        )
        tr.keep(
            dataclasses.replace(
                old, grown={"setting": tr.partition.max_results, "max_results": cap}
            )
        )
        if run is not None and decide(tr.bookmark, run, cap).action is Action.CONTINUE:
            self._now(self._prepare_continue(tr, run))
        elif run is not None:
            self._track(tr, run)
        return True

    def _prepare_continue(self, tr: _Tracked, run: dict[str, t.Any]) -> Callable[[], None]:
        """Put a continue (and the run's updated_at) in the bookmark; return what sends it."""
        pending = {"op": "continue", "updated_at": run.get("updated_at")}
        tr.keep(dataclasses.replace(tr.bookmark, pending=pending))
        return functools.partial(self._continue, tr, run)

    def _continue(self, tr: _Tracked, run: dict[str, t.Any]) -> None:
        uid = t.cast("str", tr.bookmark.run_uid)
        try:
            answer, confirmed = self._send_continue(tr, run)
        except errors.NotFoundError:
            step = Step(Action.LAUNCH, "no longer exists", self._wanted(tr), logging.WARNING)
            self._now(self._prepare_launch(tr, step, None))
            return
        except errors.APIError as exc:
            if exc.status >= 500 or exc.status == 429:  # noqa: PLR2004
                raise
            self._continue_refused(tr, exc)
            return
        self._track(tr, answer if confirmed else {**answer, "status": "SCHEDULED"})
        tr.before = run
        self.logger.info("%s: continued run %s.", tr.partition.label, uid)

    def _send_continue(
        self, tr: _Tracked, before: dict[str, t.Any]
    ) -> tuple[dict[str, t.Any], bool]:
        """Continue; after a failure without a clear answer, look whether Edges applied it.

        Returns:
            The run object, and whether it was read back after an unclear answer.
        """
        uid = t.cast("str", tr.bookmark.run_uid)
        for attempt in range(1, self.confirm_tries + 1):
            try:
                return self.client.continue_run(uid), False
            except errors.AmbiguousError as exc:  # noqa: PERF203 (look, then maybe resend)
                now = self.client.get_run(uid)
                if applied(before, now):
                    self.logger.info(
                        "%s: run %s: the continue was applied (%s); its answer was lost (%s).",
                        tr.partition.label,
                        uid,
                        status_of(now),
                        exc,
                    )
                    return now, True
                if attempt == self.confirm_tries:
                    raise
                self._not_applied(tr, "continue", exc, attempt)
        raise AssertionError  # pragma: no cover (the loop returns or raises)

    def _not_applied(self, tr: _Tracked, what: str, exc: errors.EdgesError, attempt: int) -> None:
        delay = min(30.0, 2.0**attempt)
        self.logger.info(
            "%s: the %s was not applied (%s); sending it again in %.0fs.",
            tr.partition.label,
            what,
            exc,
            delay,
        )
        self.sleep(delay)

    def _continue_refused(self, tr: _Tracked, exc: errors.APIError) -> None:
        """Act on what the run says after Edges refused to continue it."""
        uid = t.cast("str", tr.bookmark.run_uid)
        run = self._get_run_or_none(uid)
        if run is None:
            step = Step(Action.LAUNCH, "no longer exists", self._wanted(tr), logging.WARNING)
            self._now(self._prepare_launch(tr, step, None))
            return
        if status_of(run) not in TERMINAL:  # another process continued it: read that
            self._track(tr, run)
            return
        step = decide(dataclasses.replace(tr.bookmark, pending=None), run, self._wanted(tr))
        if step.action is Action.LAUNCH:
            self._now(self._prepare_launch(tr, step, run))
            return
        reason = f"Edges refused to continue it ({exc.label or exc.status}: {exc.detail or exc})"
        raise errors.RunError(tr.partition.label, uid, f"{reason}; {_refusal_hint(tr.partition)}")

    def _track(self, tr: _Tracked, run: dict[str, t.Any]) -> None:
        tr.run, tr.status, tr.since, tr.before = run, status_of(run), self.clock(), None

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
            self._wait(tr)
            yield from self._read(tr)
            self._check_outcome(tr)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            self._fail(tr, exc)

    def run_uid(self, key: PartitionKey) -> str | None:
        """The run whose items :meth:`records` yields for a partition."""
        return self._tracked[key].bookmark.run_uid

    def _fail(self, tr: _Tracked, exc: errors.EdgesError) -> None:
        if not isinstance(exc, errors.RunError):
            exc = errors.RunError(tr.partition.label, tr.bookmark.run_uid, str(exc))
        self.logger.error("%s", exc)
        self.failures.append(exc)

    def _check_outcome(self, tr: _Tracked) -> None:
        run = tr.run or {}
        last_error = run.get("last_error")
        if not isinstance(last_error, dict):
            last_error = {}
        what = f"{last_error.get('label') or 'no label'}: {last_error.get('message') or '-'}"
        what += failure_hint(tr.partition, last_error.get("label"))
        if tr.status in UNSUCCESSFUL:
            after = "launches a fresh run" if tr.status == "INVALID" else "continues it"
            raise errors.RunError(
                tr.partition.label,
                tr.bookmark.run_uid,
                f"run ended {tr.status} ({what}); its outputs were emitted and the next sync "
                f"{after}",
            )
        if tr.status == "PARTIAL_SUCCEEDED":
            self.logger.warning(
                "%s: run %s ended PARTIAL_SUCCEEDED (%s); its outputs were emitted.",
                tr.partition.label,
                tr.bookmark.run_uid,
                what,
            )

    def _wait(self, tr: _Tracked) -> None:
        while tr.status not in TERMINAL:
            if tr.error is not None:
                raise tr.error
            elapsed = self.clock() - tr.since
            if elapsed >= self.run_timeout:
                raise errors.RunError(
                    tr.partition.label,
                    tr.bookmark.run_uid,
                    f"still {tr.status} after {elapsed:.0f}s (run_timeout_seconds); it stays in "
                    "the state and the next sync waits for it",
                )
            self.logger.info(
                "Waiting for %s: run %s %s, %.0fs elapsed.",
                tr.partition.label,
                tr.bookmark.run_uid,
                tr.status,
                elapsed,
            )
            self.sleep(min(self._interval, max(self.run_timeout - elapsed, 0.0)))
            self._interval = min(self._interval * 2, self.poll_interval)
            self._poll()

    def _poll(self) -> None:
        """Refresh the status of every run in flight with as few requests as possible."""
        waiting: dict[str, _Tracked] = {
            tr.bookmark.run_uid: tr
            for tr in self._tracked.values()
            if tr.bookmark.run_uid and tr.status not in TERMINAL and tr.error is None
        }
        seen = _by_uid(self.client.list_runs(sorted(waiting)))
        for uid, tr in waiting.items():
            run = seen.get(uid) or self._get_run_or_none(uid)
            if run is None:
                tr.error = errors.RunError(
                    tr.partition.label, uid, "the run disappeared from Edges while in flight"
                )
                continue
            if tr.before is not None and not applied(tr.before, run):
                continue  # the run still shows the iteration before this sync's continue
            tr.run, tr.status, tr.before = run, status_of(run), None
            if tr.status not in TERMINAL | IN_FLIGHT:
                self.logger.warning(
                    "%s: run %s has a status the tap does not know (%r); still waiting.",
                    tr.partition.label,
                    uid,
                    tr.status,
                )

    def _get_run_or_none(self, uid: str) -> dict[str, t.Any] | None:
        try:
            return self.client.get_run(uid)
        except errors.NotFoundError:
            return None

    def _read(self, tr: _Tracked) -> Generator[dict[str, t.Any], None, None]:
        """Page through the run's outputs and yield the items not emitted before."""
        uid = t.cast("str", tr.bookmark.run_uid)
        mark = parse_time(tr.bookmark.consumed_through)

        def skip(item: object) -> None:
            self.logger.warning(
                "%s: run %s: skipped an output item that is not an object (%s).",
                tr.partition.label,
                uid,
                type(item).__name__,
            )

        def fallback(why: str) -> None:
            self.logger.info(
                "%s: run %s: reading all its outputs (%s); items may be emitted twice.",
                tr.partition.label,
                uid,
                why,
            )

        before = (tr.bookmark.iteration or {}).get("output_count")
        now = (tr.run or {}).get("output_count")
        expected = Expected(
            mark=mark,
            layout=tr.bookmark.outputs,
            count_before=before if isinstance(before, int) else None,
            count_now=now if isinstance(now, int) else None,
        )
        batch = yield from read_new(self.client, uid, expected, skip, fallback)
        self._consumed(tr, batch)

    def _consumed(self, tr: _Tracked, batch: Batch) -> None:
        """Mark the batch emitted in the bookmark, and say so loudly when items may be lost."""
        old = tr.bookmark
        fresh = (old.pending or {}).get("op") in {"launch", "launched"}  # a run's first batch
        first = fresh and old.consumed_through is None  # ... and the partition's first ever
        cap = run_max_results(tr.run, old)
        full = cap is not None and batch.count >= cap
        grew = None
        if full and not fresh and self.adaptive and cap is not None and cap < self.ceiling:
            grew = {"setting": tr.partition.max_results, "max_results": min(2 * cap, self.ceiling)}
        newest = batch.newest.isoformat().replace("+00:00", "Z") if batch.newest else None
        tr.keep(
            dataclasses.replace(
                old,
                iteration=fingerprint(tr.run or {}),
                consumed_through=newest or old.consumed_through,
                pending=None,
                max_results=cap,
                grown=grew or old.grown,
                outputs=batch.layout,
            )
        )
        self._consumed_since_flush += 1
        if self._consumed_since_flush * MAX_EMIT_STATES >= len(self._tracked):
            self.flush()
            self._consumed_since_flush = 0
        if report_batch(
            self.logger,
            self.metrics_logger,
            tr.partition,
            run_uid=tr.bookmark.run_uid,
            batch=batch,
            cap=cap,
            first=first,
            grew=grew,
        ):
            self.possible_losses += 1


def _keep_new_run(tr: _Tracked, uid: str, max_results: int) -> None:
    """Make a launched (or adopted) run the partition's, its first batch not emitted yet.

    What was learned of how Edges serves outputs holds for the new run; what the old run
    served (``seen``) does not.
    """
    layout = tr.bookmark.outputs
    tr.keep(
        dataclasses.replace(
            tr.bookmark,
            run_uid=uid,
            iteration=None,
            pending={"op": "launched"},
            max_results=max_results,
            outputs=None if layout is None else {**layout, "seen": 0},
        )
    )


def _among(wanted: t.Mapping[str, object]) -> Callable[[str], str | None]:
    """A run-name matcher for :meth:`EdgesClient.find_named_runs`: the wanted tokens."""

    def match(name: str) -> str | None:
        token = token_of(name)
        return token if token in wanted else None

    return match


def _refusal_hint(partition: Partition) -> str:
    """The likeliest reason Edges refused to continue a finished run, and what to do."""
    if not partition.continue_documented:
        return (
            f"Edges documents continue only for some actions, not {partition.action}; "
            "this stream may not be incremental on your plan"
        )
    return "check that the identity is an engagement identity"


def _by_uid(runs: Iterable[dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """Index run objects by uid (``uid`` in run objects, ``run_uid`` in launch answers)."""
    indexed = {}
    for run in runs:
        uid = run.get("uid") or run.get("run_uid")
        if isinstance(uid, str):
            indexed[uid] = run
    return indexed
