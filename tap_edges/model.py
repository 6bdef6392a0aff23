"""Typed values of the run lifecycle: a run as Edges shows it, and what a bookmark holds.

Edges' JSON is read once, at the boundary (:meth:`Run.from_json`); past it the lifecycle works
with these frozen values only. :mod:`tap_edges.state` alone turns them into the state's JSON
and back.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    import datetime as dt


@dataclasses.dataclass(frozen=True)
class Iteration:
    """The fields of a run object that tell one iteration from the next.

    A continue resets the run: its new iteration gets new ``started_at`` and ``finished_at``,
    and ``output_count`` covers outputs whose times did not change at all. ``updated_at`` is
    left out: it may move without a new iteration (callbacks).
    """

    started_at: str | None = None
    finished_at: str | None = None
    output_count: int | None = None

    @classmethod
    def from_json(cls, fields: t.Mapping[str, t.Any]) -> Iteration:
        """Read the fingerprint fields of a run object (or of a stored fingerprint)."""
        return cls(
            started_at=_text(fields.get("started_at")),
            finished_at=_text(fields.get("finished_at")),
            output_count=_count(fields.get("output_count")),
        )


@dataclasses.dataclass(frozen=True)
class LastError:
    """A run's ``last_error``: Edges' label and message."""

    label: str | None = None
    message: str | None = None


@dataclasses.dataclass(frozen=True)
class Run:
    """One Edges run object, read once from Edges' JSON.

    Attributes:
        uid: ``uid`` in run objects, ``run_uid`` in launch answers.
        status: Upper case as Edges names it; ``UNKNOWN`` when absent.
        iteration: The fingerprint of its latest iteration.
        updated_at: Moves when the run changes (a continue was applied, a callback, ...).
        max_results: ``parameters.max_results`` as Edges shows it, if it does.
        sync_mode: ``parameters.sync_mode``, if shown.
        last_error: Why its last iteration failed, if it did.
        name: The name it was launched with.
        created_at: When it was created.
        identity_ids: The identities it runs with, where the run object shows them.
        input_values: The values of its inputs, where the run object shows them.
    """

    uid: str
    status: str = "UNKNOWN"
    iteration: Iteration = Iteration()
    updated_at: str | None = None
    max_results: int | None = None
    sync_mode: str | None = None
    last_error: LastError | None = None
    name: str | None = None
    created_at: str | None = None
    identity_ids: tuple[str, ...] = ()
    input_values: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, obj: object) -> Run | None:
        """Build a run from Edges' JSON; None when it is not a run object (no uid).

        Args:
            obj: A run object (``GET /runs``) or a launch answer.

        Returns:
            The run, or None.
        """
        if not isinstance(obj, dict):
            return None
        uid = obj.get("uid") or obj.get("run_uid")
        if not isinstance(uid, str) or not uid:
            return None
        status = obj.get("status")
        parameters = obj.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        error = obj.get("last_error")
        return cls(
            uid=uid,
            status=status.upper() if isinstance(status, str) else "UNKNOWN",
            iteration=Iteration.from_json(obj),
            updated_at=_text(obj.get("updated_at")),
            max_results=_count(parameters.get("max_results")),
            sync_mode=_text(parameters.get("sync_mode")),
            last_error=LastError(_text(error.get("label")), _text(error.get("message")))
            if isinstance(error, dict)
            else None,
            name=_text(obj.get("name")),
            created_at=_text(obj.get("created_at")),
            identity_ids=_strings(
                obj.get("identity_ids") or obj.get("identity_id") or obj.get("identity_uid")
            ),
            input_values=input_values(obj.get("inputs")),
        )


@dataclasses.dataclass(frozen=True)
class Launching:
    """A launch is about to be sent (or was, and its answer was lost).

    Attributes:
        token: Unique per launch, first in the run's name: it finds the run again.
        max_results: The cap the launch asks for.
        named: Whether the launch carries the name (Edges may refuse ``name``); without it the
            run is found again by its action, time, identity and input.
        sent_at: When the launch was written ahead (ISO 8601 UTC): the run is created after.
    """

    token: str
    max_results: int
    named: bool = True
    sent_at: str | None = None


@dataclasses.dataclass(frozen=True)
class Launched:
    """The run was launched (or adopted); its first batch is not emitted yet."""


@dataclasses.dataclass(frozen=True)
class Continuing:
    """A continue is about to be sent (or was); its batch is not emitted yet.

    Attributes:
        updated_at: The run's ``updated_at`` before the continue: if it moved, the continue
            may have been applied.
    """

    updated_at: str | None = None


Pending = t.Union[Launching, Launched, Continuing]  # noqa: UP007 (a runtime alias on 3.10)


@dataclasses.dataclass(frozen=True)
class Grown:
    """The cap ``adaptive_max_results`` grew to after a full batch, from the setting's cap."""

    setting: int
    max_results: int


