"""The only module that knows the shape of a partition's bookmark.

A partition's bookmark lives inside the singer-sdk partition state (next to the SDK's own
``replication_key_value``) under these keys:

``edges_run_uid``
    The Edges run this partition continues, sync after sync.
``edges_iteration``
    The fingerprint of the run's iteration whose items were emitted last (see
    :class:`tap_edges.model.Iteration`). A run is continued only when its latest iteration has this
    fingerprint: the incoming state is the only record of what a target committed.
``edges_consumed_through``
    The newest ``extracted_at`` already emitted. Items at or before it are not emitted again,
    which makes emission correct whether Edges returns cumulative or per-iteration outputs.
``edges_pending``
    What was sent (or was about to be sent) and whose batch is not emitted yet, written before
    the request goes out: ``{"op": "launch", "token": ..., "max_results": ...}`` (the token is
    in the run's ``name``, so a launch whose answer was lost can be found and adopted; where
    Edges refuses ``name``, ``"named": false`` and ``"sent_at"``: the run is then found by its
    action, creation time, identity and input) or
    ``{"op": "continue", "updated_at": ...}`` (the run's ``updated_at`` before the continue), or
    ``{"op": "launched"}`` (the run was launched; its first batch is not emitted yet).
    ``null`` when nothing is pending. States written by tap-edges 0.1 hold a boolean here.
``edges_max_results``
    The ``max_results`` the tap launched the run with. The run works with this cap; what Edges
    echoes in the run's ``parameters`` is information only (a clamp is recorded, never a
    reason to relaunch).
``edges_max_results_limit``
    The largest cap Edges takes for the partition's action, once a run echoed a smaller cap
    than the one sent (a clamp) or Edges refused a grown cap: ``adaptive_max_results`` never
    asks for more.
``edges_grown_max_results``
    ``{"setting": n, "max_results": m}``: the cap ``adaptive_max_results`` grew to after a full
    batch, while the configured cap was ``n``.
``edges_outputs``
    What reading the outputs taught (see :class:`tap_edges.batches.dated.Expected`): where Edges
    puts the new items, what ``output_count`` counts, and how many items the outputs held.

Discovery (:mod:`tap_edges.discovery`) keeps three marks beside a partition's bookmark:

``edges_seen_activity``
    On a ``messages`` partition of a discovered thread: the thread's ``last_activity_at`` when
    this partition's run was last started for it. The thread is read again once its activity
    moves past it.
``edges_listed_through``
    On a ``conversations`` partition: the newest ``last_activity_at`` of the listing the last
    sync decided on. A full listing whose oldest entry is newer than it is listed further.
``edges_emitted_through``
    On a ``conversations`` partition: the newest ``last_activity_at`` emitted. Conversations
    that moved past it are emitted (written only after they were).
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from tap_edges import errors
from tap_edges.model import (
    COUNTINGS,
    ORDERS,
    Continuing,
    Grown,
    Iteration,
    Launched,
    Launching,
    Layout,
    Pending,
)
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    import logging

RUN_UID = "edges_run_uid"
ITERATION = "edges_iteration"
PENDING = "edges_pending"
CONSUMED_THROUGH = "edges_consumed_through"
MAX_RESULTS = "edges_max_results"
GROWN = "edges_grown_max_results"
LIMIT = "edges_max_results_limit"
OUTPUTS = "edges_outputs"
SEEN_ACTIVITY = "edges_seen_activity"
LISTED_THROUGH = "edges_listed_through"
EMITTED_THROUGH = "edges_emitted_through"
MARKS = (SEEN_ACTIVITY, LISTED_THROUGH, EMITTED_THROUGH)


@dataclasses.dataclass(frozen=True)
class Bookmark:
    """What the tap remembers of one partition between syncs."""

    run_uid: str | None = None
    iteration: Iteration | None = None
    consumed_through: str | None = None
    pending: Pending | None = None
    max_results: int | None = None
    grown: Grown | None = None
    outputs: Layout | None = None
    cap_limit: int | None = None

    @property
    def pending_launch(self) -> Launching | None:
        """The pending launch (token and cap), if a launch was sent and not yet adopted."""
        return self.pending if isinstance(self.pending, Launching) else None


def read_bookmark(
    context_state: t.Mapping[str, t.Any],
    *,
    label: str,
    logger: logging.Logger,
) -> Bookmark:
    """Read a partition's bookmark, starting cleanly from anything unreadable.

    Args:
        context_state: The SDK's state dict of the partition.
        label: The partition's label, for the warning.
        logger: Where to warn about a damaged bookmark.

    Returns:
        The bookmark; a fresh one when the stored one is damaged.
    """
    problems = list(_problems(context_state))
    if problems:
        logger.warning(
            "%s: ignoring a damaged bookmark in the state (%s); this partition starts with a "
            "fresh Edges run.",
            label,
            "; ".join(problems),
        )
        return Bookmark()
    iteration = context_state.get(ITERATION)
    grown = context_state.get(GROWN)
    return Bookmark(
        run_uid=context_state.get(RUN_UID),
        iteration=None if iteration is None else Iteration.from_json(iteration),
        consumed_through=context_state.get(CONSUMED_THROUGH),
        pending=_read_pending(context_state.get(PENDING)),
        max_results=context_state.get(MAX_RESULTS),
        grown=None if grown is None else Grown(grown["setting"], grown["max_results"]),
        outputs=read_layout(context_state.get(OUTPUTS)),
        cap_limit=context_state.get(LIMIT),
    )


def _read_pending(stored: object) -> Pending | None:
    """The pending request of a stored bookmark (already checked by :func:`_problems`)."""
    if isinstance(stored, bool):  # tap-edges 0.1: the iteration is unknown, so it is re-read
        return Continuing() if stored else None
    if not isinstance(stored, dict):
        return None
    op = stored.get("op")
    if op == "launch":
        return Launching(
            token=stored["token"],
            max_results=stored["max_results"],
            named=stored.get("named") is not False,
            sent_at=stored.get("sent_at") if isinstance(stored.get("sent_at"), str) else None,
        )
    if op == "launched":
        return Launched()
    return Continuing(updated_at=stored.get("updated_at"))


def _write_pending(pending: Pending | None) -> dict[str, t.Any] | None:
    if isinstance(pending, Launching):
        stored: dict[str, t.Any] = {
            "op": "launch",
            "token": pending.token,
            "max_results": pending.max_results,
        }
        if not pending.named:
            stored.update(named=False, sent_at=pending.sent_at)
        return stored
    if isinstance(pending, Launched):
        return {"op": "launched"}
    if isinstance(pending, Continuing):
        return {"op": "continue", "updated_at": pending.updated_at}
    return None


def _problems(stored: t.Mapping[str, t.Any]) -> t.Iterator[str]:
    run_uid, pending = stored.get(RUN_UID), stored.get(PENDING)
    if run_uid is not None and (not isinstance(run_uid, str) or not run_uid):
        yield f"{RUN_UID}={run_uid!r} is not a run uid"
    if not (pending is None or isinstance(pending, bool) or _is_pending(pending)):
        yield f"{PENDING}={pending!r} is not a pending request"
    through = stored.get(CONSUMED_THROUGH)
    if through is not None and (not isinstance(through, str) or parse_time(through) is None):
        yield f"{CONSUMED_THROUGH}={through!r} is not an ISO-8601 time"
    iteration = stored.get(ITERATION)
    if iteration is not None and not isinstance(iteration, dict):
        yield f"{ITERATION}={iteration!r} is not a run fingerprint"
    for key in (MAX_RESULTS, LIMIT):
        cap = stored.get(key)
        if cap is not None and not _is_count(cap):
            yield f"{key}={cap!r} is not a positive integer"
    grown = stored.get(GROWN)
    if grown is not None and not (
        isinstance(grown, dict)
        and _is_count(grown.get("setting"))
        and _is_count(grown.get("max_results"))
    ):
        yield f"{GROWN}={grown!r} is not a grown max_results"
    outputs = stored.get(OUTPUTS)
    seen = outputs.get("seen", 0) if isinstance(outputs, dict) else None
    if outputs is not None and not (isinstance(seen, int) and seen >= 0):
        yield f"{OUTPUTS}={outputs!r} is not an outputs layout"


def read_layout(stored: object) -> Layout | None:
    """The outputs layout of a stored bookmark; what the tap does not know is not learned."""
    if not isinstance(stored, dict):
        return None
    order, count, dated = stored.get("order"), stored.get("count"), stored.get("dated")
    first, last = stored.get("first"), stored.get("last")
    return Layout(
        order=order if order in ORDERS else None,
        count=count if count in COUNTINGS else None,
        seen=int(stored.get("seen") or 0),
        dated=dated if isinstance(dated, bool) else None,
        first=first if isinstance(first, str) else None,
        last=last if isinstance(last, str) else None,
        offset=stored.get("offset") is not False,
    )


def write_layout(layout: Layout | None) -> dict[str, t.Any] | None:
    """The JSON of an outputs layout: what was learned (``seen`` always)."""
    if layout is None:
        return None
    written: dict[str, t.Any] = {"seen": layout.seen}
    for key in ("order", "count", "dated", "first", "last"):
        if (value := getattr(layout, key)) is not None:
            written[key] = value
    if not layout.offset:
        written["offset"] = False
    return written


def _is_pending(value: object) -> bool:
    if not isinstance(value, dict) or value.get("op") not in {"launch", "launched", "continue"}:
        return False
    return value["op"] != "launch" or (
        isinstance(value.get("token"), str) and _is_count(value.get("max_results"))
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def write_bookmark(context_state: t.MutableMapping[str, t.Any], bookmark: Bookmark) -> None:
    """Store a partition's bookmark in its SDK state dict, in one step.

    One ``update`` call: a signal handler that writes the state meanwhile sees the old
    bookmark or the new one, never half of each.

    Args:
        context_state: The SDK's state dict of the partition (modified in place).
        bookmark: The bookmark to store.
    """
    context_state.update(
        {
            RUN_UID: bookmark.run_uid,
            ITERATION: None
            if bookmark.iteration is None
            else dataclasses.asdict(bookmark.iteration),
            CONSUMED_THROUGH: bookmark.consumed_through,
            PENDING: _write_pending(bookmark.pending),
            MAX_RESULTS: bookmark.max_results,
            GROWN: None if bookmark.grown is None else dataclasses.asdict(bookmark.grown),
            OUTPUTS: write_layout(bookmark.outputs),
            LIMIT: bookmark.cap_limit,
        }
    )


def read_state_file(stream: t.IO[str]) -> str:
    """A state file's text (``--state``); StateFileError, in words, if not a Singer state."""
    name = getattr(stream, "name", "<state>")
    text = stream.read()
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise errors.StateFileError(name, f"is not JSON ({where})") from None
    problem = _not_singer_state(state)
    if problem:
        raise errors.StateFileError(name, f"is not a Singer state: {problem}")
    return text


