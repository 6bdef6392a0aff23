"""Telling new output items from old by position, where times and offsets cannot be used.

Two things Edges may not give (edges-api.md §11): items with a readable ``extracted_at``, and
the deprecated ``offset`` on outputs. Without times, the new items of a continued run are
found by where the items read last time sit now: the state keeps the keys of the first and
last items read (a hash of each item) and how many there were; the new items are the ones
around that block (before it: newest first; after it: oldest first), or all of them when none
of the old ones is served (newest iteration only). Once a read of every page has shown where
they go, a sync reads only the pages that can hold new items, and checks the boundary first
(:func:`shortcut`); when the check fails, every page is read, as the first time. Without
``offset``, the pages before a position are read with cursors and skipped.
"""

from __future__ import annotations

import hashlib
import typing as t

import msgspec

from tap_edges import errors
from tap_edges.api.retries import TOO_MANY
from tap_edges.batches import layout as layouts
from tap_edges.model import Batch, Layout
from tap_edges.times import time_reader

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from tap_edges.api.client import EdgesClient
    from tap_edges.batches.source import Source


def item_key(item: dict[str, t.Any]) -> str:
    """A stable key of an output item as Edges serves it: a hash of its content.

    ``extracted_at`` is left out: the tap rewrites it (read, or null), and it is what the
    item lacks when this key is needed.
    """
    content = {key: value for key, value in item.items() if key != "extracted_at"}
    encoded = msgspec.json.encode(content, order="sorted")
    return hashlib.sha256(encoded).hexdigest()[:16]


def learn_dating(batch: Batch) -> None:
    """After a read by time: whether the items carry times, and the boundary when they do not.

    Args:
        batch: The batch read (its layout is replaced by what it shows).
    """
    learned = layouts.dating(
        batch.layout, dated=batch.dated, first=batch.first_key, last=batch.last_key
    )
    if learned is not None and learned.dated is False:
        batch.positional = True
        batch.undated = 0  # told apart by position from now on, not emitted again
    batch.layout = learned


