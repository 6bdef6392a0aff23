"""The rows while waiting, on a finished run's verdict, and on a lost launch without a name."""

from __future__ import annotations

import dataclasses
import enum
import typing as t

from tap_edges.lifecycle.starting import continue_applied
from tap_edges.lifecycle.vocabulary import IN_FLIGHT, TERMINAL, UNSUCCESSFUL
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    from tap_edges.model import Run


class Poll(enum.Enum):
    """What one status poll says of a run in flight."""

    GONE = "gone"  # run-gone
    NOT_MOVED = "not moved"  # not-moved: the iteration before this sync's continue, still
    UNKNOWN = "unknown"  # unknown-status: a status the tap does not know; keep waiting
    MOVED = "moved"  # in flight or terminal: take it


def after_poll(before: Run | None, now: Run | None) -> Poll:
    """Rows run-gone, not-moved, unknown-status: what a poll of a run in flight shows.

    Args:
        before: The run before this sync continued it (None when it did not).
        now: The run as Edges shows it now (None when it is gone).

    Returns:
        How to take the run object.
    """
    if now is None:
        return Poll.GONE
    if before is not None and not continue_applied(before, now):
        return Poll.NOT_MOVED
    if now.status not in TERMINAL | IN_FLIGHT:
        return Poll.UNKNOWN
    return Poll.MOVED


def timed_out(waited: float, timeout: float) -> bool:
    """Row run-timeout: a run in flight waited for ``run_timeout_seconds`` fails its partition.

    The run stays in the state: the next sync waits for it (or reads it), never launches again.
    """
    return waited >= timeout


class Verdict(enum.Enum):
    """Rows no-data, run-failed, run-partial: how a finished run ended, its batch emitted."""

    OK = "ok"  # no-data too
    PARTIAL = "partial"  # run-partial: warn
    FAILED = "failed"  # run-failed: the partition fails (its outputs were emitted)


# Edges' label for a run that found nothing to extract (changelog 2026-06-22): an empty batch.
NO_DATA = "NO_DATA_AVAILABLE"


def verdict(run: Run) -> Verdict:
    """Rows no-data, run-failed, run-partial: the verdict on a finished run."""
    if run.last_error is not None and run.last_error.label == NO_DATA:
        return Verdict.OK
    if run.status in UNSUCCESSFUL:
        return Verdict.FAILED
    if run.status == "PARTIAL_SUCCEEDED":
        return Verdict.PARTIAL
    return Verdict.OK


# Runs created this long before a launch was written ahead still count (clocks differ).
CLOCK_SKEW_SECONDS = 120.0


@dataclasses.dataclass(frozen=True)
class Unnamed:
    """The run a launch without a name started, when it is the only candidate.

    Attributes:
        run: The run to adopt (unnamed-adopt), or None (unnamed-none, unnamed-several: launch).
        candidates: The uids of every matching run (several: unnamed-several).
    """

    run: Run | None
    candidates: tuple[str, ...] = ()


def find_unnamed(
    identity_id: str,
    input_value: str | None,
    sent_at: str | None,
    runs: t.Iterable[Run],
    taken: t.Container[str],
) -> Unnamed:
    """Rows unnamed-*: which run, if any, a launch without a name started (its answer lost).

    Args:
        identity_id: The partition's identity.
        input_value: The partition's input, if its action takes one.
        sent_at: When the launch was written ahead (ISO 8601 UTC).
        runs: The newest runs of the action.
        taken: The runs other partitions (or earlier syncs) already own.

    Returns:
        The run to adopt, or the candidates when not exactly one.
    """
    since = parse_time(sent_at)
    cutoff = None if since is None else since.timestamp() - CLOCK_SKEW_SECONDS
    matches = []
    for run in runs:
        created = parse_time(run.created_at)
        if run.uid in taken or (cutoff is not None and created and created.timestamp() < cutoff):
            continue
        if run.identity_ids and identity_id not in run.identity_ids:
            continue
        if input_value is not None and run.input_values and input_value not in run.input_values:
            continue
        matches.append(run)
    if len(matches) > 1 and since is not None:
        # The clock-skew margin also takes in runs made just before the launch (an earlier
        # sync's, whose state was never committed): one made after it is the launch's own.
        after = [run for run in matches if (made := parse_time(run.created_at)) and made >= since]
        matches = after if len(after) == 1 else matches
    if len(matches) == 1:
        return Unnamed(matches[0], (matches[0].uid,))
    return Unnamed(None, tuple(run.uid for run in matches))
