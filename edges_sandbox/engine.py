"""The runs engine: launches, continues, cancels and reads runs against the simulated world.

What each iteration does is planned when it starts (:mod:`edges_sandbox.iterations`, where the
incremental semantics are told); the engine keeps the runs, guards them with one lock and
persists them after every mutation.
"""

from __future__ import annotations

import functools
import threading
import uuid
from typing import TYPE_CHECKING, Any

from edges_sandbox import listing, slots
from edges_sandbox.billing import Charge, charges
from edges_sandbox.clock import Clock, iso
from edges_sandbox.encoding import ItemEncoder
from edges_sandbox.identities import USER_UID, WORKSPACE_UID, identity_type
from edges_sandbox.items import OutputItems, OutputView, truth
from edges_sandbox.iterations import match_keys, plan, run_feeds
from edges_sandbox.runs import CONTINUABLE, TERMINAL, Run
from edges_sandbox.validation import Launch, bad_parameters, check_incremental, refuse_incremental
from edges_sandbox.variants import NO_MAX_RESULTS_ECHO, POSTS_NOT_INCREMENTAL, QUEUE
from edges_sandbox.wire import not_found
from edges_sandbox.world import World

if TYPE_CHECKING:
    from edges_sandbox.settings import SandboxSettings
    from edges_sandbox.store import Store

STATE_VERSION = 1


