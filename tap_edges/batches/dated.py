"""Reading a run's outputs: the items not emitted before, and what the batch held.

Edges may return, after a continue, the outputs of every iteration (cumulative, oldest or
newest iteration first) or only the newest one: the docs do not say. Dropping every item
extracted at or before the partition's bookmark is correct in every layout; learning the
layout lets a sync read only the pages that hold new items (see :func:`read_new`).
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_edges.batches import layout as layouts
from tap_edges.batches import positional as positions
from tap_edges.model import Batch, Layout
from tap_edges.times import time_reader

if t.TYPE_CHECKING:
    from collections.abc import Generator

    from tap_edges.batches.source import Source


def read_new(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """Yield a run's items extracted after the mark, reading as few pages as it can.

    Edges may serve, after a continue, the outputs of every iteration (oldest or newest
    iteration first) or only the newest iteration's: the docs do not say. A full read (every
    page, each item kept when extracted after the mark) is right in every layout and learns
    which one Edges uses; then the next reads take a shortcut: from the offset where the new
    items start (oldest first), until the first item already emitted (newest first), or every
    page (newest only), and none at all when ``output_count`` says nothing is new. Each
    shortcut is checked (the item at the boundary, the count of new items against
    ``output_count``); on any disagreement the outputs are read in full, and items read by the
    shortcut may be emitted twice (targets dedupe them), never missed.

    Args:
        source: The run's outputs, what the state and the run object say of them, and whom
            to tell of items skipped and of shortcuts not trusted.

    Yields:
        The new items, in the order Edges gave them.

    Returns:
        The batch's counts, its newest ``extracted_at`` and the layout learned.
    """
    expected = source.expected
    if expected.new == 0:
        return Batch(newest=expected.mark, layout=expected.layout)
    if expected.layout is not None and expected.layout.dated is False:
        batch = yield from positions.read_by_position(source)
        counts = (expected.count_before, expected.count_now)
        batch.layout = layouts.counting(batch.layout or Layout(), counts, batch.count)
        return batch
    batch = yield from _read_dated(source)
    positions.learn_dating(batch)
    return batch


def _read_dated(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """:func:`read_new` where items carry their ``extracted_at`` (or may: a first read)."""
    expected = source.expected
    order = expected.layout.order if expected.layout else None
    shortcut = _SHORTCUTS.get(order) if order and expected.mark is not None else None
    if shortcut is not None:
        batch = yield from shortcut(source)
        if batch.mismatch is None and expected.new not in (None, batch.count):
            batch.mismatch = f"{batch.count} new item(s) where output_count says {expected.new}"
        if batch.mismatch is None:
            return batch
        source.fallback(batch.mismatch)
        if batch.layout is not None and not batch.layout.offset:  # learned by the shortcut
            layout = layouts.without_offset(expected.layout)
            source = dataclasses.replace(
                source, expected=dataclasses.replace(expected, layout=layout)
            )
    return (yield from _full_read(source))


class _Scan:
    """Counts and checks items as they are read, against the mark."""

    def __init__(self, source: Source) -> None:
        expected = source.expected
        self.mark, self.skip = expected.mark, source.skip
        self.batch = Batch(newest=expected.mark, layout=expected.layout or Layout())
        self.parse = time_reader(expected.stand_in)
        self.total = 0  # items read, new or not

    def is_new(self, item: object) -> bool | None:
        """True for a new item (counted), False for an emitted one, None for a non-object."""
        if not isinstance(item, dict):
            self.skip(item)
            return None
        self.total += 1
        batch = self.batch
        at = self.parse(item)
        if at is not None:
            batch.dated += 1
            if self.mark is not None and at <= self.mark:
                return False
        if at is None:  # where it sits is what tells it apart (see positions.py)
            batch.last_key = positions.item_key(item)
            batch.first_key = batch.first_key or batch.last_key
            batch.undated += 1
        elif batch.newest is None or at > batch.newest:
            batch.newest = at
        batch.count += 1
        return True


def _oldest_first(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """New items follow the ones already read: start at the last item read (the boundary)."""
    scan, expected = _Scan(source), source.expected
    start = expected.seen - 1
    if start < 0:
        scan.batch.mismatch = "no record of where the new items start"
        return scan.batch
    boundary: bool | None = None
    for page in positions.pages_from(source.client, source.run_uid, start, scan.batch):
        for item in page:
            new = scan.is_new(item)
            if boundary is None and new is not None:
                boundary = new
                if new:
                    scan.batch.mismatch = "the item before the new ones is new too"
                    return scan.batch
            elif new is False:
                scan.batch.mismatch = "an item already emitted comes after the new ones"
                return scan.batch
            elif new:
                yield item
    if boundary is None:
        scan.batch.mismatch = "the outputs hold fewer items than before"
    scan.batch.layout = layouts.after_shortcut(_of(scan.batch), seen=start + scan.total)
    return scan.batch


def _newest_first(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """New items come first: read until the first item already emitted."""
    scan, expected = _Scan(source), source.expected
    reached = False
    for page in source.pages():
        for item in page:
            new = scan.is_new(item)
            if new and reached:
                scan.batch.mismatch = "a new item comes after one already emitted"
                return scan.batch
            reached = reached or new is False
            if new:
                yield item
        if reached:
            break
    if not reached and expected.seen:
        scan.batch.mismatch = "the items already emitted were not found"
    seen = expected.seen + scan.batch.count
    scan.batch.layout = layouts.after_shortcut(_of(scan.batch), seen=seen)
    return scan.batch


def _latest_only(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """Only the newest iteration is served: every item is new."""
    scan = _Scan(source)
    for page in source.pages():
        for item in page:
            new = scan.is_new(item)
            if new is False:
                scan.batch.mismatch = "an item already emitted is served again"
                return scan.batch
            if new:
                yield item
    scan.batch.layout = layouts.after_shortcut(_of(scan.batch), seen=scan.total)
    return scan.batch


_SHORTCUTS = {"oldest": _oldest_first, "newest": _newest_first, "latest": _latest_only}


def _full_read(source: Source) -> Generator[dict[str, t.Any], None, Batch]:
    """Every page; keep the new items and learn where Edges puts them."""
    scan, expected = _Scan(source), source.expected
    first = last = -1  # positions of the first and last new items among all items
    for page in source.pages():
        for item in page:
            if scan.is_new(item):
                last = scan.total - 1
                first = last if first < 0 else first
                yield item
    scan.batch.layout = layouts.after_full_read(
        expected.layout,
        total=scan.total,
        new=scan.batch.count,
        first=first,
        last=last,
        counts=(expected.count_before, expected.count_now),
    )
    return scan.batch


def _of(batch: Batch) -> Layout:
    """The layout a scan reads with (a scan always starts one)."""
    return batch.layout or Layout()
