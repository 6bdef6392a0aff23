"""EdgesActionStream: the one stream class, instantiated once per ActionSpec."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import sys
import typing as t

from singer_sdk import Stream
from singer_sdk.helpers._util import utc_now
from singer_sdk.mapper import SameRecordTransform

from tap_edges.partitions import Partition
from tap_edges.state import Bookmark, read_bookmark, write_bookmark
from tap_edges.writer import SingerWriter

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_edges.actions import ActionSpec
    from tap_edges.partitions import PartitionKey
    from tap_edges.settings import StreamSettings

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

# On the fast record path, one clock reading stamps this many records (about one output page).
RECORDS_PER_TIMESTAMP = 500


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


def needs_conforming(schema: object) -> bool:
    """Tell whether the SDK's type conformance could change a record parsed from JSON.

    For JSON values, ``conform_record_data_types`` only drops properties that an object schema
    does not declare (unless it allows ``additionalProperties``), turns numbers into booleans
    for boolean-only properties and NaN into null (which msgspec writes as null anyway).

    Args:
        schema: A JSON schema (or any part of one).

    Returns:
        False when every JSON-parsed record passes through conformance unchanged.
    """
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    kinds = set(types) if isinstance(types, list) else {types}
    if "boolean" in kinds and kinds <= {"boolean", "null"}:
        return True
    if "properties" in schema and not schema.get("additionalProperties"):
        return True
    parts: list[object] = [*(schema.get("properties") or {}).values(), schema.get("items")]
    for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
        parts.extend(schema.get(keyword) or [])
    return any(needs_conforming(part) for part in parts)


class RunRecords(t.Protocol):
    """What a stream reads from the sync's runs (the run coordinator)."""

    def records(self, key: PartitionKey) -> Iterable[dict[str, t.Any]]:
        """The partition's new items, once its run is read."""
        ...

    def run_uid(self, key: PartitionKey) -> str | None:
        """The run whose items :meth:`records` yields."""
        ...


class EdgesActionStream(Stream):
    """Records of one Edges action, one partition per (identity, input)."""

    replication_key = "extracted_at"
    is_sorted = False

    def __init__(
        self,
        tap: Tap,
        spec: ActionSpec,
        settings: StreamSettings,
        runs: Callable[[], RunRecords],
    ) -> None:
        """Build the stream of one action.

        Args:
            tap: The tap.
            spec: The action's spec.
            settings: What the stream needs from the config.
            runs: Returns the sync's runs, starting every selected partition's run on the
                first call (the tap's ``start_runs``).
        """
        self.spec = spec
        self.settings = settings
        self._runs = runs
        self._message_writer = tap.message_writer
        self._newest_seen: str | None = None
        self._reading: Context | None = None
        self._time_extracted = utc_now()
        self._stamps_left = 0
        self._context_states: dict[tuple[tuple[str, t.Any], ...], dict[str, t.Any]] = {}
        super().__init__(tap, schema=load_schema(spec.stream), name=spec.stream)
        self.primary_keys = list(spec.primary_keys)

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]]:
        """One context per configured identity (and input, for actions that take one)."""
        identities, inputs = self.settings.identity_ids, self.settings.inputs
        if self.spec.input_setting is None:
            return [{"identity_id": identity} for identity in identities]
        field = t.cast("str", self.spec.input_field)
        return [{"identity_id": i, field: value} for i in identities for value in inputs]

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
            self._move_bookmark()
        write_bookmark(self._context_state(context), bookmark)
        self.state_manager.is_flushed = False  # the SDK's STATE at the stream's end has it

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
            self._move_bookmark()
            self._reading = None

    def _complete(
        self, partition: Partition, run_uid: str, item: dict[str, t.Any]
    ) -> dict[str, t.Any] | None:
        """Add the partition's fields to an output item (in place); None when it has no key."""
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

    # -- the record path: what the SDK does per record, done once where that is correct ---

    @override
    def _process_record(
        self,
        record: dict[str, t.Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """Skip the SDK's per-record work that has nothing to do here.

        It adds the partition's keys to the record (``_complete`` already did) and syncs child
        streams (there are none).
        """
        if self.child_streams:
            super()._process_record(record, child_context, partition_context)

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: Context | None = None
    ) -> None:
        """Remember the newest replication key value; the SDK state moves once per batch.

        The SDK's per-record update keeps the largest value, so doing it once, with the
        largest value seen, right before the STATE that marks the batch emitted, leaves the
        same state (values that are not strings still go through the SDK at once).
        """
        value = latest_record.get(self.replication_key or "")
        if not isinstance(value, str):
            super()._increment_stream_state(latest_record, context=context)
        elif self._newest_seen is None or value > self._newest_seen:
            self._newest_seen = value

    def _move_bookmark(self) -> None:
        """Put the newest replication key value seen into the state of the partition read."""
        newest, self._newest_seen = self._newest_seen, None
        if newest is not None and self.replication_key:
            super()._increment_stream_state({self.replication_key: newest}, context=self._reading)

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        writer = self._fast_writer
        if writer is None:
            super()._write_record_message(record)
            return
        self._stamps_left -= 1
        if self._stamps_left < 0:
            self._time_extracted, self._stamps_left = utc_now(), RECORDS_PER_TIMESTAMP - 1
        writer.write_record(
            self.name,
            record,
            version=self._stream_version,
            time_extracted=self._time_extracted,
        )
        self.state_manager.is_flushed = False

    @functools.cached_property
    def _fast_writer(self) -> SingerWriter | None:
        """The writer of the fast record path, or None when the SDK's path must run.

        Per record, the SDK pops deselected properties, conforms values to the schema, applies
        stream maps and builds a message object. None of that changes a record parsed from
        JSON when every property is selected, no stream map or flattening applies and the
        schema lets every value through: then the record goes straight to the writer.
        """
        writer = self._message_writer
        maps = self.stream_maps
        plain = (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not (maps[0].flattening_enabled and maps[0].flattening_options)
        )
        untouched = all(self.mask.values()) and not any(
            needs_conforming(schema) for schema in (self.schema, self.effective_schema)
        )
        return writer if isinstance(writer, SingerWriter) and plain and untouched else None
