"""How fast the tap may ask: the client-side budget for ``/v1/runs/*`` and ``Retry-After``.

Edges counts each plan's requests to ``/v1/runs/*`` per minute and answers 429 beyond it; the
budget keeps the tap under that count, and the server's ``Retry-After`` (delta seconds or an
HTTP date) says how long to hold back after a refusal. Time is injected (a clock and a sleep).
"""

from __future__ import annotations

import collections
import email.utils
import math
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

# The server counts its minute from when requests arrive; a little margin keeps the tap under
# the plan's budget despite clock and network jitter.
WINDOW_SECONDS = 61.0


class RateBudget:
    """A sliding one-minute window of requests, shared by every caller in the process."""

    def __init__(
        self,
        requests_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the budget.

        Args:
            requests_per_minute: How many requests may start in any 60 seconds.
            clock: Monotonic clock in seconds.
            sleep: Sleep function.
        """
        self.limit = requests_per_minute
        self._clock, self._sleep = clock, sleep
        self._sent: collections.deque[float] = collections.deque()
        self.used = 0  # requests counted since the budget was made
        self._hold_until = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the budget, then count it."""
        while True:
            now = self._clock()
            while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
                self._sent.popleft()
            wait = self._hold_until - now
            if len(self._sent) >= self.limit:
                wait = max(wait, self._sent[0] + WINDOW_SECONDS - now)
            if wait <= 0:
                self._sent.append(now)
                self.used += 1
                return
            self._sleep(wait)

    def hold(self, seconds: float) -> None:
        """Let no request start for some seconds (the server said the budget is spent).

        Args:
            seconds: How long to hold every request back.
        """
        self._hold_until = max(self._hold_until, self._clock() + seconds)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta seconds or an HTTP date.

    Args:
        value: The header value.
        now: Current epoch time, for HTTP dates (default: the wall clock).

    Returns:
        Seconds to wait (never negative), or None when absent or unreadable (``inf`` and
        ``nan`` included: an endless wait is no wait to honour).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
