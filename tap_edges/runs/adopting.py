"""Adopting the runs of launches whose answers were lost by an earlier sync.

A launch is written into the bookmark before it is sent; a sync killed (or cut off) before the
answer leaves it there. The next sync looks for the run before it pays for another one: by the
token in the run's name, or, where Edges refuses names (name-refused), by the rows unnamed-* of
:mod:`.lifecycle` (the action, the time, the identity and the input).
"""

from __future__ import annotations

import collections
import typing as t

from tap_edges import errors
from tap_edges.runs.sending import started

if t.TYPE_CHECKING:
    import logging

    from tap_edges.model import Launching, Run
    from tap_edges.runs.partitions import Tracked
    from tap_edges.runs.sending import Sender


def adopt_lost_launches(
    sender: Sender,
    pending: list[Tracked],
    known: dict[str, Run],
    taken: set[str],
    logger: logging.Logger,
) -> None:
    """Adopt the runs of the partitions' pending launches, where Edges made them.

    A partition whose run is not found keeps its pending launch (the lifecycle launches again,
    launch-not-found); one whose lookup failed gets the error (launching blind could pay twice).

    Args:
        sender: The sender (it looks the runs up).
        pending: The partitions with a launch pending.
        known: The runs known so far, by uid (adopted runs are added).
        taken: The runs other partitions own (adopted runs are added).
        logger: Where to say what was adopted.
    """
    by_action: dict[str, dict[str, Tracked]] = collections.defaultdict(dict)
    for tr in pending:
        launch = launch_written_ahead(tr)
        if launch.named:
            by_action[tr.partition.action][launch.token] = tr
            continue
        try:
            _adopt_unnamed(sender, tr, launch, known=known, taken=taken, logger=logger)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:
            tr.error = exc
    for action, wanted in by_action.items():
        try:
            found = sender.find_launched(action, wanted)
        except errors.AuthError:
            raise
        except errors.EdgesError as exc:  # launching blind could start a second run
            for tr in wanted.values():
                tr.error = exc
            continue
        for token, run in found.items():
            _adopt(wanted[token], run, known, logger)


def _adopt_unnamed(  # noqa: PLR0913
    sender: Sender,
    tr: Tracked,
    launch: Launching,
    *,
    known: dict[str, Run],
    taken: set[str],
    logger: logging.Logger,
) -> None:
    """Rows unnamed-* for a launch an earlier sync sent without a name."""
    found = sender.find_unnamed(tr.partition, launch, taken)
    if found.run is not None:
        _adopt(tr, found.run, known, logger)
        taken.add(found.run.uid)  # no other partition's


def _adopt(tr: Tracked, run: Run, known: dict[str, Run], logger: logging.Logger) -> None:
    logger.info(
        "%s: adopting run %s (an earlier sync launched it and its answer was lost).",
        tr.partition.label,
        run.uid,
    )
    tr.keep(started(tr.bookmark, run.uid, launch_written_ahead(tr)))
    known[run.uid] = run


def launch_written_ahead(tr: Tracked) -> Launching:
    """The launch written ahead in the partition's bookmark.

    Raises:
        RunError: There is none (a launch is never sent without one).
    """
    pending = tr.bookmark.pending_launch
    if pending is None:
        raise errors.RunError(tr.partition.label, tr.bookmark.run_uid, "no launch written ahead")
    return pending
