"""The pace the tap keeps: the budget for /v1/runs/* and the server's Retry-After."""

from __future__ import annotations

import email.utils

from tap_edges.pacing import RateBudget, retry_after_seconds


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


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


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-3") == 0.0
    date = email.utils.formatdate(2000.0, usegmt=True)
    assert retry_after_seconds(date, now=1990.0) == 10.0
    assert retry_after_seconds(date, now=2500.0) == 0.0
