"""EdgesActionStream: the one stream class, instantiated once per ActionSpec.

A listing's stream (conversations, posts) reads its records from the sync's discovery
(:mod:`tap_edges.discovery`) instead of the run coordinator, and the streams it feeds (messages,
the post streams) take the inputs discovery found (:class:`Found`) besides the listed ones.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import importlib.resources
import json
import sys
import typing as t

from tap_edges.conform import Conformer
from tap_edges.runs.partitions import Partition
from tap_edges.sdk import FastRecordStream
from tap_edges.state import Bookmark, read_bookmark, write_bookmark

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_edges.actions import ActionSpec
    from tap_edges.runs.partitions import PartitionKey
    from tap_edges.settings import StreamSettings

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


@functools.cache
def load_schema(stream: str) -> dict[str, t.Any]:
    """Read a stream's JSON schema, with the fields every stream shares merged in.

    Args:
        stream: The stream name (the schema file's stem).

    Returns:
        The JSON schema.
    """
    folder = importlib.resources.files("tap_edges") / "schemas"
    common = json.loads((folder / "_common.json").read_text(encoding="utf-8"))
    schema = json.loads((folder / f"{stream}.json").read_text(encoding="utf-8"))
    schema["properties"] = {**common["properties"], **schema["properties"]}
    return t.cast("dict[str, t.Any]", schema)


def derive_key(record: dict[str, t.Any], parts: tuple[tuple[str, ...], ...]) -> str | None:
    """Compute a stable key from the first non-null candidate field of each part.

    Args:
        record: The record.
        parts: Candidate fields per key component.

    Returns:
        A hex digest, identical for identical component values; None when every part is null
        (such items would all share one key and merge into one row).
    """
    values = [next((record[f] for f in part if record.get(f) is not None), None) for part in parts]
    if all(value is None for value in values):
        return None
    digest = hashlib.sha256(json.dumps(values, default=str).encode("utf-8"))
    return digest.hexdigest()[:32]


class RunRecords(t.Protocol):
    """What a stream reads from the sync's runs (the run coordinator)."""

    def records(self, key: PartitionKey) -> Iterable[dict[str, t.Any]]:
        """The partition's new items, once its run is read."""
        ...

    def run_uid(self, key: PartitionKey) -> str | None:
        """The run whose items :meth:`records` yields."""
        ...


class Found:
    """The inputs discovery found this sync, per (stream, identity); empty until it ran."""

    def __init__(self) -> None:
        """Nothing found yet."""
        self._inputs: dict[tuple[str, str], list[str]] = collections.defaultdict(list)

    def add(self, stream: str, identity_id: str, inputs: Iterable[str]) -> None:
        """Add inputs of a stream for an identity (each once)."""
        known = self._inputs[stream, identity_id]
        known.extend(value for value in inputs if value not in known)

    def of(self, stream: str, identity_id: str) -> list[str]:
        """The inputs found for a stream and an identity."""
        return list(self._inputs.get((stream, identity_id), ()))


class EdgesActionStream(FastRecordStream):
    """Records of one Edges action, one partition per (identity, input).

    Its records take the fast record path of :class:`.FastRecordStream` when nothing needs the
    SDK's per-record work.
    """

    replication_key = "extracted_at"
    is_sorted = False

    def __init__(
        self,
        tap: Tap,
        spec: ActionSpec,
        settings: StreamSettings,
        runs: Callable[[], RunRecords],
        found: Found,
    ) -> None:
        """Build the stream of one action.

        Args:
            tap: The tap.
            spec: The action's spec.
            settings: What the stream needs from the config.
            runs: Returns the sync's runs, starting every selected partition's run on the
                first call (the tap's ``start_runs``); for a listing, the sync's discovery.
            found: The inputs discovery finds this sync (for the streams listings feed).
        """
        self.spec = spec
        self.settings = settings
        self._runs = runs
        self._found = found
        self._reading: Context | None = None
        self._context_states: dict[tuple[tuple[str, t.Any], ...], dict[str, t.Any]] = {}
        super().__init__(tap, schema=load_schema(spec.stream), name=spec.stream)
        self.primary_keys = list(spec.primary_keys)
        self.conformer = Conformer(spec.stream, self.schema)

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]]:
        """One context per configured identity (and input, for actions that take one)."""
        identities, listed = self.settings.identity_ids, self.settings.inputs
        if not self.settings.discover:
            return []
        if self.spec.input_setting is None:
            return [{"identity_id": identity} for identity in identities]
        field = t.cast("str", self.spec.input_field)
        return [
            {"identity_id": i, field: value}
            for i in identities
            for value in [*listed, *(v for v in self._found.of(self.name, i) if v not in listed)]
        ]

    def context_of(self, identity_id: str, input_value: str | None) -> dict[str, t.Any]:
        """The context of a partition of this stream."""
        field = self.spec.input_field
        return {"identity_id": identity_id, **({field: input_value} if field else {})}

    def followed(self, identity_id: str) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """Every input the state holds a partition of for an identity, with its state."""
        field = self.spec.input_field
        for stored in self.stream_state.get("partitions") or ():
            context = stored.get("context") or {}
            if field and context.get("identity_id") == identity_id:
                value = context.get(field)
                if isinstance(value, str):
                    yield value, stored

    def partition(self, context: Context) -> Partition:
        """The run-lifecycle view of one context."""
        field = self.spec.input_field
        return Partition(
            stream=self.name,
            action=self.spec.action,
            identity_id=str(context["identity_id"]),
            input_field=field,
            input_value=str(context[field]) if field else None,
            max_results=self.settings.max_results,
            continue_documented=self.spec.continue_documented,
            full=self.spec.lists is not None,
        )

    def run_entries(self) -> Iterable[tuple[Partition, Bookmark, t.Callable[[Bookmark], None]]]:
        """Every partition with its stored bookmark and a function that saves it."""
        for context in self.partitions:
            partition = self.partition(context)
            bookmark = read_bookmark(
                self._context_state(context), label=partition.label, logger=self.logger
            )
            yield partition, bookmark, functools.partial(self.save_bookmark, context)

    def save_bookmark(self, context: Context, bookmark: Bookmark) -> None:
        """Store a partition's bookmark in the state (the coordinator flushes STATE messages)."""
        if context == self._reading:  # the batch was emitted: its replication key value too
            self.commit_replication_value(context)
        write_bookmark(self._context_state(context), bookmark)
        self.mark_state_changed()  # the SDK's STATE at the stream's end has it

    def context_state(self, context: Context) -> dict[str, t.Any]:
        """The partition's state dict (created empty when new)."""
        return self._context_state(context)

    def _context_state(self, context: Context) -> dict[str, t.Any]:
        """The partition's state dict; looked up once (the SDK searches a list each time)."""
        key = tuple(sorted(context.items()))
        found = self._context_states.get(key)
        if found is None:
            found = self._context_states[key] = self.get_context_state(context)
        return found

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not context:  # the SDK asks once with no context when there are no partitions
            return
        runs = self._runs()  # started by sync_all, or here (the SDK's dry runs)
        partition = self.partition(context)
        self._reading = context
        try:
            run_uid: str | None = None
            for item in runs.records(partition.key):
                run_uid = run_uid or t.cast("str", runs.run_uid(partition.key))
                record = self._complete(partition, run_uid, item)
                if record is not None:
                    yield record
        finally:
            self.commit_replication_value(context)
            self._reading = None

    def _complete(
        self, partition: Partition, run_uid: str, item: dict[str, t.Any]
    ) -> dict[str, t.Any] | None:
        """Conform an output item and add the partition's fields (in place); None: no key."""
        self.conformer.conform(item)
        item["identity_id"], item["run_uid"] = partition.identity_id, run_uid
        if partition.input_field:
            item[partition.input_field] = partition.input_value
        derived = self.spec.derived_key
        if derived is not None:
            item[derived.name] = derive_key(item, derived.parts)
        for key in self.primary_keys:
            if item.get(key) is None:
                missing = [name for name in self.primary_keys if item.get(name) is None]
                self.logger.warning(
                    "%s: run %s: skipped an item without %s (part of the primary key).",
                    partition.label,
                    run_uid,
                    ", ".join(missing),
                )
                return None
        return item


