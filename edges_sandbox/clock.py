"""Time helpers: the injectable clock and the API's timestamp format."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

Clock = Callable[[], float]


def iso_from_us(micros: int) -> str:
    """Format epoch microseconds as ISO-8601 UTC with microseconds and a ``Z`` suffix.

    Args:
        micros: Microseconds since the Unix epoch.

    Returns:
        A string such as ``2025-01-15T09:00:00.000000Z``.
    """
    seconds, rest = divmod(micros, 1_000_000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).replace(microsecond=rest)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_us(seconds: float) -> int:
    """Convert epoch seconds to whole epoch microseconds.

    Args:
        seconds: Seconds since the Unix epoch.

    Returns:
        The same instant in microseconds, rounded.
    """
    return round(seconds * 1_000_000)


def iso(seconds: float | None) -> str | None:
    """Format epoch seconds like :func:`iso_from_us`, passing ``None`` through.

    Args:
        seconds: Seconds since the Unix epoch, or ``None``.

    Returns:
        The ISO-8601 string, or ``None``.
    """
    return None if seconds is None else iso_from_us(to_us(seconds))


class ManualClock:
    """A clock that only moves when told to; handy for tests of the status progression."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        """Create the clock.

        Args:
            start: The initial time in epoch seconds.
        """
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Return the current time in epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward.

        Args:
            seconds: How far to move (must not be negative).

        Returns:
            The new time.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            msg = "a clock never goes back"
            raise ValueError(msg)
        with self._lock:
            self._now += seconds
            return self._now