def input_values(inputs: object) -> tuple[str, ...]:
    """Every string value of a run's inputs, for telling which partition a run belongs to.

    Args:
        inputs: ``inputs`` of a run object, or the items of ``GET /runs/{uid}/inputs``
            (their ``input_data``).

    Returns:
        The values.
    """
    found: list[str] = []
    for entry in inputs if isinstance(inputs, list) else [inputs]:
        data = entry.get("input_data", entry) if isinstance(entry, dict) else None
        if isinstance(data, dict):
            found.extend(value for value in data.values() if isinstance(value, str))
    return tuple(found)


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _count(value: object) -> int | None:
    """A non-negative integer, from a JSON number or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


Order = t.Literal["oldest", "newest", "latest"]
Counting = t.Literal["total", "iteration"]
ORDERS: tuple[Order, ...] = ("oldest", "newest", "latest")
COUNTINGS: tuple[Counting, ...] = ("total", "iteration")


@dataclasses.dataclass(frozen=True)
class Layout:
    """What the reads of one partition's outputs have shown.

    Attributes:
        order: Where a continued run's new items are: after the old ones (``oldest``: every
            iteration, oldest first), before them (``newest``), or alone (``latest``: the
            newest iteration only); None when not known, or none of these.
        count: What the run's ``output_count`` counts: every iteration's items (``total``) or
            the newest iteration's (``iteration``); None when not known.
        seen: How many items the run's outputs held at the last read.
        dated: Whether the items carry a readable ``extracted_at`` (None: not learned yet).
        first: Where items carry no time: the key of the first item read last time.
        last: Where items carry no time: the key of the last item read last time.
        offset: False once Edges refused ``offset`` on the outputs (cursors only from then on).
    """

    order: Order | None = None
    count: Counting | None = None
    seen: int = 0
    dated: bool | None = None
    first: str | None = None
    last: str | None = None
    offset: bool = True


@dataclasses.dataclass
class Batch:
    """What one reading of a run's outputs emitted, and what it learned of their layout."""

    count: int = 0
    undated: int = 0
    newest: dt.datetime | None = None
    layout: Layout | None = None
    mismatch: str | None = None  # why a shortcut's result cannot be trusted
    dated: int = 0  # items read (new or not) whose extracted_at could be read
    first_key: str | None = None  # keys of the first and last items read without a time
    last_key: str | None = None
    positional: bool = False  # new items were told from old by position (no extracted_at)


@dataclasses.dataclass(frozen=True)
class Expected:
    """What the state and the run object say about a run's outputs before they are read.

    Attributes:
        mark: The newest ``extracted_at`` already emitted, if any.
        layout: What earlier reads of this partition learned (None: nothing yet).
        count_before: The run's ``output_count`` when its last iteration was emitted, if the
            same run was read before.
        count_now: The run's ``output_count`` now.
        stand_in: The ``extracted_at`` an item without a readable one gets (ISO 8601 UTC).
    """

    mark: dt.datetime | None
    layout: Layout | None
    count_before: int | None
    count_now: int | None
    stand_in: str | None = None

    @property
    def new(self) -> int | None:
        """How many new items ``output_count`` promises, when what it counts is known."""
        count = self.layout.count if self.layout else None
        if count == "iteration" and self.count_now is not None:
            return self.count_now
        if count == "total" and None not in (self.count_now, self.count_before):
            return t.cast("int", self.count_now) - t.cast("int", self.count_before)
        return None

    @property
    def seen(self) -> int:
        """Items the outputs held at the last read of this run (0 when unknown)."""
        return self.layout.seen if self.layout else 0