@dataclasses.dataclass(frozen=True)
class StreamsView:
    """The tap's streams as discovery sees them (``discovery.discoverer.Streams``)."""

    streams: Mapping[str, EdgesActionStream]
    found: Found

    def children(self) -> dict[str, tuple[str, ...]]:
        """Each listing stream, with the selected streams whose partitions it finds."""
        return {
            listing.name: tuple(
                child.name
                for child in self.streams.values()
                if child.selected and child.spec.input_setting == listing.spec.lists
            )
            for listing in self.streams.values()
            if listing.spec.lists
        }

    def plain(self) -> list[tuple[Partition, Bookmark, Callable[[Bookmark], None]]]:
        """The partitions of the selected streams that are not listings (listed inputs)."""
        return [
            entry
            for stream in self.streams.values()
            if stream.selected and not stream.spec.lists
            for entry in stream.run_entries()
        ]

    def listings(
        self, children: Mapping[str, tuple[str, ...]]
    ) -> list[tuple[Partition, Bookmark, Callable[[Bookmark], None]]]:
        """The partitions of the listings to run: selected, or feeding a selected stream."""
        return [
            entry
            for stream in self.streams.values()
            if stream.spec.lists and (stream.selected or children.get(stream.name))
            for entry in stream.run_entries()
        ]

    def entries(
        self, stream: str, only: set[PartitionKey] | None = None
    ) -> list[tuple[Partition, Bookmark, Callable[[Bookmark], None]]]:
        """The stream's partitions with their bookmarks (all, or those keyed in ``only``)."""
        return [
            entry
            for entry in self.streams[stream].run_entries()
            if only is None or entry[0].key in only
        ]

    def state(self, key: PartitionKey) -> dict[str, t.Any]:
        """The state dict of a partition."""
        stream = self.streams[key[0]]
        return stream.context_state(stream.context_of(key[1], key[2]))

    def followed(self, stream: str, identity_id: str) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """Every input the state holds a partition of, for one identity, with its state."""
        return self.streams[stream].followed(identity_id)

    def follow(self, stream: str, identity_id: str, inputs: Iterable[str]) -> None:
        """Add discovered inputs to the stream's partitions for this sync."""
        self.found.add(stream, identity_id, inputs)
