"""Runs and their iterations, with statuses computed lazily from the clock.

An iteration is one execution of a run: the launch, then one per ``continue``. Everything it
will do is decided when it starts (its snapshot of the feed and its outcome); what the API shows
at a given moment is derived from the time elapsed since then, so no background thread exists.
"""

from __future__ import annotations

import math
import typing as t
import uuid
from dataclasses import dataclass, field
from typing import Any

from edges_sandbox.clock import iso, to_us
from edges_sandbox.identities import USER_UID, WORKSPACE_UID

TERMINAL = frozenset(
    {"INVALID", "BLOCKED", "STOPPED", "FAILED", "PARTIAL_SUCCEEDED", "SUCCEEDED"},
)
CONTINUABLE = TERMINAL - {"INVALID"}
DELIVERING = frozenset({"SUCCEEDED", "PARTIAL_SUCCEEDED"})
# The input status enum has no INVALID nor PARTIAL_SUCCEEDED: a run's inputs show these.
INPUT_STATUS = {"INVALID": "BLOCKED", "PARTIAL_SUCCEEDED": "SUCCEEDED"}
INPUT_NAMESPACE = uuid.UUID("5f0e2d53-6b1a-4c4e-9a53-1d0c2f6e7a10")
HANG = "HANG"
QUEUED_SHARE = 0.1  # a continued iteration is SCHEDULED for this share of run_seconds
RUNNING_SHARE = 0.2  # and RUNNING from this share on (launches are QUEUED before that)


@dataclass
class Lane:
    """What an iteration does for one more input of a run (after the first, which is its own).

    Attributes:
        delivered: Sequence numbers of the items it delivers for that input, newest first.
        dropped: Sequence numbers of that input's new items it skips for good.
        cursor_before: Newest sequence number of that input's feed covered before it.
        cursor_after: Newest sequence number covered after it (if it is not stopped).
    """

    delivered: list[int]
    dropped: list[int]
    cursor_before: int
    cursor_after: int


@dataclass
class Iteration:
    """One execution of a run, fully decided when it starts.

    Attributes:
        index: 0 for the launch, then 1, 2, ... per continue.
        continued: Whether it was started by ``continue`` (then it begins SCHEDULED).
        t0: Start time (epoch seconds).
        duration: The run_seconds in force when it started.
        finish_us: Planned finish time in epoch microseconds (also its items' ``extracted_at``).
        outcome: Terminal status it will reach, or ``HANG``.
        error: ``last_error`` shown once terminal, or ``None``.
        delivered: Sequence numbers of the items it delivers, newest first.
        dropped: Sequence numbers of new items it skips for good (beyond ``max_results``).
        cursor_before: Newest sequence number already covered before it.
        cursor_after: Newest sequence number covered after it (if it is not stopped).
        stopped_at: Time of a cancel that interrupted it, if any.
        delay: Seconds it stays QUEUED waiting for a free slot of the workspace (the ``queue``
            variant) before its usual timeline goes on; ``math.inf`` while no slot is in sight.
        more: One lane per input after the first, for runs launched with several inputs.
    """

    index: int
    continued: bool
    t0: float
    duration: float
    finish_us: int
    outcome: str
    error: dict[str, Any] | None
    delivered: list[int]
    dropped: list[int]
    cursor_before: int
    cursor_after: int
    stopped_at: float | None = None
    delay: float = 0.0
    more: list[Lane] = field(default_factory=list)

    @property
    def running_from(self) -> float:
        """When it enters (or would enter) RUNNING, in epoch seconds."""
        return self.t0 + RUNNING_SHARE * self.duration + self.delay

    def status(self, now: float) -> str:
        """Return the status at ``now``.

        Args:
            now: Current time (epoch seconds).
        """
        if self.stopped_at is not None and now >= self.stopped_at:
            return "STOPPED"
        elapsed = now - self.t0
        if self.continued and elapsed < QUEUED_SHARE * self.duration:
            return "SCHEDULED"
        if not self.continued and elapsed <= 0:
            return "CREATED"
        if elapsed < RUNNING_SHARE * self.duration + self.delay:
            return "QUEUED"
        if self.outcome == HANG or to_us(now) < self.finish_us:
            return "RUNNING"
        return self.outcome

    def started_at(self, now: float) -> float | None:
        """Return when it entered RUNNING, if it did by ``now``."""
        moment = self.running_from
        reached = now >= moment and (self.stopped_at is None or self.stopped_at >= moment)
        return moment if reached else None

    def finished_at(self, now: float) -> float | None:
        """Return when it reached a terminal status, if it did by ``now``."""
        if self.status(now) not in TERMINAL:
            return None
        return self.stopped_at if self.stopped_at is not None else self.finish_us / 1_000_000

    def updated_at(self, now: float) -> float:
        """Return the time of its latest status change up to ``now``."""
        events = [self.running_from]
        if math.isfinite(self.delay):  # else its finish is not planned yet
            events.append(self.finish_us / 1_000_000)
        if self.continued:
            events.append(self.t0 + QUEUED_SHARE * self.duration)
        limit = now if self.stopped_at is None else min(now, self.stopped_at)
        past = [moment for moment in events if moment <= limit]
        if self.stopped_at is not None and self.stopped_at <= now:
            past.append(self.stopped_at)
        return max([self.t0, *past])

    def served(self, now: float) -> list[int]:
        """Return the sequence numbers it delivers, as visible at ``now`` (empty until done)."""
        return list(self.delivered) if self.status(now) in DELIVERING else []

    @property
    def lanes(self) -> list[Lane]:
        """What it does for each input of its run, the first input's first."""
        own = Lane(self.delivered, self.dropped, self.cursor_before, self.cursor_after)
        return [own, *self.more]

    def cursor(self, lane: int = 0) -> int:
        """Return the cursor the next iteration starts from, for one input of the run.

        Args:
            lane: The input's index in the launch's inputs.
        """
        found = self.lanes[lane]
        return found.cursor_before if self.stopped_at is not None else found.cursor_after