def read_by_position(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """Yield the run's new items, told from old ones by the boundary kept in the state.

    With the layout learned, only the pages that can hold new items are read (see
    :func:`shortcut`): oldest first, from the last item read before (checked to be it); newest
    first, until the first item read before. Otherwise (and when that check fails) every page
    is read and the run's items are held in memory until the old block is found; a sync that
    reads every page learns the layout.

    Args:
        source: The run's outputs; what the state says of them (the boundary keys and the
            count read last time); whom to tell of items skipped and boundary checks failed.

    Yields:
        The new items, in the order Edges gave them.

    Returns:
        The batch, its layout updated to the items read now.
    """
    expected, fallback = source.expected, source.fallback
    layout = expected.layout or Layout()
    batch = Batch(newest=expected.mark, layout=layout, positional=True)
    read = time_reader(expected.stand_in)
    order = shortcut(layout, expected.seen, expected.new)
    if order == "oldest":
        after = _after_last(source, batch)
        if isinstance(after, list):
            # keyed before it is emitted (the stream adds fields to its records)
            last = item_key(after[-1]) if after else None
            seen = expected.seen + len(after)
            batch.layout = layouts.after_shortcut(batch.layout or layout, seen=seen, last=last)
            yield from _emit(batch, after, read)
            return batch
        fallback(after)
        layout = batch.layout or layout  # an offset refusal learned on the way is kept
    keys: list[str] = []
    items: list[dict[str, t.Any]] = []
    for page in source.pages():
        start = len(keys)
        for item in _objects(page, source.skip):
            keys.append(item_key(item))
            items.append(item)
        if order == "newest" and layout.first in keys[start:]:
            at = keys.index(layout.first, start)
            if at == expected.new:
                yield from _emit(batch, items[:at], read)
                seen = expected.seen + at
                batch.layout = layouts.after_shortcut(layout, seen=seen, first=keys[0])
                return batch
            fallback(f"{at} new item(s) where output_count says {expected.new}")
            order = None
    if order == "newest":
        fallback("the first item read before was not found")
    positions = new_positions(keys, layout.first, layout.last, expected.seen)
    yield from _emit(batch, [items[index] for index in positions], read)
    batch.layout = layouts.after_positional_read(layout, keys, positions, expected.seen)
    return batch


def shortcut(layout: Layout, seen: int, new: int | None) -> str | None:
    """The shortcut a positional read may take: ``oldest``, ``newest``, or None (read all).

    Oldest first, the item at the boundary is read first: found where it was, the items after
    it are new. Newest first, finding the first item read before tells nothing when Edges has
    turned to appending (it is then first again, and every new item after it would be lost):
    only ``output_count`` can tell, so that shortcut is taken only when its meaning is known.

    Args:
        layout: The partition's outputs layout.
        seen: How many items were read last time from this run (0: none, a new run).
        new: How many new items ``output_count`` promises, if it can tell.

    Returns:
        The learned order when its boundary is kept (``last`` for oldest first, ``first`` for
        newest first); None otherwise, and for the newest iteration only (every item is new).
    """
    order = layout.order
    if order == "newest" and new is None:
        return None
    kept = {"oldest": layout.last, "newest": layout.first}  # the boundary each shortcut checks
    return order if seen and order in kept and kept[order] else None


def _after_last(source: Source, batch: Batch) -> list[dict[str, t.Any]] | str:
    """Oldest first: the items after the last one read before, or why they cannot be trusted.

    Reads from that item's position on; it must be the first item read, and the items after
    it as many as ``output_count`` says are new (when it says). Only the new items are held.
    """
    boundary: str | None = None
    after: list[dict[str, t.Any]] = []
    expected = source.expected
    last = expected.layout.last if expected.layout else None
    for page in pages_from(source.client, source.run_uid, expected.seen - 1, batch):
        for item in _objects(page, source.skip):
            if boundary is None:
                boundary = item_key(item)
                if boundary != last:
                    return "the last item read before is not where it was"
            else:
                after.append(item)
    if boundary is None:
        return "the outputs hold fewer items than before"
    if expected.new not in (None, len(after)):
        return f"{len(after)} new item(s) where output_count says {expected.new}"
    return after


def _objects(page: list[t.Any], skip: Callable[[object], None]) -> Iterator[dict[str, t.Any]]:
    for item in page:
        if isinstance(item, dict):
            yield item
        else:
            skip(item)


def _emit(
    batch: Batch, items: list[dict[str, t.Any]], read: Callable[[dict[str, t.Any]], t.Any]
) -> Iterator[dict[str, t.Any]]:
    """Yield the new items, counting them and keeping the newest time they carry."""
    for item in items:
        at = read(item)
        batch.count += 1
        if at is not None and (batch.newest is None or at > batch.newest):
            batch.newest = at
        yield item


def new_positions(keys: list[str], first: object, last: object, seen: int) -> range | list[int]:
    """The positions of the new items among the items served now.

    Args:
        keys: The keys of the items served now, in order.
        first: The key of the first item read last time, if kept.
        last: The key of the last item read last time, if kept.
        seen: How many items were read last time from this run (0: none, a new run).

    Returns:
        The positions, in order.
    """
    if seen == 0 or (first is None and last is None):
        return range(len(keys))  # the run's first read: every item is new
    at_first = keys.index(first) if first in keys else None
    at_last = len(keys) - 1 - keys[::-1].index(last) if last in keys else None
    found = [at for at in (at_first, at_last) if at is not None]
    if not found:
        return range(len(keys))  # none of the old items is served: the newest iteration only
    low, high = min(found), max(found)
    return [*range(low), *range(high + 1, len(keys))]


def pages_from(
    client: EdgesClient, run_uid: str, start: int, batch: Batch | None
) -> Iterator[list[t.Any]]:
    """The pages of a run's outputs from a position on: by ``offset``, or by cursors.

    Edges deprecated ``offset``: when it refuses it (a 4xx), the layout remembers it and the
    pages before ``start`` are read with cursors and skipped, this time and the next ones.

    Args:
        client: The API client.
        run_uid: The run.
        start: Position of the first item wanted.
        batch: The batch being read: its layout says whether Edges refused ``offset``, and
            learns it when Edges does now.

    Yields:
        Each page from the one holding ``start``, cut to begin at ``start``.
    """
    if batch is None or batch.layout is None or batch.layout.offset:
        pages = client.output_pages_from(run_uid, start)
        try:
            first = next(pages, None)
        except errors.APIError as exc:
            if not (400 <= exc.status < 500) or exc.status in {401, 403, 404, TOO_MANY}:  # noqa: PLR2004
                raise
            if batch is not None:
                batch.layout = layouts.without_offset(batch.layout)
        else:
            if first is not None:
                yield first
                yield from pages
            return
    passed = 0
    for page in client.output_pages(run_uid):
        if passed + len(page) > start:
            yield page[max(start - passed, 0) :]
        passed += len(page)
