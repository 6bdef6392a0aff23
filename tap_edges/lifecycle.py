"""The lifecycle decision: what one sync does with one partition's run, as a pure function.

:func:`decide` looks at the partition's bookmark (what the incoming state says was emitted),
the run object Edges shows now and the ``max_results`` the partition should run with, and
returns one :class:`Step`. The coordinator (:mod:`tap_edges.runs`) only executes steps.

The rule behind the table: the incoming state is the only record of what a target committed
(after a failed load Meltano hands the tap an older state). So a run is continued only when
that state records the run's latest iteration as consumed; otherwise the sync reads that
iteration, emits it and leaves the run alone, since Edges may serve only the newest
iteration's outputs and a continue would overwrite it.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import typing as t

from tap_edges.state import Bookmark, fingerprint

TERMINAL = frozenset(
    {"SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "BLOCKED", "STOPPED", "INVALID"},
)


class Action(enum.Enum):
    """What the coordinator does with a partition's run."""

    LAUNCH = "launch"  # start a fresh incremental run (first sync, or the old run is replaced)
    WAIT = "wait"  # the run is in flight: wait for it, then read its iteration
    READ = "read"  # the run's latest iteration is not consumed: read it, do not continue
    CONTINUE = "continue"  # the latest iteration is consumed: continue, wait, read


@dataclasses.dataclass(frozen=True)
class Step:
    """One decision: the action, why, with what cap, and how loudly to say so."""

    action: Action
    reason: str
    max_results: int
    level: int = logging.DEBUG


def decide(  # noqa: PLR0911 (one return per row of the table)
    bookmark: Bookmark, run: t.Mapping[str, t.Any] | None, max_results: int
) -> Step:
    """Decide what this sync does with one partition.

    ===  ==========================  ============================================  ===========
    row  bookmark                    run object now                                step
    ===  ==========================  ============================================  ===========
    1    no run uid                  (none)                                        LAUNCH
    2    a launch pending (its       (none)                                        LAUNCH
         run was not found by its
         token)
    3    run uid                     unknown to Edges                              LAUNCH, warn
    4    run uid                     not terminal                                  WAIT
    5    run uid, iteration F        terminal, fingerprint differs from F, or a    READ
                                     continue is pending and ``updated_at`` moved
    6    run uid, iteration F        terminal, fingerprint F, INVALID              LAUNCH, warn
    7    run uid, iteration F        terminal, fingerprint F, not incremental      LAUNCH, warn
    8    run uid, iteration F        terminal, fingerprint F, its max_results      LAUNCH, info
                                     differs from the one wanted
    9    run uid, iteration F        terminal, fingerprint F                       CONTINUE
    ===  ==========================  ============================================  ===========

    Args:
        bookmark: The partition's bookmark from the incoming state (a launch found by its
            token is already adopted into it).
        run: The run object of ``bookmark.run_uid``, or None when Edges does not know it.
        max_results: The cap the partition should run with (configured or grown).

    Returns:
        The step to execute.
    """
    if bookmark.run_uid is None or bookmark.pending_launch is not None:
        return Step(Action.LAUNCH, "has no run yet", max_results, logging.DEBUG)
    if run is None:
        return Step(Action.LAUNCH, "is unknown to the Edges API", max_results, logging.WARNING)
    if status_of(run) not in TERMINAL:
        return Step(Action.WAIT, f"is still {status_of(run)}", max_results)
    if not consumed(bookmark, run):
        return Step(Action.READ, "has an iteration the state does not record", max_results)
    if status_of(run) == "INVALID":
        return Step(
            Action.LAUNCH, "is INVALID and cannot be continued", max_results, logging.WARNING
        )
    if (run.get("parameters") or {}).get("sync_mode") != "incremental":
        why = "was not launched with sync_mode incremental and cannot be continued"
        return Step(Action.LAUNCH, why, max_results, logging.WARNING)
    cap = run_max_results(run, bookmark)
    if cap is not None and cap != max_results:
        why = f"runs with max_results {cap}, not {max_results}"
        return Step(Action.LAUNCH, why, max_results, logging.INFO)
    return Step(Action.CONTINUE, "is consumed", max_results)


def consumed(bookmark: Bookmark, run: t.Mapping[str, t.Any]) -> bool:
    """Whether the bookmark records the run's latest iteration as emitted.

    Args:
        bookmark: The partition's bookmark.
        run: The run object now.

    Returns:
        True when the fingerprints match and no continue may have moved the run since.
    """
    if bookmark.iteration is None or bookmark.iteration != fingerprint(run):
        return False
    pending = bookmark.pending or {}
    moved = pending.get("updated_at") != run.get("updated_at")
    return not (pending.get("op") == "continue" and moved)


def applied(before: t.Mapping[str, t.Any], now: t.Mapping[str, t.Any]) -> bool:
    """Whether a continue was applied, judged from the run before it and now.

    Args:
        before: The run object before the continue was sent.
        now: The run object read after an ambiguous failure.

    Returns:
        True when the run started a new iteration (in flight, or finished a new one).
    """
    return (
        status_of(now) not in TERMINAL
        or fingerprint(now) != fingerprint(before)
        or now.get("updated_at") != before.get("updated_at")
    )


def wanted_max_results(configured: int, bookmark: Bookmark, *, adaptive: bool, ceiling: int) -> int:
    """The cap a partition should run with: the configured one, or what it grew to.

    Args:
        configured: ``max_results`` after ``max_results_per_stream``.
        bookmark: The partition's bookmark (holds the grown cap).
        adaptive: The ``adaptive_max_results`` setting.
        ceiling: The ``max_results_ceiling`` setting.

    Returns:
        The grown cap while the configured cap is the one it grew from, else the configured.
    """
    grown = bookmark.grown
    if not adaptive or not grown or grown.get("setting") != configured:
        return configured
    return max(configured, min(int(grown["max_results"]), ceiling))


def run_max_results(run: t.Mapping[str, t.Any] | None, bookmark: Bookmark) -> int | None:
    """The cap a run works with: its own ``parameters.max_results``, else the bookmark's.

    Args:
        run: The run object, if known.
        bookmark: The partition's bookmark.

    Returns:
        The cap, or None when neither says.
    """
    cap = ((run or {}).get("parameters") or {}).get("max_results")
    if isinstance(cap, int) and not isinstance(cap, bool):
        return cap
    return bookmark.max_results


def status_of(run: t.Mapping[str, t.Any]) -> str:
    """The run's status, upper case (``UNKNOWN`` when absent)."""
    status = run.get("status")
    return status.upper() if isinstance(status, str) else "UNKNOWN"
