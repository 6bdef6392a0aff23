"""Reading a run's outputs (tap_edges/batches/dated.py): the layout a full read learns, what
``output_count`` promises, and every check of the shortcuts, one case a row.

Items are written as minutes: ``11`` is the item extracted at minute 11. The mark (the newest
``extracted_at`` already emitted) is minute ``MARK``: items 1 to 10 were emitted, 11 on are new.
A string stands for an output item that is not a JSON object.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

import pytest

from tap_edges.batches.dated import _Scan, read_new
from tap_edges.batches.layout import after_full_read
from tap_edges.batches.source import Source
from tap_edges.model import Batch, Expected, Layout
from tap_edges.state import read_layout

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Sequence

    from tap_edges.api.client import EdgesClient

T0 = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
MARK = 10
PRIOR = "kept"  # the case keeps the count learned before (each is run from both)


def at(minute: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute)


def item(minute: object) -> object:
    """The output item extracted at ``minute`` (anything but an int is returned as is)."""
    if not isinstance(minute, int):
        return minute
    return {"n": minute, "extracted_at": at(minute).isoformat().replace("+00:00", "Z")}


def new_items(outputs: Sequence[object]) -> list[object]:
    return [item(m) for m in outputs if isinstance(m, int) and m > MARK]


def no_skip(value: object) -> None:
    pytest.fail(f"skipped {value!r}")


# -- after_full_read: the layout a full read shows --------------------------------------------


def learn(
    outputs: str,
    before: dict[str, t.Any] | Layout | None,
    count_before: int | None = None,
    count_now: int | None = None,
) -> Layout:
    """What a full read of ``outputs`` teaches (o: already emitted, n: new)."""
    layout = before if isinstance(before, Layout) else read_layout(before)
    expected = Expected(at(MARK), layout, count_before, count_now)
    unused = t.cast("t.Any", None)  # the scan pages through nothing: it is handed the items
    scan = _Scan(Source(unused, "r1", expected, no_skip, no_skip))
    for minute, letter in enumerate(outputs, start=1):
        new = letter == "n"
        assert scan.is_new(item(minute + MARK * new)) is new
    return after_full_read(
        expected.layout,
        total=scan.total,
        new=scan.batch.count,
        first=outputs.find("n"),
        last=outputs.rfind("n"),
        counts=(count_before, count_now),
    )


ORDER: list[tuple[str, dict[str, t.Any] | None, dict[str, t.Any]]] = [
    # The run served items before and none of them now: only the newest iteration.
    ("nnn", {"seen": 2}, {"order": "latest", "seen": 3}),
    ("n", {"order": "oldest", "seen": 5}, {"order": "latest", "seen": 1}),
    # The new items first, then the ones already emitted.
    ("nnoo", {"seen": 2}, {"order": "newest", "seen": 4}),
    ("no", {"order": "oldest", "seen": 1}, {"order": "newest", "seen": 2}),
    # The ones already emitted first, then the new items.
    ("oonn", {"seen": 2}, {"order": "oldest", "seen": 4}),
    ("on", {"order": "newest", "seen": 1}, {"order": "oldest", "seen": 2}),
    # Old and new items mixed: no layout a shortcut can use.
    ("nonn", {"order": "oldest", "seen": 3}, {"order": None, "seen": 4}),
    ("onno", {"order": "newest", "seen": 3}, {"order": None, "seen": 4}),
    ("oonon", {"order": "oldest", "seen": 3}, {"order": None, "seen": 5}),
    # Nothing new, or only new items in a run never read: the order is kept.
    ("ooo", {"order": "newest", "seen": 3}, {"order": "newest", "seen": 3}),
    ("", {"order": "latest", "seen": 4}, {"order": "latest", "seen": 0}),
    ("nnn", {"order": "oldest", "seen": 0}, {"order": "oldest", "seen": 3}),
    ("nnn", {"order": "newest"}, {"order": "newest", "seen": 3}),
    ("nnn", None, {"seen": 3}),
]


@pytest.mark.parametrize(
    ("outputs", "before", "learned"),
    ORDER,
    ids=[
        f"{o or 'empty'}-{(b or {}).get('order', 'unknown')}-to-{lr.get('order', 'unknown')}"
        for o, b, lr in ORDER
    ],
)
def test_learn_order(
    outputs: str, before: dict[str, t.Any] | None, learned: dict[str, t.Any]
) -> None:
    assert learn(outputs, before) == read_layout(learned)


@pytest.mark.parametrize(
    ("outputs", "count_before", "count_now", "count"),
    [
        # output_count counts every item of the run.
        ("oonnn", 2, 5, "total"),
        ("nnn", 2, 5, "total"),
        ("oo", 2, 2, "total"),  # nothing new, the count unchanged
        # output_count counts the newest iteration's items.
        ("oonnn", 2, 3, "iteration"),
        ("nnn", 2, 3, "iteration"),
        ("oo", 2, 0, "iteration"),  # nothing new, an empty iteration
        # output_count says neither.
        ("oonnn", 2, 7, None),
        ("oonnn", 2, 4, None),
        ("nnn", None, 4, None),
        # Both readings agree (nothing read before), or output_count is unknown: kept.
        ("nnn", None, 3, PRIOR),
        ("nnn", 0, 3, PRIOR),
        ("", 0, 0, PRIOR),
        ("oonnn", 2, None, PRIOR),
        ("oonnn", None, None, PRIOR),
    ],
)
@pytest.mark.parametrize("prior", ["total", "iteration"])
def test_learn_count(
    outputs: str, count_before: int | None, count_now: int | None, count: str | None, prior: str
) -> None:
    before = Layout(count=t.cast("t.Any", prior), seen=2)
    learned = learn(outputs, before, count_before, count_now)
    assert (learned.count, learned.seen) == (prior if count == PRIOR else count, len(outputs))


# -- Expected: what output_count promises ------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "count_before", "count_now", "new"),
    [
        ({"count": "total"}, 5, 8, 3),
        ({"count": "total"}, 5, 5, 0),
        ({"count": "total"}, 8, 5, -3),  # fewer than before: no read can match it
        ({"count": "total"}, None, 8, None),
        ({"count": "total"}, 5, None, None),
        ({"count": "iteration"}, 5, 8, 8),
        ({"count": "iteration"}, None, 8, 8),
        ({"count": "iteration"}, 5, 0, 0),
        ({"count": "iteration"}, 5, None, None),
        ({"count": None}, 5, 8, None),
        ({"order": "oldest", "seen": 5}, 5, 8, None),
        (None, 5, 8, None),
    ],
)
def test_expected_new(
    layout: dict[str, t.Any] | None, count_before: int | None, count_now: int | None, new: int
) -> None:
    assert Expected(at(MARK), read_layout(layout), count_before, count_now).new == new


@pytest.mark.parametrize(
    ("layout", "seen"),
    [({"seen": 4}, 4), ({"seen": 0}, 0), ({"seen": None}, 0), ({"order": "oldest"}, 0), (None, 0)],
)
def test_expected_seen(layout: dict[str, t.Any] | None, seen: int) -> None:
    assert Expected(at(MARK), read_layout(layout), None, None).seen == seen


# -- read_new: the shortcuts and their checks ---------------------------------------------------


class Outputs:
    """A stand-in for the client's two ways of paging through a run's outputs."""

    def __init__(self, minutes: Sequence[object], page_size: int) -> None:
        self.items = [item(m) for m in minutes]
        self.page_size = page_size
        self.calls: list[int | None] = []  # the offset of each read (None: from the start)
        self.pages = 0  # pages served

    def output_pages(self, run_uid: str) -> Iterator[list[t.Any]]:
        """Every page, as ``GET /runs/{uid}/outputs`` following ``X-Pagination-Next``."""
        assert run_uid == "r1"
        self.calls.append(None)
        size = self.page_size
        for start in range(0, max(len(self.items), 1), size):
            self.pages += 1
            yield self.items[start : start + size]

    def output_pages_from(self, run_uid: str, offset: int) -> Iterator[list[t.Any]]:
        """The pages from ``offset``, until a page is not full, as with ``?offset=``."""
        assert run_uid == "r1"
        self.calls.append(offset)
        while True:
            self.pages += 1
            page = self.items[offset : offset + self.page_size]
            yield page
            if len(page) < self.page_size:
                return
            offset += len(page)


@dataclasses.dataclass
class Reading:
    """What one ``read_new`` did: the items in order, the fallbacks, the skipped values."""

    items: list[object] = dataclasses.field(default_factory=list)
    fallbacks: list[tuple[str, int]] = dataclasses.field(default_factory=list)  # why, items before
    skipped: list[object] = dataclasses.field(default_factory=list)
    batch: Batch = dataclasses.field(default_factory=Batch)

    def drain(self, reader: Generator[dict[str, t.Any], None, Batch]) -> None:
        def keep_batch() -> Generator[dict[str, t.Any], None, None]:
            self.batch = yield from reader

        for got in keep_batch():
            self.items.append(got)  # one at a time: the fallback counts them

    def fallback(self, why: str) -> None:
        self.fallbacks.append((why, len(self.items)))


def read(client: Outputs, expected: Expected) -> Reading:
    reading = Reading()
    uncast = t.cast("EdgesClient", client)
    reading.drain(
        read_new(Source(uncast, "r1", expected, reading.skipped.append, reading.fallback))
    )
    return reading


@dataclasses.dataclass(frozen=True)
class Case:
    """One reading of the outputs ``outputs`` with a layout learned before.

    Attributes:
        order: The order learned before.
        outputs: The outputs now, in Edges' order (pages of ``page_size``).
        seen: How many items the outputs held at the last read.
        why: The fallback's reason (None: the shortcut's result is right).
        early: The new items the shortcut yielded before it found out (yielded twice).
        count: What ``output_count`` counts (None: unknown).
        counts: The ``output_count`` at the last read, and now.
        pages: The pages a right shortcut reads.
    """

    order: str
    outputs: list[int]
    seen: int
    why: str | None = None
    early: list[int] = dataclasses.field(default_factory=list)
    count: str | None = None
    counts: tuple[int | None, int | None] = (None, None)
    pages: int = 0
    page_size: int = 2

    def expected(self) -> Expected:
        layout = {"order": self.order, "count": self.count, "seen": self.seen}
        return Expected(at(MARK), read_layout(layout), *self.counts)

    def shortcut_calls(self) -> list[int | None]:
        """The shortcut's read: from the boundary (oldest first), else from the start."""
        if self.order != "oldest":
            return [None]
        return [self.seen - 1] if self.seen else []  # no boundary known: nothing to read


