"""The only module that knows the shape of a partition's bookmark.

A partition's bookmark lives inside the singer-sdk partition state (next to the SDK's own
``replication_key_value``) under three keys:

``edges_run_uid``
    The Edges run this partition continues, sync after sync.
``edges_pending``
    True from the moment a launch or continue was sent until its batch has been emitted.
    A pending run is read before it is ever continued again, so nothing is skipped.
``edges_consumed_through``
    The newest ``extracted_at`` already emitted. Items at or before it are not emitted again,
    which makes emission correct whether Edges returns cumulative or per-iteration outputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

if t.TYPE_CHECKING:
    import logging

RUN_UID = "edges_run_uid"
PENDING = "edges_pending"
CONSUMED_THROUGH = "edges_consumed_through"


@dataclasses.dataclass
class Bookmark:
    """What the tap remembers of one partition between syncs."""

    run_uid: str | None = None
    pending: bool = False
    consumed_through: str | None = None


def parse_time(value: object) -> dt.datetime | None:
    """Parse an ISO-8601 timestamp into an aware UTC datetime.

    Args:
        value: The value to parse.

    Returns:
        The datetime, or None when the value is not an ISO-8601 string.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


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
    run_uid = context_state.get(RUN_UID)
    pending = context_state.get(PENDING, False)
    through = context_state.get(CONSUMED_THROUGH)
    problems = []
    if run_uid is not None and (not isinstance(run_uid, str) or not run_uid):
        problems.append(f"{RUN_UID}={run_uid!r} is not a run uid")
    if not isinstance(pending, bool):
        problems.append(f"{PENDING}={pending!r} is not a boolean")
    if through is not None and parse_time(through) is None:
        problems.append(f"{CONSUMED_THROUGH}={through!r} is not an ISO-8601 time")
    if problems:
        logger.warning(
            "%s: ignoring a damaged bookmark in the state (%s); this partition starts with a "
            "fresh Edges run.",
            label,
            "; ".join(problems),
        )
        return Bookmark()
    return Bookmark(run_uid=run_uid, pending=pending, consumed_through=through)


def write_bookmark(context_state: t.MutableMapping[str, t.Any], bookmark: Bookmark) -> None:
    """Store a partition's bookmark in its SDK state dict.

    Args:
        context_state: The SDK's state dict of the partition (modified in place).
        bookmark: The bookmark to store.
    """
    context_state[RUN_UID] = bookmark.run_uid
    context_state[PENDING] = bookmark.pending
    if bookmark.consumed_through is None:
        context_state.pop(CONSUMED_THROUGH, None)
    else:
        context_state[CONSUMED_THROUGH] = bookmark.consumed_through
