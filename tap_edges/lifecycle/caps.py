"""The cap a partition runs with, grows to (full-batch-grows) or is clamped to (cap-clamped)."""

from __future__ import annotations

import dataclasses
import typing as t

from tap_edges.model import Grown

if t.TYPE_CHECKING:
    from tap_edges.model import Run
    from tap_edges.state import Bookmark


@dataclasses.dataclass(frozen=True)
class Caps:
    """What the settings say of a partition's cap.

    Attributes:
        configured: ``max_results`` after ``max_results_per_stream``.
        adaptive: The ``adaptive_max_results`` setting.
        ceiling: The ``max_results_ceiling`` setting.
    """

    configured: int
    adaptive: bool = True
    ceiling: int = 5000


def grow(
    cap: int | None, count: int, *, fresh: bool, limit: int | None, caps: Caps
) -> Grown | None:
    """Row full-batch-grows: the cap after a full batch of a continued run.

    Args:
        cap: The cap the run works with, if known.
        count: New items in the batch.
        fresh: Whether the batch is the run's first (a launch's, which is full by design).
        limit: The largest cap Edges takes for the action, when a clamp or a refusal told.
        caps: The settings.

    Returns:
        The grown cap, or None when the partition keeps its cap.
    """
    ceiling = caps.ceiling if limit is None else min(caps.ceiling, limit)
    if cap is None or count < cap or fresh or not caps.adaptive or cap >= ceiling:
        return None
    return Grown(setting=caps.configured, max_results=min(2 * cap, ceiling))


def clamped(bookmark: Bookmark, run: Run) -> int | None:
    """Row cap-clamped: the cap Edges clamped the run to, when not recorded yet.

    Args:
        bookmark: The partition's bookmark (the cap sent, the limit known).
        run: The finished run (the cap it echoes).

    Returns:
        The echoed cap, when it is below the cap sent and not yet the known limit.
    """
    sent, echo = sent_cap(bookmark, run), run.max_results
    if sent is None or echo is None or echo >= sent or bookmark.cap_limit == echo:
        return None
    return echo


def wanted_max_results(bookmark: Bookmark, caps: Caps) -> int:
    """The cap a partition should run with: the configured one, or what it grew to.

    Args:
        bookmark: The partition's bookmark (holds the grown cap).
        caps: The settings.

    Returns:
        The grown cap while the configured cap is the one it grew from, else the configured.
    """
    grown = bookmark.grown
    if not caps.adaptive or grown is None or grown.setting != caps.configured:
        return caps.configured
    return max(caps.configured, min(grown.max_results, caps.ceiling))


def sent_cap(bookmark: Bookmark, run: Run | None) -> int | None:
    """The cap the tap launched the run with (the run's echo for states that did not keep it)."""
    if bookmark.max_results is not None:
        return bookmark.max_results
    return None if run is None else run.max_results


def run_cap(bookmark: Bookmark, run: Run | None) -> int | None:
    """The cap a run works with: the one Edges echoes (a clamp), else the one sent."""
    if run is not None and run.max_results is not None:
        return run.max_results
    return bookmark.max_results
