"""Telling new items from old by position (no extracted_at), and reading without offset."""

from __future__ import annotations

import typing as t

import pytest

from tap_edges import errors
from tap_edges.batches.dated import read_new
from tap_edges.batches.layout import learn_order
from tap_edges.batches.positional import item_key, new_positions, pages_from, shortcut
from tap_edges.batches.source import Source
from tap_edges.model import Batch, Expected, Layout
from tap_edges.state import read_layout, write_layout
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class Outputs:
    """A run's outputs served in pages, by cursor or by offset (which may be refused)."""

    def __init__(self, items: list[t.Any], page: int = 3, *, offset: bool = True) -> None:
        self.items, self.page, self.offset = items, page, offset
        self.requests: list[tuple[str, int]] = []

    def output_pages(self, run_uid: str) -> Iterator[list[t.Any]]:
        for start in range(0, max(len(self.items), 1), self.page):
            self.requests.append(("cursor", start))
            yield fresh(self.items[start : start + self.page])

    def output_pages_from(self, run_uid: str, offset: int) -> Iterator[list[t.Any]]:
        self.requests.append(("offset", offset))
        if not self.offset:
            raise errors.APIError(
                method="GET", path="/v1/runs/r/outputs", status=400, label="BAD_PARAMETERS"
            )
        for start in range(offset, len(self.items), self.page):
            yield fresh(self.items[start : start + self.page])


def fresh(page: list[t.Any]) -> list[t.Any]:
    """Items as a new answer holds them (the tap writes into the ones it reads)."""
    return [dict(item) if isinstance(item, dict) else item for item in page]


def people(*names: str) -> list[dict[str, t.Any]]:
    return [{"name": name} for name in names]


KEYS = [item_key(item) for item in people("a", "b", "c", "d", "e")]


@pytest.mark.parametrize(
    ("case", "first", "last", "seen", "positions"),
    [
        ("the run's first read", None, None, 0, [0, 1, 2, 3, 4]),
        ("no boundary kept", None, None, 3, [0, 1, 2, 3, 4]),
        ("oldest first: after the old block", KEYS[0], KEYS[2], 3, [3, 4]),
        ("newest first: before the old block", KEYS[2], KEYS[4], 3, [0, 1]),
        ("nothing new, oldest first", KEYS[0], KEYS[4], 5, []),
        ("nothing new, newest first", KEYS[0], KEYS[4], 5, []),
        ("newest iteration only: no old item served", "gone1", "gone2", 3, [0, 1, 2, 3, 4]),
        ("only the first old item is served", KEYS[2], "gone", 3, [0, 1, 3, 4]),
        ("only the last old item is served", "gone", KEYS[1], 3, [0, 2, 3, 4]),
    ],
)
def test_new_positions(
    case: str, first: str | None, last: str | None, seen: int, positions: list[int]
) -> None:
    assert list(new_positions(KEYS, first, last, seen)) == positions, case


def read(
    outputs: Outputs, layout: dict[str, t.Any] | None, mark: t.Any = None
) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
    expected = Expected(
        mark=mark,
        layout=read_layout(layout),
        count_before=None,
        count_now=None,
        stand_in="2026-11-28T10:00:00Z",
    )
    reading = read_new(Source(t.cast("t.Any", outputs), "r", expected, skip=print, fallback=print))
    got: list[dict[str, t.Any]] = []
    while True:
        try:
            got.append(next(reading))
        except StopIteration as done:  # noqa: PERF203 (the batch is the return value)
            return got, t.cast("dict[str, t.Any]", write_layout(done.value.layout))


@pytest.mark.parametrize("order", ["oldest", "newest", "latest"])
def test_undated_items_are_read_once_each_across_continues(order: str) -> None:
    """Three iterations of items without extracted_at; each sync emits only the new ones."""
    iterations = [people("a", "b", "c"), people("d", "e"), people("f")]
    served: list[dict[str, t.Any]] = []
    layout: dict[str, t.Any] | None = None
    emitted: list[str] = []
    for number, batch in enumerate(iterations):
        if order == "oldest":
            served = served + batch
        elif order == "newest":
            served = batch + served
        else:
            served = batch
        fresh = [dict(item) for item in served]  # Edges serves the stored items again
        got, layout = read(Outputs(fresh), layout)
        emitted += [item["name"] for item in got]
        assert all(item["extracted_at"] == "2026-11-28T10:00:00Z" for item in got)
        assert layout["dated"] is False, number
    assert sorted(emitted) == ["a", "b", "c", "d", "e", "f"]  # each once: none lost, none twice


