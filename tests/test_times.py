"""extracted_at in every form Edges may give it, and where it may sit."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from tap_edges.times import iso, item_time, parse_time, time_reader

UTC = dt.timezone.utc
T = dt.datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
T_MS = dt.datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
EPOCH = int(T.timestamp())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T10:00:00Z", T),
        ("2026-11-28T10:00:00.123Z", T_MS),
        ("2026-11-28T10:00:00.123456789Z", T_MS.replace(microsecond=123456)),  # nanoseconds
        ("2026-11-28T10:00:00.1Z", T.replace(microsecond=100000)),
        ("2026-11-28T11:00:00+01:00", T),
        ("2026-11-28T05:00:00-0500", T),
        ("2026-11-28T11:00:00+01", T),
        ("2026-11-28T10:00:00", T),  # no zone: UTC
        ("2026-11-28 10:00:00.123", T_MS),  # a space, no zone
        ("2026-11-28t10:00:00z", T),
        ("2026-11-28 10:00:00 UTC", T),
        ("2026-11-28T10:00Z", T),  # no seconds
        ("2026-11-28", T.replace(hour=0)),  # a date alone
        (EPOCH, T),  # epoch seconds
        (EPOCH * 1000 + 123, T_MS),  # epoch milliseconds
        (EPOCH * 1_000_000 + 123000, T_MS),  # epoch microseconds
        (EPOCH + 0.123, T_MS),
        (str(EPOCH), T),  # numeric strings
        (str(EPOCH * 1000 + 123), T_MS),
        (f" {EPOCH} ", T),
        (None, None),
        (True, None),
        ("", None),
        ("last tuesday", None),
        ("2026-13-01T00:00:00Z", None),  # no 13th month
        ("2026-11-28T10:00:00+99:99", None),
        (-5, None),
        (float("nan"), None),
        (float("inf"), None),
        ({"at": EPOCH}, None),
    ],
)
def test_parse_time(value: object, expected: dt.datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ({"extracted_at": "x"}, "x"),
        ({"extractedAt": 5}, 5),
        ({"_extracted_at": "y"}, "y"),
        ({"metadata": {"extracted_at": "z"}}, "z"),
        ({"_meta": {"extractedAt": 7}}, 7),
        ({"extracted_at": "x", "metadata": {"extracted_at": "z"}}, "x"),  # its own key first
        ({"name": "no time"}, None),
        ({"metadata": "not an object"}, None),
    ],
)
def test_item_time_finds_it_wherever_it_sits(item: dict[str, object], value: object) -> None:
    assert item_time(item) == value


@pytest.mark.parametrize(
    ("raw", "carried", "at"),
    [
        ("2026-11-28T10:00:00.123Z", "2026-11-28T10:00:00.123Z", T_MS),  # kept as written
        ("2026-11-28T11:00:00+01:00", "2026-11-28T10:00:00Z", T),
        ("2026-11-28 10:00:00.123", "2026-11-28T10:00:00.123000Z", T_MS),
        (EPOCH * 1000 + 123, "2026-11-28T10:00:00.123000Z", T_MS),
        ("garbage", "STAND-IN", None),
        (None, "STAND-IN", None),
    ],
)
def test_records_carry_it_as_iso_utc_or_the_stand_in(
    raw: object, carried: str, at: dt.datetime | None
) -> None:
    read = time_reader("STAND-IN")
    item: dict[str, t.Any] = {"extracted_at": raw}
    assert read(item) == at
    assert item["extracted_at"] == carried
    again: dict[str, t.Any] = {"extracted_at": raw}  # the remembered answer, same result
    assert read(again) == at
    assert again["extracted_at"] == carried


def test_a_nested_time_is_carried_at_the_top() -> None:
    item: dict[str, t.Any] = {"metadata": {"extracted_at": EPOCH}}
    assert time_reader()(item) == T
    assert item["extracted_at"] == iso(T) == "2026-11-28T10:00:00Z"
