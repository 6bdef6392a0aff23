"""Telling new output items from old by position, where times and offsets cannot be used.

Two things Edges may not give (edges-api.md §11): items with a readable ``extracted_at``, and
the deprecated ``offset`` on outputs. Without times, the new items of a continued run are
found by where the items read last time sit now: the state keeps the keys of the first and
last items read (a hash of each item) and how many there were; the new items are the ones
around that block (before it: newest first; after it: oldest first), or all of them when none
of the old ones is served (newest iteration only). Without ``offset``, the pages before a
position are read with cursors and skipped.
"""

from __future__ import annotations

import hashlib
import typing as t

import msgspec

from tap_edges import errors
from tap_edges.model import Batch
from tap_edges.retries import TOO_MANY
from tap_edges.times import time_reader

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from tap_edges.client import EdgesClient
    from tap_edges.model import Expected


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
        batch: The batch read (its layout is updated in place).
    """
    layout = batch.layout
    if layout is None or not (batch.dated or batch.first_key):
        return  # nothing was read
    layout["dated"] = batch.dated > 0
    if batch.dated:
        layout.pop("first", None)
        layout.pop("last", None)
        return
    batch.positional = True
    batch.undated = 0  # told apart by position from now on, not emitted again
    layout["first"], layout["last"] = batch.first_key, batch.last_key


def read_by_position(
    client: EdgesClient,
    run_uid: str,
    expected: Expected,
    skip: Callable[[object], None],
) -> Generator[dict[str, t.Any], None, Batch]:
    """Yield the run's new items, told from old ones by the boundary kept in the state.

    Every page is read (the old block's place is not known before), and the run's items are
    held in memory until it is found.

    Args:
        client: The API client.
        run_uid: The run.
        expected: What the state says (the boundary keys and the count read last time).
        skip: Called with each item that is not a JSON object.

    Yields:
        The new items, in the order Edges gave them.

    Returns:
        The batch, its layout updated to the items read now.
    """
    items: list[dict[str, t.Any]] = []
    for page in client.output_pages(run_uid):
        for item in page:
            if isinstance(item, dict):
                items.append(item)
            else:
                skip(item)
    keys = [item_key(item) for item in items]
    layout = dict(expected.layout or {})
    batch = Batch(newest=expected.mark, layout=layout, positional=True)
    read = time_reader(expected.stand_in)
    for index in new_positions(keys, layout.get("first"), layout.get("last"), expected.seen):
        item = items[index]
        at = read(item)
        batch.count += 1
        if at is not None and (batch.newest is None or at > batch.newest):
            batch.newest = at
        yield item
    if keys:
        layout.update(first=keys[0], last=keys[-1], seen=len(keys), dated=False)
    return batch


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
    client: EdgesClient, run_uid: str, start: int, layout: dict[str, t.Any] | None
) -> Iterator[list[t.Any]]:
    """The pages of a run's outputs from a position on: by ``offset``, or by cursors.

    Edges deprecated ``offset``: when it refuses it (a 4xx), the layout remembers it and the
    pages before ``start`` are read with cursors and skipped, this time and the next ones.

    Args:
        client: The API client.
        run_uid: The run.
        start: Position of the first item wanted.
        layout: The partition's outputs layout (``offset``: False once refused).

    Yields:
        Each page from the one holding ``start``, cut to begin at ``start``.
    """
    if layout is None or layout.get("offset") is not False:
        pages = client.output_pages_from(run_uid, start)
        try:
            first = next(pages, None)
        except errors.APIError as exc:
            if not (400 <= exc.status < 500) or exc.status in {401, 403, 404, TOO_MANY}:  # noqa: PLR2004
                raise
            if layout is not None:
                layout["offset"] = False
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
