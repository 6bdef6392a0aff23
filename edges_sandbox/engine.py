"""The runs engine: launches, continues, cancels and reads runs against the simulated world.

Incremental semantics: every iteration takes its snapshot of the feed when it starts. The first
one covers every item existing then; each later one covers the items newer than the previous
(not stopped, not failed) iteration's snapshot. Items are taken newest first; the first
``max_results`` are delivered, the older excess is recorded as dropped and is gone for good.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from edges_sandbox import slots
from edges_sandbox.catalog import ACTIONS
from edges_sandbox.clock import Clock, iso, iso_from_us
from edges_sandbox.encoding import ItemEncoder
from edges_sandbox.identities import USER_UID, WORKSPACE_UID, identity_type
from edges_sandbox.runs import CONTINUABLE, DELIVERING, TERMINAL, Iteration, Run
from edges_sandbox.validation import Launch, bad_parameters, refuse_incremental
from edges_sandbox.variants import (
    NO_DATA_FAILED,
    NO_MAX_RESULTS_ECHO,
    POSTS_NOT_INCREMENTAL,
    QUEUE,
    Stamp,
    stamp,
    stamped,
)
from edges_sandbox.wire import not_found
from edges_sandbox.world import Feed, World

if TYPE_CHECKING:
    from edges_sandbox.generators import Record
    from edges_sandbox.runtime import Runtime
    from edges_sandbox.store import Store

STATE_VERSION = 1
SORTABLE = frozenset(
    {"id", "uid", "name", "action_name", "action_id", "status", "output_count"}
    | {"created_at", "updated_at", "started_at", "finished_at"},
)
STATIC_FIELDS = frozenset({"id", "uid", "name", "action_name", "action_id", "created_at"})


class OutputItems(Sequence[dict[str, Any]]):
    """The items of some finished iterations, built only when a page asks for them.

    Paging a run with a million items must not build a million items per page.
    """

    def __init__(
        self,
        feed: Feed,
        chosen: list[Iteration],
        now: float,
        variants: frozenset[str] = frozenset(),
    ) -> None:
        """Index the items of the chosen iterations, oldest iteration first.

        Args:
            feed: The run's feed.
            chosen: The iterations whose items are served.
            now: Current time (an iteration delivers only once finished).
            variants: The API variants in force (they may change ``extracted_at``).
        """
        self._feed = feed
        # Not Iteration.served (a copy): a million-item iteration is read once per page.
        self._parts = [
            (stamp(it.finish_us, variants), it.delivered if it.status(now) in DELIVERING else [])
            for it in chosen
        ]

    def __len__(self) -> int:
        """Number of items."""
        return sum(len(seqs) for _, seqs in self._parts)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        """One item, or a list of items for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        for extracted_at, seqs in self._parts:
            if 0 <= index < len(seqs):
                return stamped(self._feed.record(seqs[index]), extracted_at)
            index -= len(seqs)
        raise IndexError(index)

    def pieces(self, start: int, stop: int) -> Iterator[tuple[Record, Stamp]]:
        """Yield the record and ``extracted_at`` of the items ``start`` to ``stop`` (excluded).

        An ``extracted_at`` of ``None`` means the items have no such key.

        Args:
            start: Index of the first item (0 or more).
            stop: Index after the last item (clipped to the number of items).
        """
        for extracted_at, seqs in self._parts:
            if start < len(seqs) and start < stop:
                for seq in seqs[start:stop]:
                    yield self._feed.record(seq), extracted_at
            start, stop = max(0, start - len(seqs)), max(0, stop - len(seqs))


@dataclass(frozen=True)
class OutputView:
    """The items ``GET /outputs`` serves for a run at one snapshot marker."""

    items: OutputItems
    marker: int
    malformed: bool


