"""The tap's end-of-sync line (tap_edges/runs/summary.py), read back as numbers for Dagster.

Pure Python: the orchestrator's Pipes process reads it from ``meltano run``'s log, and the
tests check it against the tap's own :class:`tap_edges.runs.summary.SyncSummary`.
"""

from __future__ import annotations

import dataclasses
import re

LINE = re.compile(
    r"Sync summary: partitions launched (?P<launched>\d+), continued (?P<continued>\d+), "
    r"read (?P<read>\d+), waiting (?P<waiting>\d+), failed (?P<failed>\d+); "
    r"new items: (?P<items>.*?); possible losses (?P<losses>\d+); "
    r"/v1/runs/\* requests (?P<requests>\d+) \(budget (?P<budget>\d+)/min\); "
    r"wall time (?P<seconds>[\d.]+)s\."
)
COUNTS = ("launched", "continued", "read", "waiting", "failed", "losses", "requests", "budget")


@dataclasses.dataclass(frozen=True)
class Summary:
    """One sync's summary: partitions by what their run did, new items per stream."""

    launched: int
    continued: int
    read: int
    waiting: int
    failed: int
    losses: int
    requests: int
    budget: int
    seconds: float
    new_items: dict[str, int]

    def metadata(self) -> dict[str, int | float]:
        """Flat numbers, named for Dagster's metadata panel."""
        found: dict[str, int | float] = {
            f"partitions {name}": getattr(self, name) for name in COUNTS[:5]
        }
        found["possible losses"] = self.losses
        found["/v1/runs/* requests"] = self.requests
        found["sync wall seconds"] = self.seconds
        found["new items"] = sum(self.new_items.values())
        return found


def parse_line(text: str) -> Summary | None:
    """The summary in a log line (or any text), or None when there is none."""
    found = LINE.search(text)
    if found is None:
        return None
    items = found["items"]
    pairs = [] if items == "none" else [part.rsplit(" ", 1) for part in items.split(", ")]
    return Summary(
        **{name: int(found[name]) for name in COUNTS},
        seconds=float(found["seconds"]),
        new_items={stream: int(count) for stream, count in pairs},
    )