def test_a_refused_offset_reads_with_cursors_and_is_remembered() -> None:
    items = people("a", "b", "c", "d", "e", "f", "g")
    batch = Batch(layout=Layout())
    outputs = Outputs(items, page=3, offset=False)
    pages = list(pages_from(t.cast("t.Any", outputs), "r", 4, batch))
    assert [item["name"] for page in pages for item in page] == ["e", "f", "g"]
    assert batch.layout == Layout(offset=False)
    outputs.requests.clear()
    again = list(pages_from(t.cast("t.Any", outputs), "r", 2, batch))
    assert [item["name"] for page in again for item in page] == ["c", "d", "e", "f", "g"]
    assert all(kind == "cursor" for kind, _ in outputs.requests)  # offset not tried again


def test_an_accepted_offset_is_used() -> None:
    outputs = Outputs(people("a", "b", "c", "d", "e"), page=2)
    batch = Batch(layout=Layout())
    pages = list(pages_from(t.cast("t.Any", outputs), "r", 3, batch))
    assert [item["name"] for page in pages for item in page] == ["d", "e"]
    assert outputs.requests == [("offset", 3)]
    assert batch.layout == Layout()


@pytest.mark.parametrize("status", [401, 404, 429, 500])
def test_other_errors_on_offset_are_not_taken_for_a_refusal(status: int) -> None:
    class Failing(Outputs):
        def output_pages_from(self, run_uid: str, offset: int) -> Iterator[list[t.Any]]:
            raise errors.APIError(method="GET", path="/v1/runs/r/outputs", status=status)
            yield []

    with pytest.raises(errors.APIError):
        list(pages_from(t.cast("t.Any", Failing(people("a"))), "r", 0, Batch(layout=Layout())))


@pytest.mark.parametrize("order", ["oldest", "newest", "latest"])
def test_items_dated_by_the_day_alone_are_not_taken_for_emitted_ones(order: str) -> None:
    """Two iterations the same day, ``extracted_at`` a date alone: the second's items are new."""
    day = [{"name": n, "extracted_at": "2026-11-28"} for n in ("a", "b")]
    later = [{"name": n, "extracted_at": "2026-11-28"} for n in ("c",)]
    first, layout = read(Outputs([dict(item) for item in day]), None)
    mark = None if layout.get("dated") is False else parse_time("2026-11-28")
    served = {"oldest": day + later, "newest": later + day, "latest": later}[order]
    second, _ = read(Outputs([dict(item) for item in served]), layout, mark)
    assert sorted(item["name"] for item in first + second) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("case", "layout", "seen", "new", "taken"),
    [
        (
            "nothing learned (a state from before the shortcuts)",
            {"first": "a", "last": "b"},
            3,
            None,
            None,
        ),
        ("oldest first", {"order": "oldest", "first": "a", "last": "b"}, 3, None, "oldest"),
        ("oldest first, output_count known", {"order": "oldest", "last": "b"}, 3, 2, "oldest"),
        ("oldest first, a new run", {"order": "oldest", "first": "a", "last": "b"}, 0, None, None),
        ("oldest first, no boundary kept", {"order": "oldest"}, 3, None, None),
        ("newest first", {"order": "newest", "first": "a", "last": "b"}, 3, 2, "newest"),
        ("newest first, output_count unclear", {"order": "newest", "first": "a"}, 3, None, None),
        ("newest first, no first key", {"order": "newest", "last": "b"}, 3, 2, None),
        ("newest iteration only: read it all", {"order": "latest", "first": "a"}, 3, 2, None),
        ("a layout none of these", {"order": None, "first": "a", "last": "b"}, 3, 2, None),
    ],
)
def test_shortcut(
    case: str, layout: dict[str, t.Any], seen: int, new: int | None, taken: str | None
) -> None:
    assert shortcut(t.cast("Layout", read_layout(layout)), seen, new) == taken, case


@pytest.mark.parametrize(
    ("total", "new", "seen", "before", "learned"),
    [
        pytest.param(5, [3, 4], 3, None, "oldest", id="new items after the old ones"),
        pytest.param(5, [0, 1], 3, None, "newest", id="new items before the old ones"),
        pytest.param(2, [0, 1], 3, "oldest", "latest", id="none of the old ones served"),
        pytest.param(5, [0, 1, 4], 2, "oldest", None, id="new items on both sides"),
        pytest.param(5, [], 5, "newest", "newest", id="nothing new: kept"),
        pytest.param(4, [0, 1, 2, 3], 0, "oldest", "oldest", id="a new run: kept"),
    ],
)
def test_learn_order(
    total: int, new: list[int], seen: int, before: str | None, learned: str | None
) -> None:
    assert learn_order(total, new, seen, t.cast("t.Any", before)) == learned


