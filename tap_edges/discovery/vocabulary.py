"""What discovery is given and what it reports.

Its settings, the streams as it sees them, and its counts for the sync summary.
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_edges.settings import DEFAULT_CEILING

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from tap_edges.runs.partitions import Partition, PartitionKey
    from tap_edges.state import Bookmark

    Entry = tuple[Partition, Bookmark, Callable[[Bookmark], None]]


class Streams(t.Protocol):
    """What discovery needs of the tap's streams (the tap implements it over its streams)."""

    def entries(self, stream: str, only: set[PartitionKey] | None = None) -> list[Entry]:
        """The stream's partitions with their bookmarks (all, or those keyed in ``only``)."""
        ...

    def state(self, key: PartitionKey) -> dict[str, t.Any]:
        """The state dict of a partition (created empty when new)."""
        ...

    def followed(self, stream: str, identity_id: str) -> Iterable[tuple[str, Mapping[str, t.Any]]]:
        """Every input the state holds a partition of, for one identity, with its state."""
        ...

    def follow(self, stream: str, identity_id: str, inputs: Iterable[str]) -> None:
        """Add discovered inputs to the stream's partitions for this sync."""
        ...


@dataclasses.dataclass(frozen=True)
class Options:
    """The discovery settings."""

    lookback_days: int = 30
    window_days: int = 30
    reshares: bool = False
    ceiling: int = DEFAULT_CEILING
    children: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_config(
        cls, config: Mapping[str, t.Any], children: Mapping[str, tuple[str, ...]]
    ) -> Options:
        """The discovery settings of a tap config (defaults applied)."""
        return cls(
            lookback_days=int(config.get("thread_lookback_days", cls.lookback_days)),
            window_days=int(config.get("post_window_days", cls.window_days)),
            reshares=bool(config.get("follow_reshares", cls.reshares)),
            ceiling=int(config.get("max_results_ceiling", cls.ceiling)),
            children=children,
        )


@dataclasses.dataclass
class Counts:
    """What discovery found this sync, for the summary line."""

    threads_listed: int = 0
    threads_active: int = 0
    threads_new: int = 0
    posts_listed: int = 0
    posts_in_window: int = 0
    posts_new: int = 0

    def line(self) -> str:
        """The summary's discovery part."""
        return (
            f"threads listed {self.threads_listed}, active {self.threads_active}, new "
            f"{self.threads_new}; posts listed {self.posts_listed}, in window "
            f"{self.posts_in_window}, new {self.posts_new}"
        )
