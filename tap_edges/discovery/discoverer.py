"""One sync's discovery: list, then start the children the listings call for.

:meth:`Discovery.start` is the sync's start when a listing stream is in play:

1. every selected partition that needs no listing (connections, profile viewers, page
   followers, the threads and posts listed by hand) and every listing partition (conversations
   per identity, post activity per author) are started at once by the run coordinator;
2. each listing is waited for and read (:meth:`RunCoordinator.records`) into memory; a
   conversations listing that may hide an active thread behind its cap is listed again with a
   larger cap first (:func:`.threads.lists_further`);
3. the children are chosen (:mod:`.threads`, :mod:`.posts`) and started in one more
   coordinator start. Only then are the marks moved, in memory, for the next STATE: a thread's
   activity mark when its run was launched or continued now (that request fetches what the
   listing showed; a run only read or waited for, or a failed one, keeps its mark, so the next
   sync reads the thread again), and the listing's mark no further than the oldest activity
   of a thread chosen but not sent. Any STATE that holds a moved mark also holds the send's
   write-ahead, or the batch it fetched: no kill or failed load leaves a thread marked read
   that was not.

The parent streams then emit from memory (:meth:`Discovery.records`): the conversations whose
activity moved past what was emitted before (that mark written only after they were), every
listed post. Nothing here knows Singer: the streams hand in their partitions and state through
:class:`.vocabulary.Streams`.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import typing as t

from tap_edges.discovery import posts as posts_rules
from tap_edges.discovery import threads as thread_rules
from tap_edges.discovery.vocabulary import Counts, Options, Streams
from tap_edges.state import (
    EMITTED_THROUGH,
    LISTED_THROUGH,
    SEEN_ACTIVITY,
    is_unsettled,
    read_mark,
    write_mark,
)
from tap_edges.times import iso, parse_time

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

    from tap_edges.runs.coordinator import RunCoordinator
    from tap_edges.runs.partitions import Partition, PartitionKey
    from tap_edges.state import Bookmark

    Entry = tuple[Partition, Bookmark, Callable[[Bookmark], None]]

CONVERSATIONS = "conversations"
POSTS = "posts"
MESSAGES = "messages"
LISTING_GROWTH = 4  # a listing listed further asks for this many times its cap


@dataclasses.dataclass(frozen=True)
class Discovery:
    """The listings of one sync and the children they start.

    Attributes:
        coordinator: The sync's run coordinator.
        streams: The tap's streams, as discovery sees them.
        logger: The tap's logger.
        options: The discovery settings; ``children`` maps a listing stream to the selected
            streams its partitions feed.
        now: The wall clock (epoch seconds).
    """

    coordinator: RunCoordinator
    streams: Streams
    logger: logging.Logger
    options: Options
    now: Callable[[], float]
    counts: Counts = dataclasses.field(default_factory=Counts)
    _listed: dict[PartitionKey, list[dict[str, t.Any]]] = dataclasses.field(default_factory=dict)
    _read_later: dict[PartitionKey, tuple[Callable[[Bookmark], None], Bookmark]] = (
        dataclasses.field(default_factory=dict)
    )
    # each conversations listing: its newest activity, and the threads it chose with theirs
    _chosen: dict[PartitionKey, tuple[dt.datetime, list[tuple[PartitionKey, dt.datetime]]]] = (
        dataclasses.field(default_factory=dict)
    )

    def start(self, plain: list[Entry], listings: list[Entry]) -> None:
        """Start everything, list, then start the children (the module docs' steps 1 to 3).

        Args:
            plain: The partitions that need no listing.
            listings: The listing partitions to list with.
        """
        listed_by_hand = {p.key for p, _, _ in plain}
        unfinished = [k for k in self._unfinished(listings) if k not in listed_by_hand]
        self.coordinator.start([*plain, *self._entries(unfinished), *listings])
        followed: list[tuple[str, str, str]] = []  # (child stream, identity, input)
        for partition, _, save in listings:
            items = self._list(partition, save)
            if items is None:
                continue
            if partition.stream == CONVERSATIONS:
                followed += self._threads(partition, items)
            else:
                followed += self._posts(partition, items)
        started = listed_by_hand | set(unfinished)
        children = self._entries([key for key in followed if key not in started])
        self.coordinator.start(children)
        self._move_marks(started)

    def _move_marks(self, started: set[PartitionKey]) -> None:
        """Put the marks of what was sent in the state (the module docs, step 3).

        A thread started before the listing was read (listed by hand, or finishing a pending
        launch or continue) keeps its mark: what it fetched may be older than the listing.
        """
        for listing, (newest, chosen) in self._chosen.items():
            unsent = []
            for key, activity in chosen:
                if key in started:
                    continue
                if self.coordinator.sent(key):
                    write_mark(self.streams.state(key), SEEN_ACTIVITY, iso(activity))
                else:
                    unsent.append(activity)
            through = min(unsent) - dt.timedelta(milliseconds=1) if unsent else newest
            old = parse_time(read_mark(self.streams.state(listing), LISTED_THROUGH))
            if old is None or through > old:
                write_mark(self.streams.state(listing), LISTED_THROUGH, iso(through))

    def _unfinished(self, listings: list[Entry]) -> list[PartitionKey]:
        """The followed children whose launch or continue is pending: started first.

        They are finished whatever the listings say: a listing that fails, or a post that left
        the window, leaves none behind.
        """
        found: list[PartitionKey] = []
        for partition, _, _ in listings:
            for stream in self.options.children.get(partition.stream, ()):
                for value, stored in self.streams.followed(stream, partition.identity_id):
                    key = (stream, partition.identity_id, value)
                    if is_unsettled(stored) and key not in found:
                        found.append(key)
        return found

    def _entries(self, keys: list[PartitionKey]) -> list[Entry]:
        """The entries of these child partitions, made partitions of their streams this sync."""
        by_stream: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
        for stream, identity, value in keys:
            if value is not None:
                by_stream[stream, identity].append(value)
        for (stream, identity), values in by_stream.items():
            self.streams.follow(stream, identity, values)
        wanted = set(keys)
        return [
            entry
            for stream in sorted({k[0] for k in keys})
            for entry in self.streams.entries(stream, wanted)
        ]

    def _list(
        self, partition: Partition, save: Callable[[Bookmark], None]
    ) -> list[dict[str, t.Any]] | None:
        """Read a listing (listing it further while it may hide an active thread)."""
        items = self._read(partition.key, save)
        if items is None or partition.stream != CONVERSATIONS:
            return items
        threshold = self._threshold(partition.key)
        cap = partition.max_results
        while True:
            limit = self.coordinator.bookmark(partition.key).cap_limit  # Edges' clamp, if any
            took = cap if limit is None else min(cap, limit)  # the cap the listing ran with
            if not thread_rules.lists_further(thread_rules.threads_of(items), took, threshold):
                return items
            if cap >= self.options.ceiling or (limit is not None and cap >= limit):
                self.logger.warning(
                    "%s: the conversations listing is full at max_results %d (the "
                    "max_results_ceiling, or the most Edges takes for it) and may leave active "
                    "threads out: raise max_results_ceiling, or sync more often.",
                    partition.label,
                    took,
                )
                return items
            cap = min(cap * LISTING_GROWTH, self.options.ceiling)
            self.logger.info(
                "%s: the listing is full and its oldest conversation is newer than the last "
                "sync: listing again with max_results %d before deciding.",
                partition.label,
                cap,
            )
            read = self.coordinator.bookmark(partition.key)  # the state says: not read yet
            bigger = dataclasses.replace(partition, max_results=cap)
            self.coordinator.start([(bigger, read, save)])
            items = self._read(partition.key, save)
            if items is None:
                return None

    def _read(
        self, key: PartitionKey, save: Callable[[Bookmark], None]
    ) -> list[dict[str, t.Any]] | None:
        """The listing's items (None when it failed: the coordinator logged why).

        The state goes on saying the listing was not read until :meth:`finish`: a sync killed
        before its end reads the same listing again, free, instead of paying for a new one.
        """
        before = self.coordinator.bookmark(key)
        items = list(self.coordinator.records(key, flush=False))
        if self.coordinator.failed(key):
            return None
        self._read_later[key] = (save, self.coordinator.bookmark(key))
        save(before)
        self._listed[key] = items
        return items

    def finish(self) -> None:
        """Record every listing as read, in the state (the sync's children are all emitted)."""
        for save, bookmark in self._read_later.values():
            save(bookmark)

    def _threshold(self, key: PartitionKey) -> dt.datetime:
        since = self._since()
        listed = parse_time(read_mark(self.streams.state(key), LISTED_THROUGH))
        return max(listed, since) if listed else since

    def _since(self) -> dt.datetime:
        now = dt.datetime.fromtimestamp(self.now(), tz=dt.timezone.utc)
        return now - dt.timedelta(days=self.options.lookback_days)

    def _threads(
        self, partition: Partition, items: list[dict[str, t.Any]]
    ) -> list[tuple[str, str, str]]:
        """The messages partitions a conversations listing calls for (their marks noted)."""
        identity = partition.identity_id
        threads = thread_rules.threads_of(items)
        followed = _followed_threads(self.streams, identity)
        chosen = thread_rules.to_read(threads, followed, self._since())
        newest = max((th.last_activity for th in threads if th.last_activity), default=None)
        self.counts.threads_listed += len(threads)
        self.counts.threads_active += len(chosen)
        self.counts.threads_new += sum(th.thread_id not in followed for th in chosen)
        if newest is None:
            return []
        found: list[tuple[str, str, str]] = []
        marks: list[tuple[PartitionKey, dt.datetime]] = []
        self._chosen[partition.key] = (newest, marks)
        if MESSAGES not in self.options.children.get(CONVERSATIONS, ()):
            return []  # the listing alone: its mark moves, no thread is read
        for thread in chosen:
            url = followed[thread.thread_id].url if thread.thread_id in followed else thread.url
            key = (MESSAGES, identity, url)
            if thread.last_activity is not None:
                marks.append((key, thread.last_activity))
            found.append(key)
        return found

    def _posts(
        self, partition: Partition, items: list[dict[str, t.Any]]
    ) -> list[tuple[str, str, str]]:
        """The post streams' partitions a post activity listing calls for."""
        identity = partition.identity_id
        today = dt.datetime.fromtimestamp(self.now(), tz=dt.timezone.utc).date()
        children = self.options.children.get(POSTS, ())
        known = _known_posts(self.streams, children, identity)
        window: list[str] = []
        listed = 0
        for item in items:
            post = posts_rules.post_of(item)
            if post is None:
                continue
            listed += 1
            item["followed_post_url"] = None
            options = self.options
            if post.url and posts_rules.followed(
                post, today, options.window_days, reshares=options.reshares
            ):
                url = known.get(posts_rules.post_key(post.url), post.url)
                item["followed_post_url"] = url
                window.append(url)
        self.counts.posts_listed += listed
        self.counts.posts_in_window += len(window)
        self.counts.posts_new += sum(posts_rules.post_key(url) not in known for url in window)
        return [(stream, identity, url) for stream in children for url in window]

    # -- the parent streams' records ----------------------------------------------------------

    def records(self, key: PartitionKey) -> Iterator[dict[str, t.Any]]:
        """The listing's items the parent stream emits (the module docs).

        Args:
            key: The listing partition's key.

        Yields:
            Conversations whose activity moved since the last emission; every listed post.
        """
        items = self._listed.get(key, [])
        if key[0] != CONVERSATIONS:
            yield from items
            return
        yield from _moved(items, self.streams.state(key))

    def run_uid(self, key: PartitionKey) -> str | None:
        """The run the listing was read from."""
        return self.coordinator.run_uid(key)


def _moved(
    items: list[dict[str, t.Any]], state: t.MutableMapping[str, t.Any]
) -> Iterator[dict[str, t.Any]]:
    """The conversations that moved past the emitted mark (then moved to the newest)."""
    emitted = parse_time(read_mark(state, EMITTED_THROUGH))
    newest = emitted
    for item in items:
        moment = parse_time(item.get("last_activity_at"))
        if emitted is None or moment is None or moment > emitted:
            yield item
        if moment is not None and (newest is None or moment > newest):
            newest = moment
    if newest is not None:
        write_mark(state, EMITTED_THROUGH, iso(newest))


def _followed_threads(streams: Streams, identity: str) -> dict[str, thread_rules.Followed]:
    """The threads an identity's messages partitions follow, by thread id."""
    followed: dict[str, thread_rules.Followed] = {}
    for url, stored in streams.followed(MESSAGES, identity):
        thread_id = thread_rules.thread_id_of(url)
        if thread_id is not None:
            seen = parse_time(read_mark(stored, SEEN_ACTIVITY))
            followed[thread_id] = thread_rules.Followed(url, seen, is_unsettled(stored))
    return followed


def _known_posts(streams: Streams, children: Iterable[str], identity: str) -> dict[str, str]:
    """The posts an identity's post partitions follow: activity (or URL) -> their URL."""
    known: dict[str, str] = {}
    for stream in children:
        for url, _ in streams.followed(stream, identity):
            known.setdefault(posts_rules.post_key(url), url)
    return known
