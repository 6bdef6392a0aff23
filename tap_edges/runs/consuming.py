"""What a read batch means for its partition, decided with the runs, not by the reader.

:func:`expected` is what the runs hand the batch reader (:mod:`tap_edges.batches`): values from
the bookmark and the run, nothing of the registry. Once the batch is emitted, :func:`consumed`
is the bookmark after it (the lifecycle's row "a continued run's batch is full" grows the cap,
"Edges clamped the cap" records the clamp); :func:`check_outcome` applies the rows on a finished
run's status; :func:`report_batch` logs the batch and says loudly when Edges may have dropped
items.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from tap_edges import errors
from tap_edges.actions import failure_hint
from tap_edges.lifecycle import Caps, Verdict, clamped, grow, run_cap, sent_cap, verdict
from tap_edges.model import Batch, Expected, Launched, Launching, Run
from tap_edges.times import iso, parse_time

if t.TYPE_CHECKING:
    import logging

    from tap_edges.model import Grown
    from tap_edges.runs.partitions import Partition, Tracked
    from tap_edges.state import Bookmark


def expected(bookmark: Bookmark, run: Run) -> Expected:
    """What the reader needs to tell the run's new items from those emitted before."""
    iteration = bookmark.iteration
    return Expected(
        mark=parse_time(bookmark.consumed_through),
        layout=bookmark.outputs,
        count_before=iteration.output_count if iteration else None,
        count_now=run.iteration.output_count,
        stand_in=_stand_in(run),
    )


def _stand_in(run: Run) -> str | None:
    """The time an item without a readable ``extracted_at`` carries: its iteration's end.

    Edges extracted the item in the iteration that delivered it; with that time the
    replication key (and the incremental models on it) stay usable.
    """
    finished = parse_time(run.iteration.finished_at)
    return None if finished is None else iso(finished)


@dataclasses.dataclass(frozen=True)
class Consumed:
    """The bookmark once a batch is emitted, and what the batch means for the partition.

    Attributes:
        bookmark: The new bookmark.
        cap: The cap the run works with, if known.
        first: Whether it was the partition's very first extraction.
        grew: The cap the next sync relaunches with (full-batch-grows), if it grew.
        clamp: The cap Edges clamped the run to (cap-clamped), when it is news.
    """

    bookmark: Bookmark
    cap: int | None
    first: bool
    grew: Grown | None
    clamp: int | None


def consumed(old: Bookmark, run: Run, batch: Batch, caps: Caps) -> Consumed:
    """The bookmark once the run's batch is emitted.

    Args:
        old: The bookmark while the batch was read.
        run: The run, terminal.
        batch: What was emitted.
        caps: The partition's cap settings.

    Returns:
        The new bookmark and what the batch means.
    """
    fresh = isinstance(old.pending, (Launching, Launched))  # a run's first batch
    clamp = clamped(old, run)
    limit = old.cap_limit if clamp is None else clamp
    cap = run_cap(old, run)
    grew = grow(cap, batch.count, fresh=fresh, limit=limit, caps=caps)
    newest = batch.newest.isoformat().replace("+00:00", "Z") if batch.newest else None
    bookmark = dataclasses.replace(
        old,
        iteration=run.iteration,
        consumed_through=newest or old.consumed_through,
        pending=None,
        max_results=sent_cap(old, run),
        grown=grew or old.grown,
        outputs=batch.layout,
        cap_limit=limit,
    )
    return Consumed(bookmark, cap, fresh and old.consumed_through is None, grew, clamp)


def check_outcome(tr: Tracked, run: Run, logger: logging.Logger) -> None:
    """Rows run-failed, run-partial: fail the partition or warn, its batch emitted.

    Args:
        tr: The partition, its batch emitted.
        run: Its run, terminal.
        logger: Where to warn.

    Raises:
        RunError: The run ended unsuccessfully.
    """
    error = run.last_error
    label = error.label if error else None
    what = f"{label or 'no label'}: {(error.message if error else None) or '-'}"
    what += failure_hint(tr.partition, label)
    found = verdict(run)
    if found is Verdict.FAILED:
        after = "launches a fresh run" if run.status == "INVALID" else "continues it"
        raise errors.RunError(
            tr.partition.label,
            tr.bookmark.run_uid,
            f"run ended {run.status} ({what}); its outputs were emitted and the next sync {after}",
        )
    if found is Verdict.PARTIAL:
        logger.warning(
            "%s: run %s ended PARTIAL_SUCCEEDED (%s); its outputs were emitted.",
            tr.partition.label,
            tr.bookmark.run_uid,
            what,
        )


def report_batch(  # noqa: PLR0913
    logger: logging.Logger,
    metrics_logger: logging.Logger | None,
    partition: Partition,
    *,
    run_uid: str | None,
    batch: Batch,
    cap: int | None,
    first: bool,
    grew: Grown | None,
) -> bool:
    """Log what a batch delivered, and say loudly when Edges may have dropped items.

    Args:
        logger: The tap's logger.
        metrics_logger: The SDK's metrics logger, if any.
        partition: The batch's partition.
        run_uid: Its run.
        batch: What was emitted.
        cap: The run's ``max_results``, if known.
        first: Whether it is the partition's very first extraction (a full one is expected).
        grew: The cap ``adaptive_max_results`` grew to for the next sync, if it did.

    Returns:
        True when the batch is full: items may be lost.
    """
    label = partition.label
    logger.info("%s: run %s delivered %d new item(s).", label, run_uid, batch.count)
    if batch.undated:
        logger.warning(
            "%s: run %s: %d item(s) had no readable extracted_at; they were emitted and will "
            "be emitted again next sync (targets dedupe them on the primary key).",
            label,
            run_uid,
            batch.undated,
        )
    if cap is None or batch.count < cap:
        return False
    if first:
        logger.info(
            "%s: the first extraction hit max_results (%d); older items were not fetched.",
            label,
            cap,
        )
        return False
    if grew is not None:
        remedy = (
            f"The next sync relaunches it with max_results {grew.max_results} "
            "(adaptive_max_results) to bring back the newest of them"
        )
    else:
        remedy = f"Raise max_results for stream '{partition.stream}' or sync more often"
    tags = {"stream": partition.stream, "partition": label, "run_uid": run_uid}
    report_possible_loss(logger, metrics_logger, tags, batch.count, cap, remedy=remedy)
    return True


def report_possible_loss(  # noqa: PLR0913
    logger: logging.Logger,
    metrics_logger: logging.Logger | None,
    tags: dict[str, t.Any],
    count: int,
    cap: int,
    *,
    remedy: str,
) -> None:
    """Say loudly that Edges may have dropped items: a WARNING and a metric point.

    Args:
        logger: The tap's logger.
        metrics_logger: The SDK's metrics logger, if any.
        tags: ``stream``, ``partition`` and ``run_uid`` of the batch.
        count: Items in the batch.
        cap: The run's ``max_results``.
        remedy: What heals it, or what the user should do.
    """
    if metrics_logger is not None:
        point = {"type": "counter", "metric": "edges_possible_loss", "value": 1, "tags": tags}
        metrics_logger.info("METRIC: %s", json.dumps(point, separators=(",", ":")))
    logger.warning(
        "%s: run %s delivered %d new items, as many as its max_results (%d): Edges may have "
        "dropped older new items. %s.",
        tags["partition"],
        tags["run_uid"],
        count,
        cap,
        remedy,
    )
