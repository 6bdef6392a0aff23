"""Planning an iteration: everything it will do, decided when it starts (launch or continue).

Incremental semantics: every iteration takes its snapshot of each input's feed when it starts.
The first one covers every item existing then; each later one covers the items newer than the
previous (not stopped, not failed) iteration's snapshot, input by input. Items are taken
newest first; the first ``max_results`` of each input are delivered, the older excess is
recorded as dropped and is gone for good. The discovery actions list a snapshot of the world
instead, in their own order (:mod:`edges_sandbox.discovery`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edges_sandbox import discovery, slots
from edges_sandbox.catalog import ACTIONS
from edges_sandbox.runs import Iteration, Lane
from edges_sandbox.variants import NO_DATA_FAILED, QUEUE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from edges_sandbox.runs import Run
    from edges_sandbox.settings import SandboxSettings
    from edges_sandbox.world import Feed, World


def plan(  # noqa: PLR0913 - what an iteration depends on
    world: World,
    settings: SandboxSettings,
    runs: Iterable[Run],
    run: Run,
    now: float,
    *,
    continued: bool,
) -> Iteration:
    """Decide everything the next iteration of a run does, at its launch or continue.

    Args:
        world: The simulated world (the run's feeds are created and caught up).
        settings: The settings in force (faults, variants, run_seconds).
        runs: Every run (the ``queue`` variant plans slots across them).
        run: The run.
        now: The launch or continue time.
        continued: Whether a continue starts it.
    """
    kind, values = ACTIONS[run.action_name], input_values(run)
    feeds = [world.feed(kind, run.identity_id, v, now) for v in values]
    for feed in feeds:
        world.catch_up(feed, now)
    cursors = [run.current.cursor(lane) if run.iterations else 0 for lane in range(len(feeds))]
    outcome, error = settings.faults.outcome(match_keys(run))
    refused = _refusal(run)
    if refused is not None:  # LinkedIn's own refusal comes before any injected fault
        outcome, error = "FAILED", refused
    if not kind.discovery:
        fresh = [
            list(range(f.newest_seq, cursor, -1)) for f, cursor in zip(feeds, cursors, strict=True)
        ]
        after = [feed.newest_seq for feed in feeds]
    elif outcome in {"FAILED", "INVALID"}:  # nothing is listed
        fresh, after = [[] for _ in feeds], cursors
    else:
        fresh, after = discovery.take(world, settings, run, cursors, now)
    if not any(fresh) and outcome == "SUCCEEDED" and NO_DATA_FAILED in settings.variants:
        outcome, error = "FAILED", _no_data(kind.slug)
    limit = int(run.parameters["max_results"])  # per input
    duration = settings.run_seconds
    delay = 0.0
    if QUEUE in settings.variants:
        delay = slots.delay_for(runs, now, duration)
    failed = outcome in {"FAILED", "INVALID"}
    lanes = [
        Lane(
            delivered=[] if failed else new[:limit], dropped=[] if failed else new[limit:],
            cursor_before=cursor, cursor_after=cursor if failed else newest,
        )
        for cursor, newest, new in zip(cursors, after, fresh, strict=True)
    ]  # fmt: skip
    first = lanes[0]
    iteration = Iteration(
        index=len(run.iterations), continued=continued, t0=now, duration=duration,
        finish_us=0, outcome=outcome, error=error,
        delivered=first.delivered, dropped=first.dropped,
        cursor_before=first.cursor_before, cursor_after=first.cursor_after,
        delay=delay, more=lanes[1:],
    )  # fmt: skip
    iteration.finish_us = slots.finish_us(iteration, run.current if run.iterations else None)
    return iteration


def run_feeds(world: World, run: Run) -> list[Feed]:
    """The feed of each input of a run, in the order of its inputs."""
    kind = ACTIONS[run.action_name]
    return [world.feeds[kind.feed_key(run.identity_id, value)] for value in input_values(run)]


def input_values(run: Run) -> list[str | None]:
    """The input value of each input of a run (``None`` for actions taking none)."""
    field = ACTIONS[run.action_name].input_field
    return [one.get(field) if field else None for one in run.inputs]


def _refusal(run: Run) -> dict[str, Any] | None:
    """LinkedIn's refusal of the first of a run's inputs it refuses (the run then fails)."""
    refusal = ACTIONS[run.action_name].refusal
    if refusal is None:
        return None
    found = (refusal(run.identity_id or "", value) for value in input_values(run))
    return next((error for error in found if error is not None), None)


def match_keys(run: Run) -> list[str]:
    """What the match-based faults compare: the input values, the identity, the action."""
    keys = [str(value) for value in input_values(run) if value is not None]
    identity = [run.identity_id] if run.identity_id else []
    return [*keys, *identity, run.action_name]


def _no_data(slug: str) -> dict[str, Any]:
    """The ``last_error`` of an iteration that found nothing new (``no_data_failed``)."""
    message = f"no new data available for {slug} since the previous extraction"
    return {"label": "NO_DATA_AVAILABLE", "message": message, "params": {}}
