"""The pace the tap keeps: the budget for /v1/runs/* and the server's Retry-After."""

from __future__ import annotations

import email.utils

import pytest
from runskit import FakeTime

from tap_edges.api.pacing import RateBudget, retry_after_seconds


def test_budget_lets_the_limit_through_then_waits_for_the_window() -> None:
    fake = FakeTime()
    budget = RateBudget(3, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        budget.acquire()
    assert fake.slept == []
    budget.acquire()
    assert fake.now == 1061.0  # the oldest request left the window (a minute plus a margin)


def test_budget_never_exceeds_the_limit_in_any_minute() -> None:
    fake = FakeTime()
    budget = RateBudget(30, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for _ in range(100):
        budget.acquire()
        starts.append(fake.now)
        fake.now += 0.1
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s < start + 60.5]
        assert len(in_window) <= 30


def test_hold_delays_every_request() -> None:
    fake = FakeTime()
    budget = RateBudget(100, clock=fake.clock, sleep=fake.sleep)
    budget.hold(5.0)
    budget.acquire()
    assert fake.now == 1005.0


AN_HTTP_DATE = email.utils.formatdate(2000.0, usegmt=True)  # 2000 s after the epoch


@pytest.mark.parametrize(
    ("value", "now", "seconds"),
    [
        pytest.param("7", None, 7.0, id="delta seconds"),
        pytest.param(" 1.5 ", None, 1.5, id="fractional, padded"),
        pytest.param("0", None, 0.0, id="zero"),
        pytest.param("-3", None, 0.0, id="negative: no wait"),
        pytest.param(AN_HTTP_DATE, 1990.0, 10.0, id="HTTP date in the future"),
        pytest.param(AN_HTTP_DATE, 2000.0, 0.0, id="HTTP date now"),
        pytest.param(AN_HTTP_DATE, 2500.0, 0.0, id="HTTP date in the past: no wait"),
        pytest.param(None, None, None, id="absent"),
        pytest.param("", None, None, id="empty"),
        pytest.param("   ", None, None, id="blank"),
        pytest.param("soon", None, None, id="garbage"),
        pytest.param("Fri, 31 Feb 2026 25:61:00 GMT", None, None, id="impossible date"),
        pytest.param("inf", None, None, id="infinite"),
        pytest.param("nan", None, None, id="not a number"),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    value: str | None, now: float | None, seconds: float | None
) -> None:
    assert retry_after_seconds(value, now=now) == seconds
