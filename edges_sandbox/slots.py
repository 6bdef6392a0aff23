"""The ``queue`` variant: a workspace runs at most :data:`QUEUE_SLOTS` runs at a time.

An iteration holds one of the workspace's slots while it is RUNNING: from the moment it enters
RUNNING until it ends (finishes, is cancelled, or never, when it hangs). A new iteration enters
RUNNING at its usual moment if a slot is free then; otherwise it stays QUEUED until one frees,
first come first served, and then runs for its usual length. Everything is planned when the
iteration starts, from the injected clock, so statuses stay a pure function of time; a cancel
that frees a slot early plans the waiting iterations again.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from edges_sandbox.clock import to_us
from edges_sandbox.runs import HANG, RUNNING_SHARE
from edges_sandbox.variants import QUEUE_SLOTS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from edges_sandbox.runs import Iteration, Run

Interval = tuple[float, float]


def occupation(iteration: Iteration) -> Interval | None:
    """Return when an iteration holds a slot, or ``None`` if it never does.

    Args:
        iteration: The iteration.
    """
    start = iteration.running_from
    if iteration.stopped_at is not None and iteration.stopped_at <= start:
        return None  # cancelled while it waited
    if not math.isfinite(start):
        return (start, start)  # awaits a slot not in sight: those behind it wait too
    end = math.inf if iteration.outcome == HANG else iteration.finish_us / 1_000_000
    if iteration.stopped_at is not None:
        end = min(end, iteration.stopped_at)
    return (start, end)


def first_free(busy: list[Interval], floor: float, slots: int = QUEUE_SLOTS) -> float:
    """Return the first moment from ``floor`` on when fewer than ``slots`` intervals are busy.

    No interval may start after ``floor`` (first come first served keeps it so), so the
    number of busy slots only falls after ``floor``, at the ends of intervals.

    Args:
        busy: The slot occupations planned so far.
        floor: The earliest acceptable moment.
        slots: Number of slots.

    Returns:
        The moment, or ``math.inf`` when the slots never free (hung runs).
    """
    moments = sorted({floor, *(end for _, end in busy if end > floor)})
    for moment in moments:
        if sum(1 for start, end in busy if start <= moment < end) < slots:
            return moment
    return math.inf


def delay_for(runs: Iterable[Run], t0: float, duration: float) -> float:
    """Return how long a new iteration started at ``t0`` waits for a slot beyond its usual queue.

    Args:
        runs: Every run of the workspace (their current iterations hold or await slots).
        t0: The launch or continue time.
        duration: The new iteration's run_seconds.
    """
    busy = _busy((run.current for run in runs if run.iterations), t0)
    usual = t0 + RUNNING_SHARE * duration
    start = first_free(busy, max([usual, *(start for start, _ in busy)]))
    return start - usual


def finish_us(iteration: Iteration, previous: Iteration | None) -> int:
    """Return an iteration's finish time (its items' extraction time) for its delay.

    Args:
        iteration: The iteration (``t0``, ``duration`` and ``delay`` set).
        previous: The run's iteration before it, if any (finish times strictly increase).
    """
    delay = iteration.delay if math.isfinite(iteration.delay) else 0.0  # a placeholder then
    finish = to_us(iteration.t0 + iteration.duration + delay)
    return finish if previous is None else max(finish, previous.finish_us + 1)


def replan(runs: Iterable[Run], now: float) -> bool:
    """Plan again the iterations still waiting for a slot, after a cancel freed one early.

    Args:
        runs: Every run of the workspace.
        now: Current time.

    Returns:
        Whether any plan changed.
    """
    current = [(run, run.current) for run in runs if run.iterations]
    waiting = sorted(
        (pair for pair in current if _waiting(pair[1], now)),
        key=lambda pair: (pair[1].running_from, pair[1].t0, pair[0].id),
    )
    fixed = _busy((it for _, it in current if not _waiting(it, now)), now)
    changed = False
    for run, iteration in waiting:
        usual = iteration.t0 + RUNNING_SHARE * iteration.duration
        floor = max([usual, now, *(start for start, _ in fixed)])
        delay = first_free(fixed, floor) - usual
        if delay != iteration.delay:
            iteration.delay, changed = delay, True
            previous = run.iterations[-2] if len(run.iterations) > 1 else None
            iteration.finish_us = finish_us(iteration, previous)
        fixed.extend(_busy([iteration], now))
    return changed


def _waiting(iteration: Iteration, now: float) -> bool:
    """Whether an iteration waits for a slot (a delay) and has not entered RUNNING yet."""
    return iteration.delay > 0 and iteration.stopped_at is None and iteration.running_from > now


def _busy(iterations: Iterable[Iteration], now: float) -> list[Interval]:
    """The slot occupations of these iterations that last beyond ``now`` (the others are over)."""
    return [found for it in iterations if (found := occupation(it)) is not None and found[1] > now]
