"""Credits: ``GET /v1/workspaces`` and ``GET /v1/workspaces/consumption`` (edges-api.md 12).

Credits are used per result delivered by the paid actions (each :class:`ActionKind`'s
``credits``: 1 per post commenter, liker, reposter and post of a people post activity run; 1.5
times that in managed mode, on Edges' own accounts); the actions free with an engagement
identity cost nothing, and an empty run costs nothing. An iteration is charged in the month
(UTC) it finishes, once it has delivered (SUCCEEDED or PARTIAL_SUCCEEDED); a run counts in a
month's ``runs_count`` when one of its iterations ended (any terminal status) in that month.

Nothing is counted twice or apart: the counters are derived from the runs (kept in the state
file) and from the charges of the runs purged since (kept there too, see
:meth:`edges_sandbox.engine.Engine.purge`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edges_sandbox.catalog import ACTIONS
from edges_sandbox.clock import iso_from_us, to_us
from edges_sandbox.identities import WORKSPACE_UID
from edges_sandbox.runs import DELIVERING, TERMINAL

if TYPE_CHECKING:
    from collections.abc import Iterable

    from edges_sandbox.runs import Run

MANAGED_RATE = 1.5  # managed mode costs 1.5 times the credits (edges-api.md section 2.1)
WORKSPACE_NAME = "Sandbox Workspace"
# The plan tiers by monthly credits (edges-api.md section 1.5): the largest credits of each.
PLANS = (
    (1_000, "Trial"),
    (10_000, "Bronze"),
    (100_000, "Silver"),
    (500_000, "Gold"),
    (2_000_000, "Platinum"),
    (20_000_000, "Diamond"),
)
TOP_PLAN = "Titanium"


@dataclass
class Charge:
    """What one ended iteration of a run used.

    Attributes:
        action_slug: The run's action.
        run_uid: The run.
        finished_at: When the iteration ended (epoch seconds).
        credits: The credits it used (0 for a free action or an iteration without results).
    """

    action_slug: str
    run_uid: str
    finished_at: float
    credits: float


def charges(run: Run, now: float) -> list[Charge]:
    """Return what each ended iteration of a run used, up to ``now``.

    Args:
        run: The run.
        now: Current time (epoch seconds).
    """
    rate = ACTIONS[run.action_name].credits
    if run.identity_id is None:  # managed mode
        rate *= MANAGED_RATE
    found = []
    for iteration in run.iterations:
        status, finished = iteration.status(now), iteration.finished_at(now)
        if status not in TERMINAL or finished is None:
            continue
        results = sum(len(lane.delivered) for lane in iteration.lanes)
        used = results * rate if status in DELIVERING else 0.0
        found.append(Charge(run.action_name, run.uid, finished, used))
    return found


def month_bounds(now: float) -> tuple[float, float]:
    """Return the current month (UTC): its first and its last microsecond, in epoch seconds.

    Args:
        now: Current time (epoch seconds).
    """
    moment = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start.timestamp(), following.timestamp() - 1e-6


def consumption(
    runs: Iterable[Run], purged: Iterable[Charge], now: float, credits_max: float
) -> dict[str, Any]:
    """Return the body of ``GET /v1/workspaces/consumption`` for the current month.

    Args:
        runs: Every run of the workspace.
        purged: The charges of the runs purged so far.
        now: Current time (epoch seconds).
        credits_max: The workspace's credits per month.

    Returns:
        The credits, the month's bounds and one ``{action_slug, credits_used, runs_count}``
        per action that ended an iteration this month, by slug.
    """
    start, end = month_bounds(now)
    every = [charge for run in runs for charge in charges(run, now)] + list(purged)
    used: dict[str, float] = {}
    counted: dict[str, set[str]] = {}
    for charge in every:
        if start <= charge.finished_at <= end:
            used[charge.action_slug] = used.get(charge.action_slug, 0.0) + charge.credits
            counted.setdefault(charge.action_slug, set()).add(charge.run_uid)
    total = sum(used.values())
    return {
        "credits_left": _number(max(0.0, credits_max - total)),
        "credits_used": _number(total),
        "credits_max": _number(credits_max),
        "current_month_start": iso_from_us(to_us(start)),
        "current_month_end": iso_from_us(to_us(end)),
        "consumptions": [
            {
                "action_slug": slug,
                "credits_used": _number(used[slug]),
                "runs_count": len(counted[slug]),
            }
            for slug in sorted(used)
        ],
    }


def workspace(
    runs: Iterable[Run], purged: Iterable[Charge], now: float, credits_max: float
) -> dict[str, Any]:
    """Return the body of ``GET /v1/workspaces``: the workspace and its credits this month.

    Args:
        runs: Every run of the workspace.
        purged: The charges of the runs purged so far.
        now: Current time (epoch seconds).
        credits_max: The workspace's credits per month.
    """
    found = consumption(runs, purged, now, credits_max)
    return {
        "name": WORKSPACE_NAME,
        "uid": WORKSPACE_UID,
        "credits_left": found["credits_left"],
        "credits_max": found["credits_max"],
        "credits_used": found["credits_used"],
        "plan_name": plan_name(credits_max),
        "current_month_start": found["current_month_start"],
        "current_month_end": found["current_month_end"],
    }


def plan_name(credits_max: float) -> str:
    """The plan tier of a workspace with these monthly credits (Trial ... Titanium).

    Args:
        credits_max: The workspace's credits per month.
    """
    return next((name for most, name in PLANS if credits_max <= most), TOP_PLAN)


def _number(value: float) -> int | float:
    """An integer when the value is whole (credits are fractional in managed mode only)."""
    return int(value) if float(value).is_integer() else value
