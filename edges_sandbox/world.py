"""The simulated LinkedIn world: one ordered feed of items per (action, identity, input).

Feeds are created lazily, the first time a run (or an explicit ``grow``) names them, with an
initial batch of items dated before the feed's creation. Items only ever get appended: a higher
sequence number always means a newer item. With ``growth_per_minute`` set, feeds also gain
items as clock time passes (idle feeds do not); that growth is computed lazily (when a run takes
a snapshot or ``grow`` is called) and is deterministic for given times.

The discovery actions read the world instead of one feed of their own: an identity's inbox
(:class:`Inbox`, its messages feeds) and the posts of the authors named so far
(:class:`AuthoredPost`); what each of their listings delivered is kept in a feed of their own,
a snapshot log that neither grows nor is grown (see :mod:`edges_sandbox.discovery`).
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from edges_sandbox.catalog import ACTIONS, ActionKind
from edges_sandbox.generators import ItemContext, Record
from edges_sandbox.people import stable_int

MAX_LAZY_ITEMS_PER_CATCH_UP = 5000


@dataclass
class Feed:
    """The items one action sees for one identity and/or input, oldest first."""

    key: str
    action: str
    identity_id: str | None
    input_value: str | None
    created_at: float
    number: int
    records: list[Record] = field(default_factory=list)
    times_ms: list[int] = field(default_factory=list)
    lazy_added: int = 0
    idle: bool = False
    read_seq: int | None = None

    @property
    def newest_seq(self) -> int:
        """Sequence number of the newest item (0 when empty)."""
        return len(self.records)

    def record(self, seq: int) -> Record:
        """Return the item with this 1-based sequence number.

        Args:
            seq: The sequence number.
        """
        return self.records[seq - 1]

    @property
    def read_mark(self) -> int:
        """Sequence number of the newest item its identity has read (messages feeds).

        A new feed's initial items are read, every later one (growth, ``grow``, replies) is
        not; a feed saved before read marks existed counts as read the items dated up to its
        creation.
        """
        if self.read_seq is not None:
            return self.read_seq
        return bisect.bisect_right(self.times_ms, int(self.created_at * 1000))


@dataclass
class Inbox:
    """The threads the sandbox added to an identity's inbox (its named threads are feeds only).

    Attributes:
        seeded: The seeded threads' URLs, thread 0 (the most recent) first.
        started: The URLs of the threads ``start_conversation`` added, oldest first.
    """

    seeded: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)


@dataclass
class AuthoredPost:
    """One post of an author (``linkedin-extract-people-post-activity``).

    Attributes:
        published_ms: Publication time in epoch milliseconds.
        reshare: Whether the author reshared someone else's post.
    """

    published_ms: int
    reshare: bool


class World:
    """All feeds, with the deterministic rules that create and grow them."""

    def __init__(self, seed: int, created_at: float, growth_per_minute: float = 0.0) -> None:
        """Create an empty world.

        Args:
            seed: Seed making every generated item reproducible.
            created_at: Creation time of the world (epoch seconds).
            growth_per_minute: Items added per feed per minute of clock time.
        """
        self.seed = seed
        self.created_at = created_at
        self.growth_per_minute = growth_per_minute
        self.feeds: dict[str, Feed] = {}
        self.inboxes: dict[str, Inbox] = {}
        self.authors: dict[str, list[AuthoredPost]] = {}

    def feed(  # noqa: PLR0913 - the feed's dimensions, then how a new one starts
        self,
        kind: ActionKind,
        identity_id: str | None,
        value: str | None,
        now: float,
        *,
        times_ms: list[int] | None = None,
        idle: bool = False,
    ) -> Feed:
        """Return the feed of this action/identity/input, creating it when new.

        Args:
            kind: The action.
            identity_id: Identity running the action.
            value: The input field's value, if any.
            now: Current time (epoch seconds).
            times_ms: For a new feed, the times of its initial items (default: the action's
                initial size, spaced as the action says, up to ``now``).
            idle: For a new feed, whether ``growth_per_minute`` leaves it alone.
        """
        key = kind.feed_key(identity_id, value)
        existing = self.feeds.get(key)
        if existing is not None:
            return existing
        number = stable_int(f"{self.seed}|{key}") % 90_000 + 10_000
        new = Feed(key, kind.slug, identity_id if kind.per_identity else None, value, now, number)
        new.idle = idle
        self.feeds[key] = new
        for moment in self.initial_times(kind, key, now) if times_ms is None else times_ms:
            self._append(new, moment)
        new.read_seq = new.newest_seq  # its identity has read what it holds at first
        return new

    def initial_times(self, kind: ActionKind, key: str, now: float) -> list[int]:
        """The times of a new feed's initial items, oldest first, spaced as the action says.

        Args:
            kind: The action.
            key: The feed's key (the spacing is drawn from it).
            now: The feed's creation time (epoch seconds); every item is dated before it.
        """
        rng = random.Random(f"{self.seed}|{key}|initial")  # noqa: S311 - fake data
        gaps = [
            max(1, int(kind.spacing_seconds * 1000 * (0.5 + rng.random())))
            for _ in range(kind.initial_size)
        ]
        moment = int(now * 1000) - sum(gaps)
        times = []
        for gap in gaps:
            times.append(moment)
            moment += gap
        return times

    def catch_up(self, feed: Feed, now: float) -> int:
        """Add the items ``growth_per_minute`` says appeared up to ``now``.

        Args:
            feed: The feed.
            now: Current time (epoch seconds).

        Returns:
            Number of items added.
        """
        if self.growth_per_minute <= 0 or feed.idle or ACTIONS[feed.action].discovery:
            return 0
        interval = 60.0 / self.growth_per_minute
        due = int(max(0.0, now - feed.created_at) / interval)
        due = min(due, feed.lazy_added + MAX_LAZY_ITEMS_PER_CATCH_UP)
        added = 0
        while feed.lazy_added < due:
            feed.lazy_added += 1
            self._append(feed, int((feed.created_at + feed.lazy_added * interval) * 1000))
            added += 1
        return added

    def grow(
        self,
        n: int,
        now: float,
        selector: dict[str, str | None],
        distinct: int | None = None,
    ) -> int:
        """Add ``n`` new items to every feed matching the selector.

        Args:
            n: Items to add per feed.
            now: Current time; the new items are dated now (or just after the newest item).
            selector: Optional ``action``, ``identity_id`` and ``input`` filters. When they name
                one feed completely, that feed is created if it does not exist yet.
            distinct: For benchmarks: generate only this many items per feed; the others repeat
                them (same fields, ids included), which is cheap in time and memory.

        Returns:
            Total number of items added.
        """
        self._declare(selector, now)
        added = 0
        for feed in list(self.feeds.values()):
            if _matches(feed, selector):
                self.catch_up(feed, now)
                generated = n if distinct is None else min(n, distinct)
                for _ in range(generated):
                    self._append(feed, int(now * 1000))
                _repeat(feed, generated, n - generated, int(now * 1000))
                added += n
        return added

    def _declare(self, selector: dict[str, str | None], now: float) -> None:
        kind = ACTIONS.get(selector.get("action") or "")
        if kind is None or kind.discovery:
            return
        identity, value = selector.get("identity_id"), selector.get("input")
        if (kind.per_identity and not identity) or (kind.input_field and not value):
            return
        self.feed(kind, identity, value, now)

    def _append(self, feed: Feed, time_ms: int) -> None:
        if feed.times_ms:
            time_ms = max(time_ms, feed.times_ms[-1] + 1)
        seq = feed.newest_seq + 1
        rng = random.Random(f"{self.seed}|{feed.key}|{seq}")  # noqa: S311 - fake data
        context = ItemContext(rng, seq, time_ms, feed.number, feed.identity_id, feed.input_value)
        feed.records.append(ACTIONS[feed.action].generate(context))
        feed.times_ms.append(time_ms)

    def to_state(self) -> dict[str, Any]:
        """Return the world as JSON-able data for the state file (its feeds as they are)."""
        feeds = list(self.feeds.values())
        found = {"seed": self.seed, "created_at": self.created_at, "feeds": feeds}
        return found | {"inboxes": self.inboxes, "authors": self.authors}

    @classmethod
    def from_state(cls, data: dict[str, Any], growth_per_minute: float) -> World:
        """Rebuild a world saved by :meth:`to_state`.

        Args:
            data: The saved data.
            growth_per_minute: Growth rate of this process.
        """
        world = cls(int(data["seed"]), float(data["created_at"]), growth_per_minute)
        for raw in data["feeds"]:
            feed = Feed(**raw)
            world.feeds[feed.key] = feed
        for identity_id, inbox in data.get("inboxes", {}).items():
            world.inboxes[identity_id] = Inbox(**inbox)
        for handle, posts in data.get("authors", {}).items():
            world.authors[handle] = [AuthoredPost(**post) for post in posts]
        return world


def _repeat(feed: Feed, pool_size: int, count: int, time_ms: int) -> None:
    """Append ``count`` items repeating the newest ``pool_size`` ones, at increasing times."""
    if count <= 0 or pool_size <= 0:
        return
    pool = feed.records[-pool_size:]
    start = max(time_ms, feed.times_ms[-1] + 1)
    feed.records.extend(itertools.islice(itertools.cycle(pool), count))
    feed.times_ms.extend(range(start, start + count))


def _matches(feed: Feed, selector: dict[str, str | None]) -> bool:
    # A filter only applies to the dimensions a feed has: post feeds are shared by identities,
    # connections have no input. The discovery actions' snapshot logs are never grown.
    if selector.get("action") not in (None, feed.action) or ACTIONS[feed.action].discovery:
        return False
    scoped = {"identity_id": feed.identity_id, "input": feed.input_value}
    return all(
        value is None or selector.get(name) in (None, value) for name, value in scoped.items()
    )
