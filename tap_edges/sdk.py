"""Every use of singer-sdk internals, each with its reason.

The tap relies on a few parts of singer-sdk that are private (underscored), final
(``@t.final``) or behaviour the SDK does not promise. They all live here, so that an SDK upgrade
has one module to check; ``tests/test_sdk.py`` fails, naming what changed and what here depends
on it, when the pinned SDK no longer matches what this module expects.

- :class:`TapBase` overrides the final ``Tap.sync_all`` and ``Tap.run_connection_test`` and the
  private ``PluginBase._validate_config`` and ``Tap._handle_termination``, and replaces the
  private ``Tap._state_writer`` (a ``singer_sdk.helpers._state.StateWriter``);
- :class:`FastRecordStream` overrides the private ``Stream._process_record``,
  ``Stream._increment_stream_state`` and ``Stream._write_record_message``, reads the private
  ``Stream._stream_version``, sets ``StreamStateManager.is_flushed`` (a private module's class)
  and knows what the SDK's per-record work does (:func:`needs_conforming`, the attributes of
  ``SameRecordTransform``).

Everything else the tap takes from singer-sdk is public API. :mod:`.tap` and :mod:`.streams`
build on these two classes and implement their named hooks.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import functools
import logging
import sys
import typing as t

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._state import StateWriter
from singer_sdk.mapper import SameRecordTransform

from tap_edges.writer import SingerWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from singer_sdk.helpers.types import Context, TapState
    from singer_sdk.singerlib.encoding.base import GenericSingerWriter

# On the fast record path, one clock reading stamps this many records (about one output page).
RECORDS_PER_TIMESTAMP = 500


class TapBase(Tap):
    """The SDK's ``Tap``, with named hooks in place of its final and private methods."""

    @abc.abstractmethod
    def extra_config_problems(self) -> list[str]:
        """The config's problems that JSON schema cannot express (called during ``__init__``).

        Returns:
            One message per problem; empty when the config is usable.
        """

    @abc.abstractmethod
    def sync_session(self) -> contextlib.AbstractContextManager[object]:
        """What surrounds the SDK's sync of the streams (entered before the first stream).

        Returns:
            A context manager; an exception it raises on exit fails the sync.
        """

    @abc.abstractmethod
    def check_connection(self) -> bool:
        """The connection test (``--test``).

        Returns:
            True when the connection works.
        """

    @abc.abstractmethod
    def stop_on_signal(self, signum: int) -> None:
        """Handle SIGTERM or SIGINT.

        Args:
            signum: The signal's number.
        """

    def use_state_writer(self, write_state: Callable[[TapState], None]) -> None:
        """Write every STATE message, the SDK's and the tap's, through ``write_state``.

        Why here: the SDK keeps its state writer in the private ``Tap._state_writer``, made in
        ``Tap.__init__`` with no way to choose another; ``Tap.sync_all`` writes through it, and
        so do the streams (through ``Tap.state_writer``).

        Args:
            write_state: Writes a STATE message when the state changed.
        """
        self._state_writer = _StateWriterCall(self.message_writer, write_state)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Add :meth:`extra_config_problems` to the SDK's JSON schema validation.

        Why here: ``PluginBase.__init__`` validates the config through this private method
        only; extending it makes the tap's own checks fail exactly as the schema's do (one
        ``ConfigValidationError`` listing every problem, before anything runs).

        Returns:
            Every problem found.

        Raises:
            ConfigValidationError: With every problem, when ``raise_errors`` and any is found.
        """
        found = super()._validate_config(raise_errors=raise_errors)
        problems = self.extra_config_problems()
        if problems and raise_errors:
            msg = "Config validation failed"
            raise ConfigValidationError(msg, errors=problems)
        return found + problems

    @override  # type: ignore[misc]  # final in the SDK; see the docstring
    def sync_all(self) -> None:
        """Run the SDK's sync of the streams inside :meth:`sync_session`.

        Why here: the SDK marks ``Tap.sync_all`` final and has no hook before the first stream
        or after the last one. The tap needs both: every run of every selected stream is
        launched or continued before the first stream waits, and the sync exits non-zero after
        the last stream when a partition failed.
        """
        with self.sync_session(), _quiet_unsorted_warning():
            super().sync_all()

    @override  # type: ignore[misc]  # final in the SDK: its test would launch paid runs
    def run_connection_test(self) -> bool:
        """Run :meth:`check_connection` instead of the SDK's test.

        Why here: the SDK marks ``Tap.run_connection_test`` final. Its test syncs every stream
        up to one record, and every sync of this tap launches Edges runs, which cost credits.

        Returns:
            What :meth:`check_connection` returns.
        """
        return self.check_connection()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Run :meth:`stop_on_signal`.

        Why here: ``PluginBase.__init__`` installs this private method as the SIGTERM and
        SIGINT handler, with no public hook. The SDK's own writes the STATE at once (in the
        middle of a RECORD line, when the signal interrupted one) and exits with status 0.
        """
        self.stop_on_signal(signum)


class _StateWriterCall(StateWriter):
    """The SDK's state writer type (what ``Tap._state_writer`` holds), writing through a call."""

    def __init__(
        self, message_writer: GenericSingerWriter[t.Any, t.Any], write: Callable[[TapState], None]
    ) -> None:
        super().__init__(message_writer)
        self._write_through = write

    @override
    def write_state(self, state: TapState) -> None:
        self._write_through(state)


