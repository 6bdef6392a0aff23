"""What one batch read is given, built once per read by :mod:`.reading`.

The run's outputs (the client and the run), what the bookmark expects of them, and whom to
tell of what is skipped or not trusted.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_edges.api.client import EdgesClient
    from tap_edges.model import Expected


@dataclasses.dataclass(frozen=True)
class Source:
    """One run's outputs as a batch read sees them.

    Attributes:
        client: The API client: the only way down to Edges.
        run_uid: The run, terminal.
        expected: What the bookmark and the run say of its outputs.
        skip: Called with each output item that is not a JSON object (it is not emitted).
        fallback: Called with the reason when a shortcut's result is not trusted.
    """

    client: EdgesClient
    run_uid: str
    expected: Expected
    skip: Callable[[object], None]
    fallback: Callable[[str], None]

    def pages(self) -> Iterator[list[t.Any]]:
        """Every page of the run's outputs, in order."""
        return self.client.output_pages(self.run_uid)