def serve(order: str, old: list[dict[str, t.Any]], new: list[dict[str, t.Any]]) -> list[t.Any]:
    served = {"oldest": old + new, "newest": new + old, "latest": new}[order]
    return [dict(item) for item in served]  # Edges serves the stored items again


def learned_layout(order: str, offset: bool = True) -> tuple[dict[str, t.Any], list[t.Any]]:
    """Two reads of a run (10 items, then 10 more): the layout is learned."""
    old, older = people(*"abcdefghij"), people(*"klmnopqrst")
    _, layout = read(Outputs(serve(order, [], old), offset=offset), None)
    _, layout = read(Outputs(serve(order, old, older), offset=offset), layout)
    assert layout["order"] == order
    return layout, (older if order == "latest" else serve(order, old, older))


@pytest.mark.parametrize(
    ("order", "offset", "served_as", "requests", "fell_back"),
    [
        ("oldest", True, "oldest", [("offset", 19)], False),
        (
            "oldest",
            False,
            "oldest",
            [("offset", 19), *(("cursor", s) for s in range(0, 22, 3))],
            False,
        ),
        ("newest", True, "newest", [("cursor", 0)], False),
        ("latest", True, "latest", [("cursor", 0)], False),
        # Edges changed how it lays out the outputs: the shortcut's check fails, all is read
        (
            "oldest",
            True,
            "newest",
            [("offset", 19), *(("cursor", s) for s in range(0, 22, 3))],
            True,
        ),
        ("oldest", True, "latest", [("offset", 19), ("cursor", 0)], True),
        ("newest", True, "oldest", [*(("cursor", s) for s in range(0, 22, 3))], True),
        ("newest", True, "latest", [("cursor", 0)], True),
        ("latest", True, "oldest", [*(("cursor", s) for s in range(0, 12, 3))], False),
    ],
)
def test_a_shortcut_reads_only_the_new_items_pages_and_checks_its_boundary(
    order: str, offset: bool, served_as: str, requests: list[tuple[str, int]], fell_back: bool
) -> None:
    layout, history = learned_layout(order, offset=offset)
    layout["count"] = "total"  # what output_count counts, as the sandbox's teaches the tap
    new = people("u", "v")
    served = serve(served_as, history if served_as != "latest" else [], new)
    outputs = Outputs(served, offset=offset)
    reasons: list[str] = []
    expected = Expected(
        mark=None,
        layout=read_layout(layout),
        count_before=len(history),
        count_now=len(history) + 2,
        stand_in="2026-11-28T10:00:00Z",
    )
    reading = read_new(Source(t.cast("t.Any", outputs), "r", expected, print, reasons.append))
    got = []
    while True:
        try:
            got.append(next(reading)["name"])
        except StopIteration as done:  # noqa: PERF203 (the batch is the return value)
            batch = done.value
            break
    assert got == ["u", "v"]  # the new ones, once: none lost, none twice
    assert outputs.requests == requests
    assert bool(reasons) == fell_back, reasons
    assert batch.layout.order == served_as  # learned again after a fallback
    if not offset:
        assert batch.layout.offset is False


@pytest.mark.parametrize("dated", [True, False], ids=["dated", "undated"])
def test_an_offset_refused_by_a_shortcut_that_falls_back_is_remembered(dated: bool) -> None:
    """Else the next sync pays one request to learn the refusal again."""
    stamp = {"extracted_at": "2026-11-28T10:00:00Z"} if dated else {}
    old = [{**item, **stamp} for item in people("a", "b", "c")]
    new = people("d", "e")
    layout: dict[str, t.Any] = {"order": "oldest", "seen": 5, "dated": dated}  # seen is wrong
    if not dated:
        layout.update(first=item_key(old[0]), last=item_key(old[-1]))
    outputs = Outputs(old + new, offset=False)
    got, learned = read(outputs, layout, parse_time("2026-11-28T10:00:00Z") if dated else None)
    assert [item["name"] for item in got] == ["d", "e"]
    assert outputs.requests[0] == ("offset", 4)  # the shortcut, refused
    assert learned["offset"] is False