class FastRecordStream(Stream):
    """A ``Stream`` whose records skip the SDK's per-record work when it would change nothing.

    For each record, the SDK adds the partition's keys to it and looks for child contexts
    (``_process_record``), pops deselected properties, conforms values to the schema, applies
    stream maps, builds a message object (``_write_record_message``) and moves the replication
    key value in the state (``_increment_stream_state``). When none of that changes anything
    (see :meth:`_fast_writer`), records go straight to the tap's :class:`.SingerWriter`, and the
    replication key value moves once per batch: the subclass calls
    :meth:`commit_replication_value` right before the STATE that marks the batch emitted.

    Why here: the SDK's record path has no public hook. ``Stream._sync_records`` calls these
    three private methods for each record; this overrides them and reads the private
    ``Stream._stream_version`` (the table version the SDK's messages carry).
    """

    def __init__(self, tap: Tap, *, schema: dict[str, t.Any], name: str) -> None:
        """Build the stream.

        Args:
            tap: The tap.
            schema: The stream's JSON schema.
            name: The stream's name.
        """
        self._newest_seen: str | None = None
        self._time_extracted = dt.datetime.now(dt.timezone.utc)
        self._stamps_left = 0
        self._message_writer = tap.message_writer
        super().__init__(tap, schema=schema, name=name)

    def mark_state_changed(self) -> None:
        """Have the SDK write a STATE at the stream's end: the state changed off its path.

        Why here: ``Stream._write_state_message`` writes only when ``is_flushed`` (an attribute
        of ``StreamStateManager``, from the private ``singer_sdk.streams._state``) is false;
        the SDK's own record path sets it to false for each record.
        """
        self.state_manager.is_flushed = False

    def commit_replication_value(self, context: Context | None) -> None:
        """Put the newest replication key value seen into the state of a partition.

        Args:
            context: The partition whose records were seen since the last call.
        """
        newest, self._newest_seen = self._newest_seen, None
        if newest is not None and self.replication_key:
            super()._increment_stream_state({self.replication_key: newest}, context=context)

    @override
    def _process_record(
        self,
        record: dict[str, t.Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """Skip the SDK's work when there are no child streams.

        It adds the partition's keys to the record (the subclass's records carry them already)
        and syncs child streams (there are none).
        """
        if self.child_streams:
            super()._process_record(record, child_context, partition_context)

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: Context | None = None
    ) -> None:
        """Remember the newest replication key value; the state moves once per batch.

        The SDK's per-record update keeps the largest value, so doing it once, with the largest
        value seen, right before the STATE that marks the batch emitted, leaves the same state
        (values that are not strings still go through the SDK at once).
        """
        value = latest_record.get(self.replication_key or "")
        if value is None:
            return  # an item whose time Edges does not give moves no replication key value
        if not isinstance(value, str):
            super()._increment_stream_state(latest_record, context=context)
        elif self._newest_seen is None or value > self._newest_seen:
            self._newest_seen = value

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        writer = self._fast_writer
        if writer is None:
            super()._write_record_message(record)
            return
        self._stamps_left -= 1
        if self._stamps_left < 0:
            self._stamps_left = RECORDS_PER_TIMESTAMP - 1
            self._time_extracted = dt.datetime.now(dt.timezone.utc)
        writer.write_record(
            self.name,
            record,
            version=self._stream_version,
            time_extracted=self._time_extracted,
        )
        self.state_manager.is_flushed = False  # as the SDK's _write_record_message does

    @functools.cached_property
    def _fast_writer(self) -> SingerWriter | None:
        """The writer of the fast record path, or None when the SDK's path must run.

        The SDK's per-record work changes nothing for a record parsed from JSON when every
        property is selected, the only stream map is the SDK's identity map without
        flattening, and the schema lets every value through (:func:`needs_conforming`).
        """
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
        writer = self._message_writer
        return writer if isinstance(writer, SingerWriter) and plain and untouched else None


def needs_conforming(schema: object) -> bool:
    """Tell whether the SDK's type conformance could change a record parsed from JSON.

    For JSON values, ``conform_record_data_types`` only drops properties that an object schema
    does not declare (unless it allows ``additionalProperties``), turns numbers into booleans
    for boolean-only properties and NaN into null (which msgspec writes as null anyway). The
    tap's own :class:`tap_edges.conform.Conformer` runs first and leaves a boolean field only a
    bool or null (0 and 1 become false and true, anything else is kept aside in
    ``edges_unreconciled``), so boolean properties need nothing more.

    Args:
        schema: A JSON schema (or any part of one).

    Returns:
        False when every JSON-parsed record passes through conformance unchanged.
    """
    if not isinstance(schema, dict):
        return False
    if "properties" in schema and not schema.get("additionalProperties"):
        return True
    parts: list[object] = [*(schema.get("properties") or {}).values(), schema.get("items")]
    for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
        parts.extend(schema.get(keyword) or [])
    return any(needs_conforming(part) for part in parts)


class _UnsortedWarning(logging.Filter):
    """Drops the SDK's "Stream is assumed to be unsorted" warning.

    Why here: ``singer_sdk.helpers._state.increment_state`` logs it (on the ``singer_sdk``
    logger) for every partition of a stream whose ``is_sorted`` is False, once per sync: 5,000
    lines at 5,000 partitions. What it warns of does not hold here: a partition's progress is
    its Edges run, kept in the tap's own bookmark, and resumes after an interruption.
    """

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Stream is assumed to be unsorted")


@contextlib.contextmanager
def _quiet_unsorted_warning() -> t.Iterator[None]:
    """Filter the SDK's unsorted-stream warning during a sync (no filter is left behind)."""
    sdk_logger, quiet = logging.getLogger("singer_sdk"), _UnsortedWarning()
    sdk_logger.addFilter(quiet)
    try:
        yield
    finally:
        sdk_logger.removeFilter(quiet)
