"""Reading a run's outputs: the items not emitted before, and what the batch held.

Edges may return, after a continue, the outputs of every iteration (cumulative) or only the
newest one: the docs do not say. Dropping every item extracted at or before the partition's
bookmark is correct either way.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from tap_edges.state import parse_time

if t.TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Callable, Generator, Iterable


@dataclasses.dataclass
class Batch:
    """What one reading of a run's outputs emitted."""

    count: int = 0
    undated: int = 0
    newest: dt.datetime | None = None


def new_items(
    pages: Iterable[list[t.Any]],
    mark: dt.datetime | None,
    skip: Callable[[object], None],
) -> Generator[dict[str, t.Any], None, Batch]:
    """Yield the items extracted after ``mark`` (and those without a readable time).

    Args:
        pages: The outputs, page by page.
        mark: The newest ``extracted_at`` already emitted, if any.
        skip: Called with each item that is not a JSON object (it is not emitted).

    Yields:
        The new items, in the order Edges gave them.

    Returns:
        The batch's counts and its newest ``extracted_at``.
    """
    batch = Batch(newest=mark)
    parse = _last_time_parser()
    for page in pages:
        for item in page:
            if not isinstance(item, dict):
                skip(item)
                continue
            at = parse(item.get("extracted_at"))
            if at is not None and mark is not None and at <= mark:
                continue
            if at is None:
                batch.undated += 1
            elif batch.newest is None or at > batch.newest:
                batch.newest = at
            batch.count += 1
            yield item
    return batch


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


def _last_time_parser() -> Callable[[object], dt.datetime | None]:
    """``parse_time`` remembering its last answer: the items of an iteration share one time."""
    last: tuple[object, dt.datetime | None] = (None, None)

    def parse(value: object) -> dt.datetime | None:
        nonlocal last
        if value != last[0]:
            last = (value, parse_time(value))
        return last[1]

    return parse