RIGHT = [
    # From the last item read (the boundary, at offset seen - 1) to the end.
    Case("oldest", [1, 2, 10, 11, 12], seen=3, pages=2),  # 10: at the mark, already emitted
    Case("oldest", [1, 2, 3, 11, 12], seen=3, count="total", counts=(3, 5), pages=2),
    Case("oldest", [1, 2, 3, 4, 5, 11], seen=5, count="iteration", counts=(2, 1), pages=2),
    Case("oldest", [1, 2, 3, 4, 5, 11], seen=5, page_size=3, pages=1),
    # Until the first item already emitted, and the rest of its page.
    Case("newest", [12, 11, 3, 2, 1], seen=3, pages=2),
    Case("newest", [13, 12, 11, 3, 2, 1], seen=3, count="total", counts=(3, 6), pages=2),
    Case("newest", [12, 11, 1], seen=1, count="iteration", counts=(1, 2), pages=2),
    Case("newest", [12, 11, 13], seen=0, pages=2),  # a new run's first read: all new
    # Every page.
    Case("latest", [11, 12, 13], seen=3, pages=2),
    Case("latest", [11, 12], seen=5, count="iteration", counts=(5, 2), pages=1),
    Case("latest", [11, 12], seen=5, count="total", counts=(5, 7), pages=1),
]


