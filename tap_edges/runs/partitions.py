"""A partition: one (stream, identity, input) whose items one Edges run delivers."""

from __future__ import annotations

import dataclasses
import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_edges.errors import EdgesError
    from tap_edges.model import Run
    from tap_edges.state import Bookmark

# Every run the tap launches is named "tap-edges#<token> <stream> <identity> <input>": the
# token, unique per launch and written to the state before the launch is sent, finds the run
# again when the launch's answer is lost.
NAME_PREFIX = "tap-edges#"
TOKEN = re.compile(rf"^{NAME_PREFIX}([0-9a-f]{{16}})\b")

PartitionKey = tuple[str, str, str | None]


@dataclasses.dataclass(frozen=True)
class Partition:
    """One (stream, identity, input) whose items one Edges run delivers."""

    stream: str
    action: str
    identity_id: str
    input_field: str | None
    input_value: str | None
    max_results: int
    continue_documented: bool = True
    full: bool = False  # a listing (discovery): a full run every sync, never continued

    @property
    def key(self) -> PartitionKey:
        """Identity of the partition within a sync."""
        return (self.stream, self.identity_id, self.input_value)

    @property
    def label(self) -> str:
        """Human label used in every log line about the partition."""
        where = f"identity {self.identity_id}"
        if self.input_value:
            where += f", {self.input_field} {self.input_value}"
        return f"{self.stream}[{where}]"

    def launch_body(
        self, callback_url: str | None, *, token: str, max_results: int, named: bool = True
    ) -> dict[str, t.Any]:
        """The body of ``POST /actions/{action}/run/async`` for this partition.

        Args:
            callback_url: The run's callback, if any.
            token: The launch's unique token, first in the run's name (never cut off).
            max_results: The run's cap.
            named: Whether to send the name (Edges may refuse the field).

        Returns:
            The JSON body.
        """
        inputs = {self.input_field: self.input_value} if self.input_field else {}
        name = f"{NAME_PREFIX}{token} {self.stream} {self.identity_id} {self.input_value or ''}"
        mode = {} if self.full else {"sync_mode": "incremental"}
        body: dict[str, t.Any] = {
            "identity_ids": [self.identity_id],
            "inputs": [inputs],
            "parameters": {**mode, "max_results": max_results},
        }
        if named:
            body = {"name": name.strip()[:255], **body}
        if callback_url:
            body["callback"] = {"url": callback_url, "on": "final"}
        return body


def token_of(name: str) -> str | None:
    """The launch token in a run's name, if the tap launched it."""
    found = TOKEN.match(name)
    return found.group(1) if found else None


@dataclasses.dataclass
class Tracked:
    """One partition during a sync: its bookmark, its run as last seen, its error.

    Attributes:
        partition: The partition.
        bookmark: Its bookmark now (in the state; flushed by the coordinator).
        save: Puts a bookmark in the state.
        error: Why the partition fails this sync, once it does.
        run: Its run as last seen (None until the run is known).
        since: When the tap started waiting for the run (monotonic seconds).
        before: The run before this sync continued it, until a poll shows it moved.
        sent: Whether this sync launched or continued its run (so its next batch fetches
            what Edges had when the request was applied).
    """

    partition: Partition
    bookmark: Bookmark
    save: Callable[[Bookmark], None]
    error: EdgesError | None = None
    run: Run | None = None
    since: float = 0.0
    before: Run | None = None
    sent: bool = False

    def keep(self, bookmark: Bookmark) -> None:
        """Make ``bookmark`` the partition's bookmark and put it in the state (not flushed)."""
        self.bookmark = bookmark
        self.save(bookmark)

    def track(self, run: Run, now: float, before: Run | None = None) -> None:
        """Wait for ``run`` from ``now`` on (``before``: the run this sync continued)."""
        self.run, self.since, self.before = run, now, before
