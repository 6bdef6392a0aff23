"""The run lifecycle of every partition: decide, launch or continue, wait, read outputs.

Nothing here knows Singer. The stream layer hands in partitions with their bookmarks and a
``save`` callback that persists a bookmark (and flushes a STATE message) at once.

One sync, per partition (see ``../shared/design.md``):

* no run in the bookmark, or the run is unknown to the API: launch a fresh incremental run;
* the run is in flight (an interrupted sync left it so): wait for it, never continue it twice;
* the run finished but its batch was not emitted yet: read that batch first, then continue;
* the run finished and its batch was emitted: continue it.

Every launch and continue happens in :meth:`RunCoordinator.start`, before any partition waits,
so a sync takes about as long as its slowest run. Waiting polls the status of many runs per
request. Reading drops items already emitted (by ``extracted_at``), so the tap is correct
whether Edges returns cumulative outputs or only the newest iteration.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t

from tap_edges import errors
from tap_edges.actions import failure_hint
from tap_edges.outputs import Batch, new_items, report_possible_loss
from tap_edges.state import Bookmark, parse_time

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

    from tap_edges.client import EdgesClient

TERMINAL = frozenset(
    {"SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "BLOCKED", "STOPPED", "INVALID"},
)
UNSUCCESSFUL = frozenset({"FAILED", "BLOCKED", "STOPPED", "INVALID"})
IN_FLIGHT = frozenset({"CREATED", "QUEUED", "SCHEDULED", "RUNNING", "PENDING"})
FIRST_POLL_SECONDS = 1.0

PartitionKey = tuple[str, str, str | None]


@dataclasses.dataclass(frozen=True)
class Partition:
    """One (stream, identity, input) whose items one Edges run delivers."""

    stream: str
    action: str
    identity_id: str
    input_field: str | None
    input_value: str | None
    max_results: int
    continue_documented: bool = True

    @property
    def key(self) -> PartitionKey:
        """Identity of the partition within a sync."""
        return (self.stream, self.identity_id, self.input_value)

    @property
    def label(self) -> str:
        """Human label used in every log line about the partition."""
        where = f"identity {self.identity_id}"
        if self.input_value:
            where += f", {self.input_field} {self.input_value}"
        return f"{self.stream}[{where}]"

    def launch_body(self, callback_url: str | None) -> dict[str, t.Any]:
        """The body of ``POST /actions/{action}/run/async`` for this partition."""
        inputs = {self.input_field: self.input_value} if self.input_field else {}
        body: dict[str, t.Any] = {
            "name": f"tap-edges {self.stream} {self.identity_id} {self.input_value or ''}"[:255],
            "identity_ids": [self.identity_id],
            "inputs": [inputs],
            "parameters": {"sync_mode": "incremental", "max_results": self.max_results},
        }
        if callback_url:
            body["callback"] = {"url": callback_url, "on": "final"}
        return body


@dataclasses.dataclass
class _Tracked:
    """What the coordinator knows of one partition during a sync."""

    partition: Partition
    bookmark: Bookmark
    save: Callable[[Bookmark], None]
    read_first: bool = False
    error: errors.EdgesError | None = None
    status: str | None = None
    run: dict[str, t.Any] | None = None
    since: float = 0.0


@dataclasses.dataclass
class RunCoordinator:
    """Drives the Edges runs of every partition of one sync."""

    client: EdgesClient
    logger: logging.Logger
    poll_interval: float = 15.0
    run_timeout: float = 3600.0
    callback_url: str | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    failures: list[errors.EdgesError] = dataclasses.field(default_factory=list)
    possible_losses: int = 0
    metrics_logger: logging.Logger | None = None
    _tracked: dict[PartitionKey, _Tracked] = dataclasses.field(default_factory=dict)
    _interval: float = 0.0

    # -- start: one decision per partition, every launch/continue before any wait --------

    def start(
        self, entries: Iterable[tuple[Partition, Bookmark, Callable[[Bookmark], None]]]
    ) -> None:
        """Launch or continue the run of every partition (or plan to wait for it).

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
        for tr in tracked:
            self._decide_safely(tr, known.get(tr.bookmark.run_uid or ""))

    def _decide_safely(self, tr: _Tracked, run: dict[str, t.Any] | None) -> None:
        """Decide, keeping a partition's error for its turn (a rejected key stops all)."""
        try:
            self._decide(tr, run)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            tr.error = exc

    def _decide(self, tr: _Tracked, run: dict[str, t.Any] | None) -> None:
        if tr.bookmark.run_uid is not None and run is None:
            run = self._get_run_or_none(tr.bookmark.run_uid)  # confirm before paying a launch
        if tr.bookmark.run_uid is None:
            self._launch(tr)
        elif run is None:
            self._relaunch(tr, "is unknown to the Edges API")
        elif _status(run) not in TERMINAL:
            self._track(tr, run, since=self.clock())
            self.logger.info(
                "%s: run %s is still %s (left by an earlier sync); waiting for it.",
                tr.partition.label,
                tr.bookmark.run_uid,
                tr.status,
            )
            self._save(tr, pending=True)
        elif tr.bookmark.pending:
            self._track(tr, run, since=self.clock())
            tr.read_first = True
        else:
            self._continue(tr)

    def _launch(self, tr: _Tracked) -> None:
        answer = self.client.launch(
            tr.partition.action, tr.partition.launch_body(self.callback_url)
        )
        tr.bookmark = Bookmark(run_uid=answer["run_uid"], pending=True)
        tr.save(tr.bookmark)
        self._track(tr, {"uid": answer["run_uid"], "status": "QUEUED"}, since=self.clock())
        self.logger.info("%s: launched run %s.", tr.partition.label, answer["run_uid"])

    def _relaunch(self, tr: _Tracked, why: str) -> None:
        self.logger.warning(
            "%s: run %s %s; launching a fresh run.", tr.partition.label, tr.bookmark.run_uid, why
        )
        self._launch(tr)

    def _continue(self, tr: _Tracked) -> None:
        uid = t.cast("str", tr.bookmark.run_uid)
        try:
            run = self.client.continue_run(uid)
        except errors.NotFoundError:
            self._relaunch(tr, "no longer exists")
            return
        except errors.APIError as exc:
            if exc.status >= 500 or exc.status == 429:  # noqa: PLR2004
                raise
            self._continue_refused(tr, exc)
            return
        self._save(tr, pending=True)
        self._track(tr, {**run, "status": "SCHEDULED"}, since=self.clock())
        self.logger.info("%s: continued run %s.", tr.partition.label, uid)

    def _continue_refused(self, tr: _Tracked, exc: errors.APIError) -> None:
        """Act on what the run says after Edges refused to continue it."""
        uid = t.cast("str", tr.bookmark.run_uid)
        try:
            run = self.client.get_run(uid)
        except errors.NotFoundError:
            self._relaunch(tr, "no longer exists")
            return
        if _status(run) not in TERMINAL:
            self._save(tr, pending=True)
            self._track(tr, run, since=self.clock())
            return
        reason = f"Edges refused to continue it ({exc.label or exc.status}: {exc.detail or exc})"
        raise errors.RunError(tr.partition.label, uid, f"{reason}; {_refusal_hint(tr, run)}")

    def _track(self, tr: _Tracked, run: dict[str, t.Any], *, since: float) -> None:
        tr.run, tr.status, tr.since = run, _status(run), since

    def _save(self, tr: _Tracked, *, pending: bool) -> None:
        if tr.bookmark.pending != pending:
            tr.bookmark.pending = pending
            tr.save(tr.bookmark)

    # -- records: wait for the partition's run, then read its new items -----------------

    def records(self, key: PartitionKey) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """Yield the partition's new items; failures are logged and collected, not raised.

        Args:
            key: The partition's key.

        Yields:
            (run uid, item) for every item not emitted before.
        """
        tr = self._tracked[key]
        try:
            if tr.error is not None:
                raise tr.error
            if tr.read_first:
                yield from self._read(tr)
                tr.read_first = False
                self._continue(tr)
            self._wait(tr)
            yield from self._read(tr)
            self._check_outcome(tr)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            self._fail(tr, exc)

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
            raise errors.RunError(
                tr.partition.label,
                tr.bookmark.run_uid,
                f"run ended {tr.status} ({what}); its outputs were emitted and the next sync "
                "continues it",
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
            self._track(tr, run, since=tr.since)
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

    def _read(self, tr: _Tracked) -> Iterator[tuple[str, dict[str, t.Any]]]:
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

        items = new_items(self.client.output_pages(uid), mark, skip)
        while True:
            try:
                item = next(items)
            except StopIteration as done:
                batch: Batch = done.value
                break
            yield uid, item
        self._consumed(tr, batch, first=mark is None)

    def _consumed(self, tr: _Tracked, batch: Batch, *, first: bool) -> None:
        """Mark the batch emitted in the bookmark, and say so loudly when items may be lost."""
        if batch.newest is not None:
            tr.bookmark.consumed_through = batch.newest.isoformat().replace("+00:00", "Z")
        tr.bookmark.pending = False
        tr.save(tr.bookmark)
        label, uid, cap = tr.partition.label, tr.bookmark.run_uid, tr.partition.max_results
        self.logger.info("%s: run %s delivered %d new item(s).", label, uid, batch.count)
        if batch.undated:
            self.logger.warning(
                "%s: run %s: %d item(s) had no readable extracted_at; they were emitted and will "
                "be emitted again next sync (targets dedupe them on the primary key).",
                label,
                uid,
                batch.undated,
            )
        if batch.count < cap:
            return
        if first:
            self.logger.info(
                "%s: the first extraction hit max_results (%d); older items were not fetched.",
                label,
                cap,
            )
            return
        self.possible_losses += 1
        tags = {"stream": tr.partition.stream, "partition": label, "run_uid": uid}
        report_possible_loss(self.logger, self.metrics_logger, tags, batch.count, cap)


def check_identities(client: EdgesClient, identity_ids: Iterable[str]) -> None:
    """Check, with read-only calls, that every identity exists and is an engagement identity.

    Args:
        client: The API client.
        identity_ids: The configured identities.

    Raises:
        IdentityError: An identity is unknown or cannot run incremental extractions.
    """
    for identity_id in identity_ids:
        try:
            identity = client.get_identity(identity_id)
        except errors.NotFoundError:
            msg = f"identity {identity_id} is not known to Edges (check the uid)"
            raise errors.IdentityError(msg) from None
        kind = identity.get("type")
        if kind is not None and kind != "engagement":
            msg = (
                f"identity {identity_id} is a {kind!s} identity; incremental runs need an "
                "engagement identity (Edges developer settings)"
            )
            raise errors.IdentityError(msg)


def _refusal_hint(tr: _Tracked, run: dict[str, t.Any]) -> str:
    """The likeliest reason Edges refused to continue a finished run, and what to do."""
    if (run.get("parameters") or {}).get("sync_mode") != "incremental":
        return (
            "it was not launched with sync_mode incremental; remove this partition from the "
            "state so the tap launches an incremental run"
        )
    if not tr.partition.continue_documented:
        return (
            f"Edges documents continue only for some actions, not {tr.partition.action}; "
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


def _status(run: dict[str, t.Any]) -> str:
    status = run.get("status")
    return status.upper() if isinstance(status, str) else "UNKNOWN"