@pytest.mark.parametrize("case", RIGHT, ids=lambda c: f"{c.order}-{c.outputs}-{c.count}")
def test_a_right_shortcut_reads_only_the_new_items(case: Case) -> None:
    client = Outputs(case.outputs, case.page_size)
    reading = read(client, case.expected())
    assert reading.items == new_items(case.outputs)
    assert reading.fallbacks == []
    assert (client.calls, client.pages) == (case.shortcut_calls(), case.pages)
    batch = reading.batch
    newest = at(max(case.outputs))
    assert (batch.count, batch.newest, batch.mismatch) == (len(reading.items), newest, None)
    layout = {"order": case.order, "count": case.count, "seen": len(case.outputs), "dated": True}
    assert batch.layout == read_layout(layout)


MISMATCH = [
    Case("oldest", [11, 12], seen=0, why="no record of where the new items start"),
    # Edges dropped an item already emitted: the boundary moved.
    Case("oldest", [1, 2, 11, 12, 13], seen=3, why="the item before the new ones is new too"),
    Case(
        "oldest",
        [1, 2, 11, 3],
        seen=2,
        why="an item already emitted comes after the new ones",
        early=[11],
    ),
    # Edges switched to serving the newest iteration only.
    Case("oldest", [11, 12], seen=5, why="the outputs hold fewer items than before"),
    Case("oldest", [1, 2, 3, 4], seen=5, why="the outputs hold fewer items than before"),
    Case(
        "oldest",
        [1, 2, 11, 12],
        seen=2,
        why="2 new item(s) where output_count says 3",
        early=[11, 12],
        count="total",
        counts=(2, 5),
    ),
    Case(
        "newest",
        [13, 12, 1, 11],
        seen=2,
        why="a new item comes after one already emitted",
        early=[13, 12],
    ),
    Case(
        "newest", [12, 11], seen=2, why="the items already emitted were not found", early=[12, 11]
    ),
    # A new item on a page after the first item already emitted: only output_count tells.
    Case(
        "newest",
        [12, 1, 2, 11],
        seen=2,
        why="1 new item(s) where output_count says 2",
        early=[12],
        count="total",
        counts=(2, 4),
    ),
    Case("latest", [1, 2, 11, 12], seen=2, why="an item already emitted is served again"),
    Case("latest", [11, 1], seen=2, why="an item already emitted is served again", early=[11]),
    Case(
        "latest",
        [11, 12],
        seen=3,
        why="2 new item(s) where output_count says 3",
        early=[11, 12],
        count="iteration",
        counts=(3, 3),
    ),
]


