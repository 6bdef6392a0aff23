"""Reading one batch of a run: the one entry point of :mod:`tap_edges.batches`.

:func:`read_batch` takes values (the client, the run's uid, what the bookmark and the run say of
the outputs, the partition's label for the log) and knows nothing of the runs' registry or of
the lifecycle. Reading goes down, never back: this module asks the strategy (:mod:`.dated`, which
hands over to :mod:`.positional` where items carry no readable time), the strategy asks the
client; no module is entered twice for one page. What the batch means for the partition (the
bookmark after it, the verdict on the run, a grown cap) is decided by the runs
(:mod:`tap_edges.runs.consuming`).
"""

from __future__ import annotations

import typing as t

from tap_edges.batches.dated import read_new
from tap_edges.batches.source import Source

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Generator

    from tap_edges.api.client import EdgesClient
    from tap_edges.model import Batch, Expected


def read_batch(
    client: EdgesClient, uid: str, expected: Expected, label: str, logger: logging.Logger
) -> Generator[dict[str, t.Any], None, Batch]:
    """Page through a run's outputs and yield the items not emitted before.

    Args:
        client: The API client.
        uid: The run, terminal.
        expected: What the bookmark and the run say of its outputs.
        label: The partition's label, for the log.
        logger: Where to say what was skipped, or why everything is read.

    Yields:
        The new items.

    Returns:
        What the batch held.
    """

    def skip(item: object) -> None:
        logger.warning(
            "%s: run %s: skipped an output item that is not an object (%s).",
            label,
            uid,
            type(item).__name__,
        )

    def fallback(why: str) -> None:
        logger.info(
            "%s: run %s: reading all its outputs (%s); items may be emitted twice.",
            label,
            uid,
            why,
        )

    return (yield from read_new(Source(client, uid, expected, skip, fallback)))
