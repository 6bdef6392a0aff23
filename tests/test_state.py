"""Reading and writing partition bookmarks, including damaged ones."""

from __future__ import annotations

import datetime as dt
import logging
import time
import typing as t

import pytest

from tap_edges.model import Continuing, Grown, Iteration, Launched, Launching, Pending
from tap_edges.state import Bookmark, read_bookmark, write_bookmark
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER = logging.getLogger("test")


def test_round_trip() -> None:
    stored: dict[str, t.Any] = {"context": {"identity_id": "x"}, "replication_key_value": "y"}
    bookmark = Bookmark(
        "run-1",
        iteration=Iteration(started_at="a", finished_at="b", output_count=3),
        consumed_through="2026-01-01T00:00:00Z",
        pending=Continuing(updated_at="c"),
        max_results=5,
        grown=Grown(setting=5, max_results=10),
    )
    write_bookmark(stored, bookmark)
    assert stored["edges_iteration"] == {"started_at": "a", "finished_at": "b", "output_count": 3}
    assert stored["edges_pending"] == {"op": "continue", "updated_at": "c"}
    assert stored["edges_grown_max_results"] == {"setting": 5, "max_results": 10}
    assert stored["context"] == {"identity_id": "x"}
    assert stored["replication_key_value"] == "y"
    assert read_bookmark(stored, label="p", logger=LOGGER) == bookmark


def test_empty_state_is_a_fresh_bookmark() -> None:
    assert read_bookmark({}, label="p", logger=LOGGER) == Bookmark()


@pytest.mark.parametrize(
    "stored",
    [
        {"edges_run_uid": 42},
        {"edges_run_uid": ""},
        {"edges_run_uid": "r", "edges_pending": "yes"},
        {"edges_run_uid": "r", "edges_consumed_through": "last tuesday"},
        {"edges_run_uid": "r", "edges_consumed_through": 17},
    ],
)
def test_damaged_bookmark_starts_clean_with_a_warning(
    stored: dict[str, t.Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert read_bookmark(stored, label="connections[x]", logger=LOGGER) == Bookmark()
    assert "connections[x]" in caplog.text
    assert "damaged bookmark" in caplog.text


UTC = dt.timezone.utc


@pytest.fixture
def far_local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time at UTC+05:30, so that no answer can depend on it."""
    monkeypatch.setenv("TZ", "IST-05:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


TEN = dt.datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2026-11-28T10:00:00Z", TEN),
        ("2026-11-28T10:00:00+00:00", TEN),
        ("2026-11-28T11:00:00+01:00", TEN),
        ("2026-11-28T05:00:00-05:00", TEN),
        ("2026-11-28T15:30:00+05:30", TEN),
        ("2026-11-28T00:30:00+01:00", dt.datetime(2026, 11, 27, 23, 30, tzinfo=UTC)),
        ("2026-11-28T10:00:00", TEN),  # naive: taken as UTC
        ("2026-11-28T10:00", TEN),
        ("2026-11-28 10:00:00Z", TEN),
        ("2026-11-28T10:00:00.5Z", TEN.replace(microsecond=500_000)),
        ("2026-11-28T11:00:00.250+01:00", TEN.replace(microsecond=250_000)),
        ("2026-11-28T10:00:00.123456Z", TEN.replace(microsecond=123_456)),
        ("2026-11-28T10:00:00.123456789Z", TEN.replace(microsecond=123_456)),  # truncated
        ("2026-11-28T10:00:00.123", TEN.replace(microsecond=123_000)),
        ("2026-11-28", TEN.replace(hour=0)),  # a date: its midnight UTC
        ("", None),
        ("last tuesday", None),
        ("Z", None),
        ("2026-11-31", None),
        ("2026-11-28T25:00:00Z", None),
        ("2026-11-28T10:00:00+25:00", None),
        (None, None),
        (17, dt.datetime(1970, 1, 1, 0, 0, 17, tzinfo=dt.timezone.utc)),  # epoch seconds
        (1_795_860_000.0, TEN),  # epochs are read too (issue 17: tests/test_times.py)
        (b"2026-11-28T10:00:00Z", None),
        (["2026-11-28T10:00:00Z"], None),
        (TEN, None),  # not a string
    ],
)
def test_parse_time(value: object, parsed: dt.datetime | None, far_local_zone: None) -> None:
    result = parse_time(value)
    assert result == parsed
    if result is not None:
        assert result.tzinfo == UTC  # converted, not merely equal


@pytest.mark.parametrize(
    ("pending", "stored_form"),
    [
        (
            Launching(token="0123456789abcdef", max_results=5),  # noqa: S106 (a launch token)
            {"op": "launch", "token": "0123456789abcdef", "max_results": 5},
        ),
        (Launched(), {"op": "launched"}),
        (
            Continuing(updated_at="2026-11-28T00:00:00Z"),
            {"op": "continue", "updated_at": "2026-11-28T00:00:00Z"},
        ),
        (Continuing(updated_at=None), {"op": "continue", "updated_at": None}),
    ],
)
def test_every_pending_request_the_tap_writes_is_read_back(
    pending: Pending, stored_form: dict[str, t.Any]
) -> None:
    stored: dict[str, t.Any] = {}
    write_bookmark(stored, Bookmark("run-1", pending=pending))
    assert stored["edges_pending"] == stored_form
    assert read_bookmark(stored, label="p", logger=LOGGER).pending == pending


def test_a_state_of_tap_edges_0_1_is_read_with_its_iteration_unknown() -> None:
    stored = {"edges_run_uid": "r", "edges_pending": False, "edges_consumed_through": "2026-01-01"}
    bookmark = read_bookmark(stored, label="p", logger=LOGGER)
    assert bookmark.run_uid == "r"
    assert bookmark.iteration is None  # so the run's batch is read again before a continue
    assert bookmark.pending is None