@pytest.mark.parametrize("case", MISMATCH, ids=lambda c: f"{c.order}-{c.why}")
def test_a_wrong_shortcut_falls_back_to_a_full_read(case: Case) -> None:
    client = Outputs(case.outputs, case.page_size)
    reading = read(client, case.expected())
    early = [item(m) for m in case.early]
    assert reading.fallbacks == [(t.cast("str", case.why), len(early))]
    assert reading.items == early + new_items(case.outputs)  # some twice, none missed
    assert client.calls == [*case.shortcut_calls(), None]  # then the full read
    batch = reading.batch
    assert (batch.count, batch.mismatch) == (len(new_items(case.outputs)), None)
    assert batch.layout is not None
    assert batch.layout.seen == len(case.outputs)
    assert reading.skipped == []


@pytest.mark.parametrize(
    ("mark", "layout"),
    [
        (None, {"order": "oldest", "seen": 2}),  # nothing emitted yet
        (at(MARK), {"order": None, "seen": 2}),
        (at(MARK), {"seen": 2}),
        (at(MARK), None),
    ],
)
def test_without_a_mark_or_a_known_order_the_outputs_are_read_in_full(
    mark: dt.datetime | None, layout: dict[str, t.Any] | None
) -> None:
    outputs = [1, 2, 11, 12, 13]
    client = Outputs(outputs, page_size=2)
    reading = read(client, Expected(mark, read_layout(layout), None, None))
    assert reading.items == (new_items(outputs) if mark is not None else list(client.items))
    assert (reading.fallbacks, client.calls, client.pages) == ([], [None], 3)


@pytest.mark.parametrize("order", ["oldest", "newest", "latest", None])
@pytest.mark.parametrize(("count", "counts"), [("total", (5, 5)), ("iteration", (5, 0))])
def test_when_output_count_says_nothing_is_new_no_page_is_read(
    order: str | None, count: str, counts: tuple[int, int]
) -> None:
    client = Outputs([1, 2, 3, 4, 5, 11], page_size=2)
    layout = {"order": order, "count": count, "seen": 5}
    reading = read(client, Expected(at(MARK), read_layout(layout), *counts))
    assert (reading.items, reading.fallbacks, client.calls, client.pages) == ([], [], [], 0)
    assert reading.batch == Batch(newest=at(MARK), layout=read_layout(layout))


@pytest.mark.parametrize(
    ("order", "outputs", "seen"),
    [
        ("oldest", [1, 2, "not an object", 11, None, 12], 2),
        ("newest", [11, [11], 12, 3.5, 1], 1),
        ("latest", ["x", 11, 12, {"n": "undated"}], 3),
        (None, [1, "x", 11, None], 3),  # the full read
    ],
)
def test_items_that_are_not_objects_are_skipped(
    order: str | None, outputs: list[object], seen: int
) -> None:
    layout = {"order": order, "seen": seen}
    expected = Expected(at(MARK), read_layout(layout), None, None)
    reading = read(Outputs(outputs, page_size=2), expected)
    objects = [m for m in outputs if isinstance(m, dict)]
    assert reading.items == new_items(outputs) + objects  # an undated object is new
    assert reading.skipped == [m for m in outputs if not isinstance(m, (int, dict))]
    assert reading.fallbacks == []