class Engine:
    """All runs and the world, guarded by one lock, persisted after every mutation."""

    def __init__(self, runtime: Runtime, clock: Clock, store: Store, world: World) -> None:
        """Create an engine (use :meth:`open` to load a saved state).

        Args:
            runtime: Settings shared with the HTTP layer.
            clock: Time source (epoch seconds).
            store: Where to persist the state.
            world: The simulated world.
        """
        self.runtime = runtime
        self.clock = clock
        self.store = store
        self.world = world
        self.runs: dict[str, Run] = {}
        self.next_run_id = 1
        self.lock = threading.RLock()
        self.encoder = ItemEncoder()

    @classmethod
    def open(cls, runtime: Runtime, clock: Clock, store: Store, seed: int, growth: float) -> Engine:
        """Load the engine from the store, or start a fresh world.

        Args:
            runtime: Shared settings.
            clock: Time source.
            store: The state file.
            seed: World seed (ignored when a saved world exists).
            growth: Items per feed per minute of clock time.
        """
        saved = store.load()
        if saved is None:
            return cls(runtime, clock, store, World(seed, clock(), growth))
        engine = cls(runtime, clock, store, World.from_state(saved["world"], growth))
        engine.next_run_id = int(saved["next_run_id"])
        for raw in saved["runs"]:
            run = Run.from_state(raw)
            engine.runs[run.uid] = run
        return engine

    def save(self) -> None:
        """Persist the whole state (building it is costly: not without a state file)."""
        if self.store.path is None:
            return
        with self.lock:
            runs = list(self.runs.values())  # dataclasses: the store encodes them
            state = {"version": STATE_VERSION, "next_run_id": self.next_run_id, "runs": runs}
            self.store.save(state | {"world": self.world.to_state()})

    def launch(self, launch: Launch) -> dict[str, Any]:
        """Create a run and start its first iteration.

        Args:
            launch: The validated request.

        Returns:
            The 201 body of the async launch endpoint.
        """
        with self.lock:
            now = self.clock()
            run = Run(
                id=self.next_run_id, uid=str(uuid.uuid4()), name=launch.name,
                action_name=launch.kind.slug, action_id=launch.kind.action_id,
                identity_id=launch.identity_id, input=launch.input,
                feed_key=launch.kind.feed_key(launch.identity_id, launch.input_value),
                parameters=launch.parameters, callback=launch.callback, created_at=now,
            )  # fmt: skip
            self.next_run_id += 1
            run.iterations.append(self._iteration(run, now, continued=False))
            self.runs[run.uid] = run
            self.save()
            return {
                "run_id": run.id, "run_uid": run.uid, "workspace_uid": WORKSPACE_UID,
                "user_uid": USER_UID, "action_name": run.action_name, "status": "pending",
                "postponed_until": None, "created_at": iso(now), "updated_at": iso(now),
                "name": run.name,
            }  # fmt: skip

    def continue_run(self, uid: str) -> dict[str, Any]:
        """Start the next incremental iteration of a finished run.

        Args:
            uid: The run uid.

        Returns:
            The run object.

        Raises:
            ApiError: 404 for an unknown run, 400 ``BAD_PARAMETERS`` when a precondition fails.
        """
        with self.lock:
            run, now = self._run(uid), self.clock()
            if run.parameters.get("sync_mode") != "incremental":
                msg = "run was not launched with sync_mode incremental"
                raise bad_parameters(msg)
            if POSTS_NOT_INCREMENTAL in self.runtime.variants:
                refuse_incremental(run.action_name)
            if identity_type(run.identity_id, self.runtime.extra_identities) != "engagement":
                msg = f"identity {run.identity_id} is not an engagement identity"
                raise bad_parameters(msg)
            status = run.status(now)
            if status not in CONTINUABLE:
                allowed = ", ".join(sorted(CONTINUABLE))
                msg_0 = f"run is {status}; continue needs a finished run ({allowed})"
                raise bad_parameters(msg_0)
            run.iterations.append(self._iteration(run, now, continued=True))
            self.save()
            return self._api_object(run, now)

    def cancel(self, uid: str) -> dict[str, Any]:
        """Stop a run's current iteration unless it is already terminal.

        Args:
            uid: The run uid.

        Returns:
            The run object.
        """
        with self.lock:
            run, now = self._run(uid), self.clock()
            if run.status(now) not in TERMINAL:
                run.current.stopped_at = now
                if QUEUE in self.runtime.variants:  # a slot may free early
                    slots.replan(self.runs.values(), now)
                self.save()
            return self._api_object(run, now)

    def purge(self, uid: str) -> None:
        """Forget a run (Edges purged it): requests for it answer 404 from now on."""
        with self.lock:
            if self.runs.pop(uid, None) is not None:
                self.save()

    def run_object(self, uid: str, *, light: bool = False) -> dict[str, Any]:
        """Return a run object (or the light status object).

        Args:
            uid: The run uid.
            light: Return the ``/status`` body instead of the full run.
        """
        with self.lock:
            run, now = self._run(uid), self.clock()
            return run.status_object(now) if light else self._api_object(run, now)

    def list_runs(
        self,
        filters: dict[str, list[str]],
        sort: list[str],
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return run objects filtered (any of the values per key), sorted and sliced.

        Only the runs a request asks for are turned into run objects: ``uid`` and
        ``action_name`` filters apply to the runs themselves, and a sort on fields that never
        change (``created_at``, ``id``, ...) is applied before the page is cut out.

        Args:
            filters: ``uid``, ``status`` and/or ``action_name`` values.
            sort: Field names, ``-`` prefixed for descending; applied left to right.
            offset: Number of matching runs to skip.
            limit: Largest number of runs to return (``None``: all).
        """
        fields = [spec.removeprefix("-") for spec in sort]
        for field in fields:
            if field not in SORTABLE:
                msg = f"sort field {field} is not supported"
                raise bad_parameters(msg)
        end = None if limit is None else offset + limit
        with self.lock:
            now = self.clock()
            runs = self._matching_runs(filters)
            if not filters.get("status") and STATIC_FIELDS.issuperset(fields):
                for spec in reversed(sort):
                    field = spec.removeprefix("-")
                    runs.sort(
                        key=lambda run: _sort_key(_static(run, field)),
                        reverse=spec.startswith("-"),
                    )
                return [self._api_object(run, now) for run in runs[offset:end]]
            objects = [self._api_object(run, now) for run in runs]
        wanted = filters.get("status")
        if wanted:
            objects = [obj for obj in objects if obj["status"] in wanted]
        for spec in reversed(sort):
            field = spec.removeprefix("-")
            objects.sort(key=lambda obj: _sort_key(obj[field]), reverse=spec.startswith("-"))
        return objects[offset:end]

    def _matching_runs(self, filters: dict[str, list[str]]) -> list[Run]:
        """The runs passing the ``uid`` and ``action_name`` filters, in creation order."""
        uids = filters.get("uid")
        if uids:
            chosen = {uid: self.runs[uid] for uid in uids if uid in self.runs}
            runs = sorted(chosen.values(), key=lambda run: run.id)
        else:
            runs = list(self.runs.values())
        actions = filters.get("action_name")
        if actions:
            runs = [run for run in runs if run.action_name in actions]
        return runs

    def outputs(self, uid: str, marker: int | None) -> OutputView:
        """Return what the outputs endpoint serves for a run.

        Args:
            uid: The run uid.
            marker: Number of finished iterations pinned by a pagination cursor, or ``None``
                for the current number (the first page).
        """
        with self.lock:
            run, now = self._run(uid), self.clock()
            finished = sum(1 for it in run.iterations if it.status(now) in TERMINAL)
            marker = finished if marker is None else min(marker, finished)
            if self.runtime.outputs_mode == "latest":
                chosen = run.iterations[marker - 1 : marker] if marker else []
            elif self.runtime.outputs_mode == "cumulative-newest":
                chosen = run.iterations[:marker][::-1]
            else:
                chosen = run.iterations[:marker]
            feed = self.world.feeds[run.feed_key]
            items = OutputItems(feed, chosen, now, self.runtime.variants)
            malformed = bool(set(_match_keys(run)) & self.runtime.faults.malformed_outputs)
            return OutputView(items, marker, malformed)

    def ground_truth(self, uid: str) -> list[dict[str, Any]]:
        """Return, per iteration, what it delivers and what it dropped for good.

        Args:
            uid: The run uid.
        """
        with self.lock:
            run, now = self._run(uid), self.clock()
            feed = self.world.feeds[run.feed_key]
            variants = self.runtime.variants
            return [_truth(feed, it, it.status(now), variants) for it in run.iterations]

    def inputs(self, uid: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """Return a page of a run's inputs (the sandbox runs one input per run).

        Args:
            uid: The run uid.
            offset: Number of inputs to skip.
            limit: Largest number of inputs to return.
        """
        with self.lock:
            run, now = self._run(uid), self.clock()
            return [run.input_object(now)][offset : offset + limit]

    def grow(self, n: int, selector: dict[str, str | None], distinct: int | None = None) -> int:
        """Add ``n`` new items to matching feeds (see :meth:`World.grow`).

        Args:
            n: Items per feed.
            selector: ``action``, ``identity_id``, ``input`` filters.
            distinct: Generate only this many per feed; repeat them for the rest.
        """
        with self.lock:
            added = self.world.grow(n, self.clock(), selector, distinct)
            self.save()
            return added

    def _api_object(self, run: Run, now: float) -> dict[str, Any]:
        """The run object, as the variants in force show it."""
        found = run.api_object(now)
        if NO_MAX_RESULTS_ECHO in self.runtime.variants:
            found["parameters"].pop("max_results", None)
        return found

    def _run(self, uid: str) -> Run:
        run = self.runs.get(uid)
        if run is None:
            msg = f"run {uid}"
            raise not_found(msg)
        return run

    def _iteration(self, run: Run, now: float, *, continued: bool) -> Iteration:
        kind = ACTIONS[run.action_name]
        value = run.input.get(kind.input_field) if kind.input_field else None
        feed = self.world.feed(kind, run.identity_id, value, now)
        self.world.catch_up(feed, now)
        cursor = run.current.cursor() if run.iterations else 0
        outcome, error = self.runtime.faults.outcome(_match_keys(run))
        refused = kind.refusal(run.identity_id, value) if kind.refusal else None
        if refused is not None:  # LinkedIn's own refusal comes before any injected fault
            outcome, error = "FAILED", refused
        fresh = list(range(feed.newest_seq, cursor, -1))
        if not fresh and outcome == "SUCCEEDED" and NO_DATA_FAILED in self.runtime.variants:
            outcome, error = "FAILED", _no_data(kind.slug)
        limit = int(run.parameters["max_results"])
        duration = self.runtime.run_seconds
        delay = 0.0
        if QUEUE in self.runtime.variants:
            delay = slots.delay_for(self.runs.values(), now, duration)
        failed = outcome in {"FAILED", "INVALID"}
        iteration = Iteration(
            index=len(run.iterations), continued=continued, t0=now, duration=duration,
            finish_us=0, outcome=outcome, error=error,
            delivered=[] if failed else fresh[:limit], dropped=[] if failed else fresh[limit:],
            cursor_before=cursor, cursor_after=cursor if failed else feed.newest_seq,
            delay=delay,
        )  # fmt: skip
        iteration.finish_us = slots.finish_us(iteration, run.current if run.iterations else None)
        return iteration


def _match_keys(run: Run) -> list[str]:
    kind = ACTIONS[run.action_name]
    value = run.input.get(kind.input_field) if kind.input_field else None
    keys = [str(value)] if value is not None else []
    return [*keys, run.identity_id, run.action_name]


def _no_data(slug: str) -> dict[str, Any]:
    """The ``last_error`` of an iteration that found nothing new (``no_data_failed``)."""
    message = f"no new data available for {slug} since the previous extraction"
    return {"label": "NO_DATA_AVAILABLE", "message": message, "params": {}}


def _truth(
    feed: Feed, iteration: Iteration, status: str, variants: frozenset[str]
) -> dict[str, Any]:
    # A stopped iteration delivered nothing and lost nothing: its items come with the next one.
    halted = status == "STOPPED"
    value = stamp(iteration.finish_us, variants)  # the items as the outputs serve them
    delivered, dropped = ([], []) if halted else (iteration.delivered, iteration.dropped)
    return {
        "index": iteration.index,
        "extracted_at": iso_from_us(iteration.finish_us),
        "status": status,
        "delivered": [stamped(feed.record(seq), value) for seq in delivered],
        "dropped": [stamped(feed.record(seq), value) for seq in dropped],
    }


def _static(run: Run, field: str) -> Any:  # noqa: ANN401 - any JSON scalar
    """A field of the run object that never changes, read without building the object."""
    if field == "created_at":
        return iso(run.created_at)
    return getattr(run, field)


def _sort_key(value: Any) -> tuple[bool, Any]:  # noqa: ANN401 - any JSON scalar
    return (value is None, value if value is not None else 0)
