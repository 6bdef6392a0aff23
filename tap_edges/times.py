"""Reading the times Edges gives, in whatever form they come.

Edges added ``extracted_at`` to outputs without saying where it sits or in which form
(edges-api.md §11), so :func:`parse_time` takes ISO 8601 with or without a zone, a fraction of
any length, ``T`` or a space, a date alone, and epoch seconds, milliseconds or microseconds (a
number or a numeric string). :func:`item_time` finds an item's ``extracted_at``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A day alone does not tell an iteration from the next one the same day: not a time to compare.
_DAY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")
# Epoch values above these are milliseconds (or microseconds): 1e11 seconds is the year 5138,
# 1e11 milliseconds is 1973.
_MILLIS, _MICROS = 1e11, 1e14
# Where an item's extraction time may sit: its own key first, then a metadata object.
TIME_KEYS = ("extracted_at", "extractedAt", "_extracted_at")
META_KEYS = ("metadata", "meta", "_metadata", "_meta")


def parse_time(value: object) -> dt.datetime | None:
    """Read a time into an aware UTC datetime.

    Args:
        value: An ISO-8601 string (a zone-less one is UTC) or an epoch number (seconds,
            milliseconds or microseconds, told apart by size), or a numeric string.

    Returns:
        The datetime, or None when the value is not a time.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return _from_epoch(float(text))
    found = _ISO.fullmatch(text)
    return None if found is None else _from_iso(found)


def _from_epoch(number: float) -> dt.datetime | None:
    if not math.isfinite(number) or number < 0:
        return None
    if number >= _MICROS:
        number /= 1e6
    elif number >= _MILLIS:
        number /= 1e3
    try:
        return dt.datetime.fromtimestamp(number, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(found: re.Match[str]) -> dt.datetime | None:
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        parsed = dt.datetime(  # noqa: DTZ001 (the zone is applied below)
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micros,
        )
    except ValueError:
        return None
    tz = _zone(zone)
    return None if tz is None else parsed.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def _zone(zone: str | None) -> dt.timezone | None:
    """The zone of an ISO suffix (None when it is no zone: hours past 23, minutes past 59)."""
    if zone is None or zone in {"Z", "z", "UTC"}:
        return dt.timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:  # noqa: PLR2004
        return None
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def iso(moment: dt.datetime) -> str:
    """An aware datetime as ISO 8601 UTC with a ``Z``."""
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def item_time(item: dict[str, object]) -> object:
    """An output item's extraction time as Edges gave it, wherever it sits (None if absent)."""
    for key in TIME_KEYS:
        if key in item:
            return item[key]
    for meta_key in META_KEYS:
        meta = item.get(meta_key)
        if isinstance(meta, dict):
            for key in TIME_KEYS:
                if key in meta:
                    return meta[key]
    return None


def time_reader(stand_in: str | None = None) -> Callable[[dict[str, t.Any]], dt.datetime | None]:
    """Read items' ``extracted_at``; put it in each item as ISO 8601 UTC (or ``stand_in``).

    It remembers its last answer: the items of an iteration share one time.

    Args:
        stand_in: What an item without a readable time carries (its time stays unknown).

    Returns:
        A function of an item that returns its time (None when it has none that reads).
    """
    last: tuple[object, dt.datetime | None, str | None] = (None, None, None)

    def read(item: dict[str, t.Any]) -> dt.datetime | None:
        nonlocal last
        value = item_time(item)
        if value != last[0] or value is None:
            day = isinstance(value, str) and _DAY.fullmatch(value) is not None
            at = None if day else parse_time(value)
            # an ISO string in UTC already is kept as Edges wrote it
            if at is None:
                last = (value, None, stand_in)
            elif isinstance(value, str) and value.endswith("Z"):
                last = (value, at, value)
            else:
                last = (value, at, iso(at))
        item["extracted_at"] = last[2]
        return last[1]

    return read
