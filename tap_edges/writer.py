"""The tap's Singer message writer: msgspec encoding, flushed after a STATE, not after a RECORD.

The SDK's writers flush stdout after every message: a system call per RECORD (and, when stdout
is unbuffered, e.g. under ``PYTHONUNBUFFERED``, a write per RECORD whatever they do). This
writer gathers RECORD lines in its own buffer, writes them out in large chunks, and flushes
everything, in order, before and with every other message (STATE above all). So once a STATE
is visible, every RECORD it covers is too. The tap calls :meth:`SingerWriter.flush` when a sync
ends, however it ends; records still unflushed when the process is killed are not covered by
any STATE the target saw, so the next sync reads them again: nothing is lost.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib.encoding.base import SingerMessageType

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Callable

    from singer_sdk.helpers.types import TapState
    from singer_sdk.singerlib.encoding.simple import Message

BUFFER_BYTES = 256 * 1024


class SingerWriter(MsgSpecWriter):
    """Writes Singer messages to stdout; flushes with every message but RECORD."""

    def __init__(self) -> None:
        """Start with an empty buffer."""
        super().__init__()
        self._pending = bytearray()
        self._sent = 0  # bytes of _pending already written out
        self._busy = False  # inside a write to stdout: a signal handler must not write now
        self._deferred: Callable[[], None] | None = None

    @override
    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)
        if message.type == SingerMessageType.RECORD:
            self._drain_when_full()
        else:
            self.flush()

    def write_record(
        self,
        stream: str,
        record: dict[str, t.Any],
        *,
        version: int | None = None,
        time_extracted: dt.datetime | None = None,
    ) -> None:
        """Write one RECORD line, without building a message object and without flushing.

        The line is the one :meth:`write_message` writes for the same ``RecordMessage``.

        Args:
            stream: The stream name.
            record: The record, already JSON-ready.
            version: The table version, if any.
            time_extracted: When the record was extracted (an aware datetime), if known.
        """
        message: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        if time_extracted is not None:
            message["time_extracted"] = time_extracted
        self._pending += serialize_jsonl(message)
        self._drain_when_full()

    def write_line(self, line: bytes) -> None:
        """Write one encoded message line (not a RECORD) and flush.

        Args:
            line: The message, one JSON line ending with a newline.
        """
        self._pending += line
        self.flush()

    def flush(self) -> None:
        """Write out every buffered line and flush stdout."""
        self._drain()
        sys.stdout.flush()

    def at_line_boundary(self, final: Callable[[], None]) -> bool:
        """Run ``final`` (from a signal handler) once what stdout has ends with a whole line.

        When the signal interrupted a write to stdout (a slow target blocks it), ``final`` runs
        as soon as that write is complete, never in the middle of a line.

        Args:
            final: Writes the last messages and exits.

        Returns:
            False when ``final`` could not be scheduled: an earlier one still waits for a
            blocked write, and nothing can be written at a line boundary now.
        """
        if not self._busy:
            final()
            return True
        if self._deferred is not None:
            return False
        self._deferred = final
        return True

    def _drain_when_full(self) -> None:
        if len(self._pending) >= BUFFER_BYTES:
            self._drain()

    def _drain(self) -> None:
        """Write the buffer out; an interrupted drain resumes where it stopped."""
        if self._pending:
            buffer = sys.stdout.buffer
            out = getattr(buffer, "raw", buffer)  # unbuffered: every byte written is counted
            self._busy = True
            try:
                with memoryview(self._pending) as view:
                    while self._sent < len(view):  # a pipe may take a part only
                        self._sent += out.write(view[self._sent :]) or 0
            finally:
                self._busy = False
            self._pending.clear()
            self._sent = 0
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            deferred()


class EncodedStateWriter:
    """Writes a STATE message when the state changed, comparing encoded lines.

    The SDK's state writer turns the state into a message object (a deep copy), encodes it and
    keeps another deep copy to compare with: with thousands of partitions in the state, that is
    most of a sync's CPU time. This encodes the state once and compares the bytes. The tap
    writes every STATE through it, the SDK's too (``TapBase.use_state_writer``).
    """

    def __init__(self, message_writer: SingerWriter) -> None:
        """Write through the tap's writer.

        Args:
            message_writer: The tap's message writer.
        """
        self._writer = message_writer
        self._last_line: bytes | None = None

    def write_state(self, state: TapState) -> None:
        """Write a STATE message unless its line is the last one written.

        Args:
            state: The tap's state.
        """
        line = bytes(serialize_jsonl({"type": "STATE", "value": state}))
        if line != self._last_line:
            self._writer.write_line(line)
            self._last_line = line


def stop(
    writer: object, write_state: Callable[[], None], logger: logging.Logger, signum: int
) -> None:
    """On SIGTERM/SIGINT: write the last STATE at a line boundary, then exit with 128 + signal.

    A batch being emitted stays pending in the state, so a rerun reads it again: items may
    be emitted twice (targets dedupe them), never skipped. When the signal interrupts a
    write to a blocked stdout, the STATE follows once that write is complete; a second
    signal meanwhile exits at once, saying the STATE could not be written.
    """
    name = signal.Signals(signum).name
    final = functools.partial(_stop, writer, write_state, logger, name, signum)
    if not isinstance(writer, SingerWriter):
        final()
    elif not writer.at_line_boundary(final):
        logger.error(
            "Stopped by %s while stdout is blocked in the middle of a line: the last STATE "
            "could not be written. The target keeps the last whole STATE it received; "
            "rerun the sync to resume from it without loss.",
            name,
        )
        os._exit(128 + signum)


def _stop(
    writer: object,
    write_state: Callable[[], None],
    logger: logging.Logger,
    name: str,
    signum: int,
) -> None:
    """Write the last STATE and the buffered records, then exit with 128 + signal."""
    try:
        write_state()
        if isinstance(writer, SingerWriter):
            writer.flush()
    except OSError as exc:
        logger.error(  # noqa: TRY400 (one line, no traceback)
            "Stopped by %s: the last STATE could not be written (%s); rerun the sync to "
            "resume from the last STATE the target received.",
            name,
            exc,
        )
    else:
        logger.error(
            "Stopped by %s: the state was flushed; rerun the sync to resume without loss.", name
        )
    sys.exit(128 + signum)
