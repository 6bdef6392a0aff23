"""EdgesActionStream: the one stream class, instantiated once per ActionSpec."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import sys
import typing as t

from singer_sdk import Stream

from tap_edges.state import Bookmark, read_bookmark, write_bookmark

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

    from tap_edges.actions import ActionSpec
    from tap_edges.runs import Partition, RunCoordinator
    from tap_edges.tap import TapEdges

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


def derive_key(record: dict[str, t.Any], parts: tuple[tuple[str, ...], ...]) -> str:
    """Compute a stable key from the first non-null candidate field of each part.

    Args:
        record: The record.
        parts: Candidate fields per key component.

    Returns:
        A hex digest, identical for identical component values.
    """
    values = [next((record[f] for f in part if record.get(f) is not None), None) for part in parts]
    digest = hashlib.sha256(json.dumps(values, default=str).encode("utf-8"))
    return digest.hexdigest()[:32]


class EdgesActionStream(Stream):
    """Records of one Edges action, one partition per (identity, input)."""

    replication_key = "extracted_at"
    is_sorted = False

    def __init__(self, tap: TapEdges, spec: ActionSpec) -> None:
        """Build the stream of one action.

        Args:
            tap: The tap.
            spec: The action's spec.
        """
        self.spec = spec
        self._edges_tap = tap
        super().__init__(tap, schema=load_schema(spec.stream), name=spec.stream)
        self.primary_keys = list(spec.primary_keys)

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]]:
        """One context per configured identity (and input, for actions that take one)."""
        identities = self._edges_tap.identity_ids
        if self.spec.input_setting is None:
            return [{"identity_id": identity} for identity in identities]
        inputs = list(self.config.get(self.spec.input_setting) or [])
        field = t.cast("str", self.spec.input_field)
        return [{"identity_id": i, field: value} for i in identities for value in inputs]

    def partition(self, context: Context) -> Partition:
        """The run-lifecycle view of one context."""
        from tap_edges.runs import Partition  # noqa: PLC0415 (keeps the import graph acyclic)

        field = self.spec.input_field
        return Partition(
            stream=self.name,
            action=self.spec.action,
            identity_id=str(context["identity_id"]),
            input_field=field,
            input_value=str(context[field]) if field else None,
            max_results=self._edges_tap.max_results_for(self.name),
        )

    def run_entries(self) -> Iterable[tuple[Partition, Bookmark, t.Callable[[Bookmark], None]]]:
        """Every partition with its stored bookmark and a function that saves it."""
        for context in self.partitions:
            partition = self.partition(context)
            bookmark = read_bookmark(
                self.get_context_state(context), label=partition.label, logger=self.logger
            )
            yield partition, bookmark, functools.partial(self.save_bookmark, context)

    def save_bookmark(self, context: Context, bookmark: Bookmark) -> None:
        """Store a partition's bookmark and flush a STATE message at once."""
        write_bookmark(self.get_context_state(context), bookmark)
        self._edges_tap.state_writer.write_state(self.tap_state)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not context:  # the SDK asks once with no context when there are no partitions
            return
        coordinator: RunCoordinator = self._edges_tap.coordinator
        partition = self.partition(context)
        derived = self.spec.derived_key
        for run_uid, item in coordinator.records(partition.key):
            record = {**item, "identity_id": partition.identity_id, "run_uid": run_uid}
            if partition.input_field:
                record[partition.input_field] = partition.input_value
            if derived is not None:
                record[derived.name] = derive_key(record, derived.parts)
            missing = [key for key in self.primary_keys if record.get(key) is None]
            if missing:
                self.logger.warning(
                    "%s: run %s: skipped an item without %s (part of the primary key).",
                    partition.label,
                    run_uid,
                    ", ".join(missing),
                )
                continue
            yield record
