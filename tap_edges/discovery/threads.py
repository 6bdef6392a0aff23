"""Which threads of a conversations listing the ``messages`` stream reads this sync (pure).

A thread is read when its ``last_activity_at`` moved past what the tap last acted on:

=====================  ===============================================  ==================
thread                 condition                                        read this sync
=====================  ===============================================  ==================
followed               last activity after its ``edges_seen_activity``  yes (continued)
followed, unsettled    a launch or continue of it is pending            yes (finished)
new to the tap         active within ``thread_lookback_days``           yes (launched)
otherwise              (idle)                                           no request at all
=====================  ===============================================  ==================

Edges lists an inbox most recent activity first (inferred, not documented) and at most
``max_results`` conversations per run. :func:`lists_further` keeps an active thread from hiding
behind that cap: a full listing whose oldest entry is newer than the previous listing (or the
lookback) is listed again with a larger cap; a full listing that is not in that order is listed
again until it is not full, since nothing then says what it left out.
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_edges.checks import THREAD_ID_PATTERN
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Mapping, Sequence

THREAD_URL = "https://www.linkedin.com/messaging/thread/{}/"


@dataclasses.dataclass(frozen=True)
class Thread:
    """One conversation of a listing: its id, the URL ``messages`` reads and its activity."""

    thread_id: str
    url: str
    last_activity: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Followed:
    """A thread the tap follows (it has a ``messages`` partition in the state).

    Attributes:
        url: The thread URL of the partition (as listed by hand, or as discovered).
        seen: The activity its run was last started for (None: listed by hand, never seen).
        unsettled: A launch or continue of its run is pending (its batch is not emitted).
    """

    url: str
    seen: dt.datetime | None
    unsettled: bool


def thread_id_of(url: str) -> str | None:
    """The thread id in a thread URL (or a bare id)."""
    found = THREAD_ID_PATTERN.search(url)
    return found.group(0) if found else None


def threads_of(items: Iterable[Mapping[str, t.Any]]) -> list[Thread]:
    """A listing's items that name a thread, as threads."""
    return [thread for item in items if (thread := thread_of(item)) is not None]


def thread_of(item: Mapping[str, t.Any]) -> Thread | None:
    """A listing's item as a thread; None when it names no thread."""
    url = item.get("linkedin_thread_url")
    thread_id = item.get("linkedin_thread_id") or (
        thread_id_of(url) if isinstance(url, str) else None
    )
    if not isinstance(thread_id, str) or not thread_id:
        return None
    if not isinstance(url, str) or thread_id_of(url) != thread_id:
        url = THREAD_URL.format(thread_id)  # a client guards against a missing URL the same way
    return Thread(thread_id, url, parse_time(item.get("last_activity_at")))


def to_read(
    threads: Iterable[Thread], followed: Mapping[str, Followed], since: dt.datetime
) -> list[Thread]:
    """The listed threads the ``messages`` stream reads this sync (the table above).

    Args:
        threads: The listing's threads.
        followed: The followed threads by thread id.
        since: The lookback bound for threads new to the tap.

    Returns:
        The threads to read, in listing order, each once.
    """
    chosen: dict[str, Thread] = {}
    for thread in threads:
        known = followed.get(thread.thread_id)
        if known is not None:
            moved = thread.last_activity is not None and (
                known.seen is None or thread.last_activity > known.seen
            )
            if moved or known.unsettled:
                chosen.setdefault(thread.thread_id, thread)
        elif thread.last_activity is not None and thread.last_activity >= since:
            chosen.setdefault(thread.thread_id, thread)
    return list(chosen.values())


def lists_further(threads: Sequence[Thread], cap: int, threshold: dt.datetime) -> bool:
    """Whether a listing may hide an active thread behind its cap (see the module docs).

    Args:
        threads: The listing's threads, in Edges' order.
        cap: The listing run's ``max_results``.
        threshold: The newest activity of the previous listing, or the lookback bound.

    Returns:
        True when the listing is full and may have left an active thread out.
    """
    if len(threads) < cap:
        return False
    times = [th.last_activity for th in threads]
    if any(moment is None for moment in times):
        return True
    dated = t.cast("list[dt.datetime]", times)
    if dated != sorted(dated, reverse=True):
        return True  # not most recent first: what the cap cut off could be anything
    return dated[-1] > threshold
