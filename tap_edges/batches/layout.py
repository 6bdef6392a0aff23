"""What reading a partition's outputs taught (:class:`tap_edges.model.Layout`), changed here alone.

Edges does not say how a continued run serves its outputs (edges-api.md §11): every iteration's
items, oldest or newest iteration first, or the newest iteration's only; with items that carry a
readable ``extracted_at`` or not; with ``output_count`` counting every iteration or the newest.
A :class:`~tap_edges.model.Layout` (a frozen value) keeps what the reads of one partition have
shown, so the next read takes the shortest safe way (:mod:`.dated`, :mod:`.positional`). Every
new layout is made by a function of this module; :mod:`tap_edges.state` alone turns it into JSON
and back.
"""

from __future__ import annotations

import dataclasses

from tap_edges.model import Layout, Order


def restarted(layout: Layout | None) -> Layout | None:
    """The layout for a new run of the same partition: what its outputs held does not hold."""
    return None if layout is None else dataclasses.replace(layout, seen=0)


def without_offset(layout: Layout | None) -> Layout:
    """The layout once Edges refused ``offset`` on the outputs."""
    return dataclasses.replace(layout or Layout(), offset=False)


def after_shortcut(
    layout: Layout, *, seen: int, first: str | None = None, last: str | None = None
) -> Layout:
    """The layout after a shortcut read: the count held now, and the boundary kept.

    Args:
        layout: The layout read with.
        seen: Items the outputs held now.
        first: The key of the first item now, when the read moves that boundary.
        last: The key of the last item now, when the read moves that boundary.
    """
    return dataclasses.replace(
        layout, seen=seen, first=first or layout.first, last=last or layout.last
    )


def after_full_read(  # noqa: PLR0913
    layout: Layout | None,
    *,
    total: int,
    new: int,
    first: int,
    last: int,
    counts: tuple[int | None, int | None],
) -> Layout:
    """The layout a full read by time shows (what it cannot tell is kept from before).

    Args:
        layout: The layout before.
        total: Items served now.
        new: New items among them.
        first: The position of the first new item (-1: none).
        last: The position of the last new item (-1: none).
        counts: The run's ``output_count`` at the last read and now.
    """
    before = layout or Layout()
    order = before.order
    contiguous = last - first + 1 == new
    if new and total == new and before.seen:
        order = "latest"  # the run served items before, and none of them now
    elif new and total > new and contiguous and first == 0:
        order = "newest"
    elif new and total > new and contiguous and last == total - 1:
        order = "oldest"
    elif new and total > new:
        order = None
    counted = counting(before, counts, new)
    return dataclasses.replace(counted, order=order, seen=total)


def counting(layout: Layout, counts: tuple[int | None, int | None], new: int) -> Layout:
    """What ``output_count`` counts, as a read of ``new`` items shows it (else kept).

    Args:
        layout: The layout before.
        counts: The run's ``output_count`` at the last read and now.
        new: The new items read.
    """
    before, now = counts
    count = layout.count
    if now is not None and before is not None and now == before + new and now != new:
        count = "total"
    elif now is not None and now == new and before:
        count = "iteration"
    elif now is not None and now not in {new, (before or 0) + new}:
        count = None
    return dataclasses.replace(layout, count=count)


def dating(
    layout: Layout | None, *, dated: int, first: str | None, last: str | None
) -> Layout | None:
    """After a read by time: whether the items carry times, and the boundary when they do not.

    Args:
        layout: The layout the read ended with.
        dated: Items read whose ``extracted_at`` could be read.
        first: The key of the first item read without a time, if any.
        last: The key of the last item read without a time, if any.
    """
    if layout is None or not (dated or first):
        return layout  # nothing was read
    if dated:
        return dataclasses.replace(layout, dated=True, first=None, last=None)
    return dataclasses.replace(layout, dated=False, first=first, last=last)


def after_positional_read(
    layout: Layout, keys: list[str], new: range | list[int], seen: int
) -> Layout:
    """The layout a full read by position shows.

    Args:
        layout: The layout before.
        keys: The keys of every item served now, in order.
        new: The positions of the new items among them.
        seen: Items served at the last read of this run.
    """
    if not keys:
        return layout
    order = learn_order(len(keys), new, seen, layout.order)
    return dataclasses.replace(
        layout, order=order, first=keys[0], last=keys[-1], seen=len(keys), dated=False
    )


def learn_order(
    total: int, new: range | list[int], seen: int, before: Order | None
) -> Order | None:
    """The order a full positional read shows (what it cannot tell is kept).

    Args:
        total: Items served now.
        new: The positions of the new items among them.
        seen: Items served at the last read of this run (0: a new run).
        before: The order learned before.

    Returns:
        ``oldest``, ``newest``, ``latest``, None (none of these), or ``before``.
    """
    count = len(new)
    if not seen or not count:
        return before  # a new run, or nothing new: the layout does not show
    if count == total:
        return "latest"  # the run served items before, and none of them now
    if list(new) == list(range(count)):
        return "newest"
    if list(new) == list(range(total - count, total)):
        return "oldest"
    return None