class Engine:
    """All runs and the world, guarded by one lock, persisted after every mutation."""

    def __init__(self, settings: SandboxSettings, clock: Clock, store: Store, world: World) -> None:
        """Create an engine (use :meth:`open` to load a saved state).

        Args:
            settings: Settings shared with the HTTP layer.
            clock: Time source (epoch seconds).
            store: Where to persist the state.
            world: The simulated world.
        """
        self.settings = settings
        self.clock = clock
        self.store = store
        self.world = world
        self.runs: dict[str, Run] = {}
        self.purged_charges: list[Charge] = []  # the credits purged runs used
        self.next_run_id = 1
        self.lock = threading.RLock()
        self.encoder = ItemEncoder()

    @classmethod
    def open(
        cls, settings: SandboxSettings, clock: Clock, store: Store, seed: int, growth: float
    ) -> Engine:
        """Load the engine from the store, or start a fresh world.

        Args:
            settings: Shared settings.
            clock: Time source.
            store: The state file.
            seed: World seed (ignored when a saved world exists).
            growth: Items per feed per minute of clock time.
        """
        saved = store.load()
        if saved is None:
            return cls(settings, clock, store, World(seed, clock(), growth))
        engine = cls(settings, clock, store, World.from_state(saved["world"], growth))
        engine.next_run_id = int(saved["next_run_id"])
        engine.purged_charges = [Charge(**raw) for raw in saved.get("purged_charges", [])]
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
            state |= {"purged_charges": self.purged_charges}
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
                more_inputs=launch.inputs[1:],
            )  # fmt: skip
            self.next_run_id += 1
            run.iterations.append(
                plan(self.world, self.settings, self.runs.values(), run, now, continued=False)
            )
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
            run, now = _find(self.runs, uid), self.clock()
            if run.parameters.get("sync_mode") != "incremental":
                msg = "run was not launched with sync_mode incremental"
                raise bad_parameters(msg)
            check_incremental(run.action_name, self.settings.variants)
            if POSTS_NOT_INCREMENTAL in self.settings.variants:
                refuse_incremental(run.action_name)
            if identity_type(run.identity_id, self.settings.extra_identities) != "engagement":
                msg = f"identity {run.identity_id} is not an engagement identity"
                if run.identity_id is None:
                    msg = "a managed run has no identity; continue needs an engagement identity"
                raise bad_parameters(msg)
            status = run.status(now)
            if status not in CONTINUABLE:
                allowed = ", ".join(sorted(CONTINUABLE))
                msg_0 = f"run is {status}; continue needs a finished run ({allowed})"
                raise bad_parameters(msg_0)
            run.iterations.append(
                plan(self.world, self.settings, self.runs.values(), run, now, continued=True)
            )
            self.save()
            return _shown(run, now=now, variants=self.settings.variants)

    def cancel(self, uid: str) -> dict[str, Any]:
        """Stop a run's current iteration unless it is already terminal.

        Args:
            uid: The run uid.

        Returns:
            The run object.
        """
        with self.lock:
            run, now = _find(self.runs, uid), self.clock()
            if run.status(now) not in TERMINAL:
                run.current.stopped_at = now
                if QUEUE in self.settings.variants:  # a slot may free early
                    slots.replan(self.runs.values(), now)
                self.save()
            return _shown(run, now=now, variants=self.settings.variants)

    def purge(self, uid: str) -> None:
        """Forget a run (Edges purged it): requests for it answer 404 from now on.

        The credits it used so far stay used.
        """
        with self.lock:
            run = self.runs.pop(uid, None)
            if run is not None:
                self.purged_charges.extend(charges(run, self.clock()))
                self.save()

    def run_object(self, uid: str, *, light: bool = False) -> dict[str, Any]:
        """Return a run object (or the light status object).

        Args:
            uid: The run uid.
            light: Return the ``/status`` body instead of the full run.
        """
        with self.lock:
            run, now = _find(self.runs, uid), self.clock()
            if light:
                return run.status_object(now)
            return _shown(run, now=now, variants=self.settings.variants)

    def list_runs(
        self,
        filters: dict[str, list[str]],
        sort: list[str],
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return run objects filtered, sorted and sliced (see :mod:`edges_sandbox.listing`).

        Args:
            filters: ``uid``, ``status`` and/or ``action_name`` values.
            sort: Field names, ``-`` prefixed for descending; applied left to right.
            offset: Number of matching runs to skip.
            limit: Largest number of runs to return (``None``: all).
        """
        with self.lock:
            now = self.clock()
            build = functools.partial(_shown, now=now, variants=self.settings.variants)
            return listing.run_objects(self.runs, filters, sort, offset, limit, build)

    def outputs(self, uid: str, marker: int | None) -> OutputView:
        """Return what the outputs endpoint serves for a run.

        Args:
            uid: The run uid.
            marker: Number of finished iterations pinned by a pagination cursor, or ``None``
                for the current number (the first page).
        """
        with self.lock:
            run, now = _find(self.runs, uid), self.clock()
            finished = sum(1 for it in run.iterations if it.status(now) in TERMINAL)
            marker = finished if marker is None else min(marker, finished)
            if self.settings.outputs_mode == "latest":
                chosen = run.iterations[marker - 1 : marker] if marker else []
            elif self.settings.outputs_mode == "cumulative-newest":
                chosen = run.iterations[:marker][::-1]
            else:
                chosen = run.iterations[:marker]
            items = OutputItems(run_feeds(self.world, run), chosen, now, self.settings.variants)
            malformed = bool(set(match_keys(run)) & self.settings.faults.malformed_outputs)
            return OutputView(items, marker, malformed)

    def ground_truth(self, uid: str) -> list[dict[str, Any]]:
        """Return, per iteration, what it delivers and what it dropped for good.

        Args:
            uid: The run uid.
        """
        with self.lock:
            run, now = _find(self.runs, uid), self.clock()
            feeds, variants = run_feeds(self.world, run), self.settings.variants
            return [truth(feeds, it, it.status(now), variants) for it in run.iterations]

    def inputs(self, uid: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """Return a page of a run's inputs.

        Args:
            uid: The run uid.
            offset: Number of inputs to skip.
            limit: Largest number of inputs to return.
        """
        with self.lock:
            run, now = _find(self.runs, uid), self.clock()
            return run.input_objects(now)[offset : offset + limit]

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


def _shown(run: Run, *, now: float, variants: frozenset[str]) -> dict[str, Any]:
    """The run object, as the variants in force show it."""
    found = run.api_object(now)
    if NO_MAX_RESULTS_ECHO in variants:
        found["parameters"].pop("max_results", None)
    return found


def _find(runs: dict[str, Run], uid: str) -> Run:
    run = runs.get(uid)
    if run is None:
        msg = f"run {uid}"
        raise not_found(msg)
    return run
