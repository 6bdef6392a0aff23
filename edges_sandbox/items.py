"""The items ``GET /v1/runs/{uid}/outputs`` and the ground truth serve, built from the feeds.

A run's items are the sequence numbers its iterations delivered; records are looked up in the
feed and stamped with their iteration's ``extracted_at`` only when a page asks for them (and,
under ``type_drift``, drifted from their position in their iteration first). The discovery
actions' items have no ``extracted_at`` (their docs list none).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from edges_sandbox.catalog import ACTIONS
from edges_sandbox.clock import iso_from_us
from edges_sandbox.drift import drifted
from edges_sandbox.runs import DELIVERING, Iteration
from edges_sandbox.variants import TYPE_DRIFT, Stamp, stamp, stamped

if TYPE_CHECKING:
    from edges_sandbox.generators import Record
    from edges_sandbox.world import Feed


class OutputItems(Sequence[dict[str, Any]]):
    """The items of some finished iterations, built only when a page asks for them.

    Paging a run with a million items must not build a million items per page.
    """

    def __init__(
        self,
        feeds: list[Feed],
        chosen: list[Iteration],
        now: float,
        variants: frozenset[str] = frozenset(),
    ) -> None:
        """Index the items of the chosen iterations, in their order; within one, input by input.

        Args:
            feeds: The feed of each of the run's inputs.
            chosen: The iterations whose items are served.
            now: Current time (an iteration delivers only once finished).
            variants: The API variants in force (they may change ``extracted_at`` and, with
                ``type_drift``, the items' value types).
        """
        self.drifting = TYPE_DRIFT in variants
        # Not Iteration.served (a copy): a million-item iteration is read once per page.
        self._parts = [
            (feed, _stamp(feed, it.finish_us, variants), lane.delivered)
            for it in chosen
            if it.status(now) in DELIVERING
            for feed, lane in zip(feeds, it.lanes, strict=True)
        ]

    def __len__(self) -> int:
        """Number of items."""
        return sum(len(seqs) for _, _, seqs in self._parts)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        """One item, or a list of items for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        for feed, extracted_at, seqs in self._parts:
            if 0 <= index < len(seqs):
                return stamped(self._record(feed, seqs, index), extracted_at)
            index -= len(seqs)
        raise IndexError(index)

    def pieces(self, start: int, stop: int) -> Iterator[tuple[Record, Stamp]]:
        """Yield the record and ``extracted_at`` of the items ``start`` to ``stop`` (excluded).

        An ``extracted_at`` of ``None`` means the items have no such key.

        Args:
            start: Index of the first item (0 or more).
            stop: Index after the last item (clipped to the number of items).
        """
        for feed, extracted_at, seqs in self._parts:
            if start < len(seqs) and start < stop:
                for position in range(start, min(stop, len(seqs))):
                    yield self._record(feed, seqs, position), extracted_at
            start, stop = max(0, start - len(seqs)), max(0, stop - len(seqs))

    def _record(self, feed: Feed, seqs: list[int], position: int) -> Record:
        """The record at this position of its iteration, drifted under ``type_drift``."""
        record = feed.record(seqs[position])
        return drifted(record, position) if self.drifting else record


@dataclass(frozen=True)
class OutputView:
    """The items ``GET /outputs`` serves for a run at one snapshot marker."""

    items: OutputItems
    marker: int
    malformed: bool


def truth(
    feeds: list[Feed], iteration: Iteration, status: str, variants: frozenset[str]
) -> dict[str, Any]:
    """Return what one iteration delivers and what it dropped for good (the ground truth).

    Args:
        feeds: The feed of each of the run's inputs.
        iteration: The iteration.
        status: Its status now.
        variants: The API variants in force (the items are shown as the outputs serve them).
    """
    # A stopped iteration delivered nothing and lost nothing: its items come with the next one.
    halted = status == "STOPPED"
    delivered: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    lanes = [] if halted else list(zip(feeds, iteration.lanes, strict=True))
    for feed, lane in lanes:
        value = _stamp(feed, iteration.finish_us, variants)  # as the outputs serve them
        records = [feed.record(seq) for seq in [*lane.delivered, *lane.dropped]]
        if TYPE_DRIFT in variants:  # dropped items come after the delivered ones
            records = [drifted(record, position) for position, record in enumerate(records)]
        items = [stamped(record, value) for record in records]
        delivered += items[: len(lane.delivered)]
        dropped += items[len(lane.delivered) :]
    return {
        "index": iteration.index,
        "extracted_at": iso_from_us(iteration.finish_us),
        "status": status,
        "delivered": delivered,
        "dropped": dropped,
    }


def _stamp(feed: Feed, finish_us: int, variants: frozenset[str]) -> Stamp:
    """The ``extracted_at`` of an iteration's items from this feed (``None``: no such key)."""
    return None if ACTIONS[feed.action].discovery else stamp(finish_us, variants)