@dataclass
class Run:
    """One async run of an action, for one identity (none in managed mode) and its inputs."""

    id: int
    uid: str
    name: str | None
    action_name: str
    action_id: int
    identity_id: str | None
    input: dict[str, Any]
    feed_key: str
    parameters: dict[str, Any]
    callback: dict[str, Any] | None
    created_at: float
    iterations: list[Iteration] = field(default_factory=list)
    more_inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """Every input of the launch, in order (``input`` is the first)."""
        return [self.input, *self.more_inputs]

    @property
    def current(self) -> Iteration:
        """The newest iteration."""
        return self.iterations[-1]

    def status(self, now: float) -> str:
        """Return the run's status at ``now`` (its newest iteration's)."""
        return self.current.status(now)

    def output_count(self, now: float) -> int:
        """Return how many items its finished iterations delivered in total."""
        # Not Iteration.served (a copy): this is part of every run object, on every poll.
        return sum(
            len(iteration.delivered) + sum(len(lane.delivered) for lane in iteration.more)
            for iteration in self.iterations
            if iteration.status(now) in DELIVERING
        )

    def input_output_count(self, lane: int, now: float) -> int:
        """Return how many items its finished iterations delivered for one of its inputs."""
        done = [it for it in self.iterations if it.status(now) in DELIVERING]
        return sum(len(it.lanes[lane].delivered) for it in done)

    def last_error(self, now: float) -> dict[str, Any] | None:
        """Return the newest iteration's error once it is terminal."""
        return self.current.error if self.status(now) in TERMINAL else None

    def status_object(self, now: float) -> dict[str, Any]:
        """Return the body of ``GET /v1/runs/{uid}/status``."""
        current = self.current
        return {
            "id": self.id,
            "uid": self.uid,
            "status": current.status(now),
            "postponed_until": None,
            "started_at": iso(current.started_at(now)),
            "finished_at": iso(current.finished_at(now)),
            "created_at": iso(self.created_at),
            "updated_at": iso(current.updated_at(now)),
        }

    def api_object(self, now: float) -> dict[str, Any]:
        """Return the run object served by the runs endpoints."""
        light = self.status_object(now)
        return {
            "id": self.id,
            "uid": self.uid,
            "name": self.name,
            "scheduled_run_name": None,
            "action_id": self.action_id,
            "action_name": self.action_name,
            "retry_count": 0,
            "user_uid": USER_UID,
            "workspace_uid": WORKSPACE_UID,
            "execution_mode": "ASYNC",
            "last_error": self.last_error(now),
            "parameters": dict(self.parameters),
            "callback": self.callback,
            "status": light["status"],
            "output_count": self.output_count(now),
            "scheduled_run_uid": None,
            "postponed_until": None,
            "started_at": light["started_at"],
            "finished_at": light["finished_at"],
            "synced_at": None,
            "created_at": light["created_at"],
            "updated_at": light["updated_at"],
        }

    def input_objects(self, now: float) -> list[dict[str, Any]]:
        """Return the run's inputs as ``GET /v1/runs/{uid}/inputs`` lists them.

        Their uids are derived from the run uid, so they are the same after a restart.

        Args:
            now: Current time (epoch seconds).
        """
        light = self.status_object(now)
        status = INPUT_STATUS.get(light["status"], light["status"])
        error = self.last_error(now)
        if error is not None:
            error = {
                "has_failed": status in {"FAILED", "BLOCKED"},
                "message": error.get("message"),
                "scope": "input",
                "label": error.get("label"),
                "error_ref": None,
                "params": error.get("params") or {},
                "validation_errors": [],
            }
        return [
            {
                "uid": str(uuid.uuid5(INPUT_NAMESPACE, self.uid + (f"/{lane}" if lane else ""))),
                "status": status,
                "input_data": {k: v for k, v in the_input.items() if k != "custom_data"},
                "custom_data": the_input.get("custom_data") or {},
                "last_error": error,
                "output_count": self.input_output_count(lane, now),
                "retry_count": 0,
                "started_at": light["started_at"],
                "finished_at": light["finished_at"],
                "created_at": light["created_at"],
                "updated_at": light["updated_at"],
            }
            for lane, the_input in enumerate(self.inputs)
        ]

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Run:
        """Rebuild a run saved in the state file (the dataclass's fields).

        Args:
            data: The saved data.
        """
        fields = dict(data)
        # JSON has no infinity: a delay with no slot in sight is saved as null.
        fields["iterations"] = [
            Iteration(**(raw | {"delay": math.inf} if raw.get("delay", 0.0) is None else raw))
            for raw in data["iterations"]
        ]
        for iteration in fields["iterations"]:
            iteration.more = [Lane(**lane) for lane in t.cast("list[Any]", iteration.more)]
        return cls(**fields)
