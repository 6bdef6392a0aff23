"""What one sync did, and what the tap has learned of the workspace's Edges API, in a line each.

Both are logged at INFO at the end of a sync; what was learned is also kept in the state
(:func:`tap_edges.state.write_api_facts`), so an operator reads it without re-running anything.
"""

from __future__ import annotations

import collections
import dataclasses
import typing as t

from tap_edges.conform import Drift
from tap_edges.model import Layout

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from tap_edges.state import Bookmark


@dataclasses.dataclass
class SyncSummary:
    """Counts of one sync: what each partition's run did, and the new items per stream."""

    launched: int = 0
    continued: int = 0
    read: int = 0
    waiting: int = 0
    items: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    batches: int = 0  # batches emitted (and marked consumed in the state)
    possible_losses: int = 0  # partitions whose batch was full: Edges may have dropped items

    def line(  # noqa: PLR0913
        self,
        *,
        failed: int,
        losses: int,
        requests: int,
        budget: int,
        seconds: float,
        drift: Drift | None = None,
        extra: str = "",
    ) -> str:
        """The end-of-sync line.

        Args:
            failed: Partitions that failed.
            losses: Partitions whose batch may have lost items (full batches).
            requests: ``/v1/runs/*`` requests sent.
            budget: The plan's ``/v1/runs/*`` requests per minute.
            seconds: The sync's wall time.
            drift: What the records' values needed to match their schemas.
            extra: What else the sync reports (discovery, credits), appended.

        Returns:
            The line.
        """
        streams = ", ".join(f"{name} {n}" for name, n in sorted(self.items.items())) or "none"
        drift = drift or Drift()
        return (
            f"Sync summary: partitions launched {self.launched}, continued {self.continued}, "
            f"read {self.read}, waiting {self.waiting}, failed {failed}; new items: {streams}; "
            f"possible losses {losses}; /v1/runs/* requests {requests} (budget {budget}/min); "
            f"wall time {seconds:.1f}s. Values: reconciled with their schema {drift.reconciled}, "
            f"kept as sent in edges_unreconciled {drift.kept_raw}; undeclared fields kept in "
            f"edges_extra {drift.unknown}." + (f" {extra}" if extra else "")
        )


def learned(bookmarks: Iterable[Bookmark], *, names_refused: bool) -> dict[str, str]:
    """What the partitions' bookmarks say of how this workspace's Edges answers.

    Args:
        bookmarks: Every partition's bookmark.
        names_refused: Whether Edges refuses ``name`` on launches.

    Returns:
        One short answer per open question (edges-api.md §11).
    """
    layouts = [b.outputs or Layout() for b in bookmarks]
    limits = sorted({b.cap_limit for b in bookmarks if b.cap_limit is not None})
    return {
        "outputs layout": _most(layouts, "order", ORDERS),
        "output_count counts": _most(layouts, "count", COUNTS),
        "extracted_at": _most(layouts, "dated", DATED),
        "offset on outputs": "refused: cursors"
        if any(not layout.offset for layout in layouts)
        else "accepted or not needed",
        "name on launches": "refused: lost launches are found by time and input"
        if names_refused
        else "accepted",
        "max_results echo": f"clamped to {', '.join(map(str, limits))}"
        if limits
        else "as sent, or absent",
    }


ORDERS = {
    "oldest": "every iteration, oldest first",
    "newest": "every iteration, newest first",
    "latest": "the newest iteration only",
    None: "not told apart yet",
}
COUNTS = {"total": "every iteration", "iteration": "the newest iteration", None: "unclear"}
DATED = {True: "read (ISO 8601 or epoch)", False: "absent: new items told apart by position"}


def _most(layouts: list[Layout], key: str, words: dict[t.Any, str]) -> str:
    """The most common learned value of ``key`` in words (with how many partitions say so)."""
    seen = collections.Counter(
        value for layout in layouts if (value := getattr(layout, key)) is not None
    )
    if not seen:
        return "not learned yet"
    value, count = seen.most_common(1)[0]
    return f"{words.get(value, str(value))} ({count} of {len(layouts)} partitions)"


def learned_line(facts: dict[str, str]) -> str:
    """The line that says what was learned."""
    return "What the tap knows of this workspace's Edges API: " + "; ".join(
        f"{question}: {answer}" for question, answer in facts.items()
    )
