"""The lifecycle's words: run statuses, the coordinator's actions, a decision (a step)."""

from __future__ import annotations

import dataclasses
import enum
import logging
import typing as t

if t.TYPE_CHECKING:
    from tap_edges.model import Grown, Run

# The status vocabulary: every status Edges documents for a run, and how the tap reads it.
Status = t.Literal[
    "CREATED",
    "QUEUED",
    "SCHEDULED",
    "RUNNING",
    "PENDING",
    "SUCCEEDED",
    "PARTIAL_SUCCEEDED",
    "FAILED",
    "BLOCKED",
    "STOPPED",
    "INVALID",
]


IN_FLIGHT: frozenset[Status] = frozenset({"CREATED", "QUEUED", "SCHEDULED", "RUNNING", "PENDING"})


# In flight but not started: Edges runs a few runs at a time per plan and queues the rest.
QUEUED: frozenset[Status] = IN_FLIGHT - {"RUNNING"}


UNSUCCESSFUL: frozenset[Status] = frozenset({"FAILED", "BLOCKED", "STOPPED", "INVALID"})


SUCCESSFUL: frozenset[Status] = frozenset({"SUCCEEDED", "PARTIAL_SUCCEEDED"})


TERMINAL: frozenset[Status] = SUCCESSFUL | UNSUCCESSFUL


class Action(enum.Enum):
    """What the coordinator does with a partition's run."""

    LAUNCH = "launch"  # start a fresh incremental run (first sync, or the old run is replaced)
    WAIT = "wait"  # the run is in flight: wait for it, then read its iteration
    READ = "read"  # the run's latest iteration is not consumed: read it, do not continue
    CONTINUE = "continue"  # the latest iteration is consumed: continue, wait, read
    FAIL = "fail"  # the partition fails this sync (the others go on)


@dataclasses.dataclass(frozen=True)
class Step:
    """One decision: the action, why, with what cap, and how loudly to say so.

    Attributes:
        action: What to do.
        reason: Why, worded to follow "<partition>: run <uid> ".
        max_results: The cap to launch with (or the run works with).
        level: How loudly the coordinator logs the decision.
        grown: A cap to remember for the next syncs (grown-cap-refused), if any; the largest
            cap Edges takes for the action is then remembered as ``grown.max_results`` too.
        unnamed: Launch without the run's ``name`` from now on (name-refused).
    """

    action: Action
    reason: str
    max_results: int
    level: int = logging.DEBUG
    grown: Grown | None = None
    unnamed: bool = False


def is_terminal(run: Run) -> bool:
    """Whether the run finished its iteration (a status the tap does not know is not)."""
    return run.status in TERMINAL
