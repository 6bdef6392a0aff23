"""The Singer writer: RECORDs are buffered, every other message flushes, order is kept."""

from __future__ import annotations

import datetime as dt
import json
import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from tap_edges import writer as writer_module
from tap_edges.writer import SingerWriter

if t.TYPE_CHECKING:
    import pytest

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)


class Sink:
    """A binary stdout that accepts at most ``limit`` bytes per write, like a raw pipe may."""

    def __init__(self, limit: int | None = None) -> None:
        self.data = bytearray()
        self.limit = limit

    def write(self, chunk: t.Any) -> int:
        size = len(chunk) if self.limit is None else min(self.limit, len(chunk))
        self.data += bytes(chunk[:size])
        return size


class Stdout:
    """A text stdout whose ``buffer`` is a :class:`Sink`; remembers what was out at each flush."""

    def __init__(self, limit: int | None = None) -> None:
        self.buffer = Sink(limit)
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.buffer.data))

    def lines(self) -> list[dict[str, t.Any]]:
        return [json.loads(line) for line in bytes(self.buffer.data).splitlines()]


def fake_stdout(monkeypatch: pytest.MonkeyPatch, limit: int | None = None) -> Stdout:
    """Replace stdout (inside the test: pytest restores its own capture after the setup)."""
    fake = Stdout(limit)
    monkeypatch.setattr(sys, "stdout", fake)
    return fake


def record(n: int) -> RecordMessage:
    return RecordMessage(stream="s", record={"id": n, "name": f"n{n}"}, time_extracted=NOW)


def state(n: int) -> StateMessage:
    return StateMessage(value={"bookmarks": {"s": {"n": n}}})


def test_records_wait_in_the_buffer_until_a_state_flushes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdout = fake_stdout(monkeypatch)
    writer = SingerWriter()
    writer.write_message(record(1))
    writer.write_record("s", {"id": 2}, time_extracted=NOW)
    assert stdout.buffer.data == b""
    assert stdout.flushed_at == []
    writer.write_message(state(1))
    assert [m["type"] for m in stdout.lines()] == ["RECORD", "RECORD", "STATE"]
    assert stdout.flushed_at == [len(stdout.buffer.data)]  # flushed right after the STATE


def test_order_is_kept_and_every_line_is_a_singer_message(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = fake_stdout(monkeypatch)
    writer = SingerWriter()
    writer.write_message(SchemaMessage(stream="s", schema={"type": "object"}, key_properties=[]))
    for n in range(3):
        writer.write_message(record(n))
        writer.write_record("s", {"id": n + 100}, version=7, time_extracted=NOW)
        writer.write_message(state(n))
    writer.write_record("s", {"id": 999})
    writer.flush()
    messages = stdout.lines()
    assert [m["type"] for m in messages] == ["SCHEMA", *["RECORD", "RECORD", "STATE"] * 3, "RECORD"]
    assert [m["record"]["id"] for m in messages if m["type"] == "RECORD"] == [
        0, 100, 1, 101, 2, 102, 999,
    ]  # fmt: skip
    assert [m["value"]["bookmarks"]["s"]["n"] for m in messages if m["type"] == "STATE"] == [
        0,
        1,
        2,
    ]
    assert messages[2]["version"] == 7
    assert "time_extracted" not in messages[-1]
    assert stdout.flushed_at[-1] == len(stdout.buffer.data)


def test_no_state_is_ever_visible_before_the_records_it_covers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdout = fake_stdout(monkeypatch)
    writer = SingerWriter()
    for n in range(50):
        writer.write_message(record(n))
        if n % 7 == 0:
            writer.write_message(state(n))
            out = stdout.lines()
            assert out[-1]["type"] == "STATE"
            assert sum(m["type"] == "RECORD" for m in out) == n + 1


def test_write_record_writes_the_line_the_sdk_writer_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdout = fake_stdout(monkeypatch)
    ours = SingerWriter()
    ours.write_record("s", {"id": 1, "x": [1.5, None]}, version=3, time_extracted=NOW)
    ours.flush()
    sdk_stdout = fake_stdout(monkeypatch)
    message = RecordMessage(
        stream="s", record={"id": 1, "x": [1.5, None]}, version=3, time_extracted=NOW
    )
    MsgSpecWriter().write_message(message)
    assert bytes(stdout.buffer.data) == bytes(sdk_stdout.buffer.data)


def test_a_full_buffer_is_written_out_in_whole_lines_without_a_flush(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_stdout(monkeypatch, limit=1000)  # an unbuffered pipe: 1000 bytes per write
    monkeypatch.setattr(writer_module, "BUFFER_BYTES", 4096)
    writer = SingerWriter()
    for n in range(200):
        writer.write_record("s", {"id": n, "pad": "x" * 50})
    assert fake.flushed_at == []
    assert len(fake.buffer.data) > 4096
    assert fake.buffer.data.endswith(b"\n")
    writer.flush()
    assert [m["record"]["id"] for m in fake.lines()] == list(range(200))


class Interrupted(BaseException):
    """What a signal handler raising inside a write looks like to the writer."""


class FlakySink(Sink):
    """A pipe taking ``limit`` bytes per write whose ``on_write`` hook runs before each write."""

    def __init__(self, limit: int, on_write: t.Callable[[int], None]) -> None:
        super().__init__(limit)
        self.calls = 0
        self.on_write = on_write

    def write(self, chunk: t.Any) -> int:
        self.calls += 1
        self.on_write(self.calls)
        return super().write(chunk)


def test_an_interrupted_drain_resumes_where_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt_third_write(call: int) -> None:
        if call == 3:
            raise Interrupted

    fake = fake_stdout(monkeypatch)
    fake.buffer = FlakySink(100, interrupt_third_write)
    writer = SingerWriter()
    for n in range(20):
        writer.write_message(record(n))
    try:
        writer.write_message(state(1))
    except Interrupted:
        pass
    else:
        raise AssertionError
    assert len(fake.buffer.data) == 200  # two writes went out, the third was interrupted
    writer.flush()  # what the tap does at exit
    assert [m["type"] for m in fake.lines()] == ["RECORD"] * 20 + ["STATE"]
    assert [m["record"]["id"] for m in fake.lines()[:20]] == list(range(20))


def test_a_signal_during_a_blocked_write_gets_its_state_after_whole_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = SingerWriter()
    ran: list[str] = []
    scheduled: list[bool] = []

    def final() -> None:
        ran.append("final")
        writer.write_message(state(99))

    def signal_arrives(call: int) -> None:
        if call in {2, 4}:  # a second signal while the first still waits
            scheduled.append(writer.at_line_boundary(final))

    fake = fake_stdout(monkeypatch)
    fake.buffer = FlakySink(150, signal_arrives)
    for n in range(20):
        writer.write_message(record(n))
    writer.write_message(state(1))
    assert scheduled == [True, False]
    assert ran == ["final"]
    lines = fake.lines()  # every line is whole, none repeated
    assert [m["type"] for m in lines] == ["RECORD"] * 20 + ["STATE", "STATE"]
    assert lines[-1]["value"] == state(99).value
    assert writer.at_line_boundary(final) is True  # idle: it runs at once
    assert ran == ["final", "final"]