def _not_singer_state(state: object) -> str | None:
    if not isinstance(state, dict):
        return f"it is a {type(state).__name__}, not an object"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return f"'bookmarks' is a {type(bookmarks).__name__}, not an object"
    for stream, stream_state in bookmarks.items():
        if not isinstance(stream_state, dict):
            return f"'bookmarks.{stream}' is a {type(stream_state).__name__}, not an object"
    return None


# The workspace's facts sit beside the streams' bookmarks, under a name no stream has: the SDK
# keeps every stream state it is given, and Meltano keeps the whole state.
API_FACTS = "_edges_api"


def read_api_facts(tap_state: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What earlier syncs learned of the workspace's Edges API (empty when nothing)."""
    facts = (tap_state.get("bookmarks") or {}).get(API_FACTS)
    return dict(facts) if isinstance(facts, dict) else {}


def write_api_facts(bookmarks: dict[str, dict[str, t.Any]], facts: dict[str, t.Any]) -> None:
    """Keep what was learned of the workspace's Edges API in the state's bookmarks (one step)."""
    bookmarks[API_FACTS] = dict(facts)


def read_mark(context_state: t.Mapping[str, t.Any], name: str) -> str | None:
    """A partition's discovery mark (:data:`MARKS`): ISO 8601; None if absent or unreadable."""
    value = context_state.get(name)
    return value if isinstance(value, str) and parse_time(value) is not None else None


def write_mark(context_state: t.MutableMapping[str, t.Any], name: str, value: str | None) -> None:
    """Set (or, with None, remove) a discovery mark of a partition."""
    if value is None:
        context_state.pop(name, None)
    else:
        context_state[name] = value


def is_unsettled(context_state: t.Mapping[str, t.Any]) -> bool:
    """Whether a partition's state shows a launch or continue whose batch is not emitted."""
    return context_state.get(PENDING) not in (None, False)
