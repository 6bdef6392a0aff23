"""The singer-sdk internals that tap_edges.sdk relies on are still there, as it expects them.

Each check names the code in ``tap_edges/sdk.py`` that depends on what it checks. When one
fails after an SDK upgrade, read what the SDK does now, adapt that code, then the check. The
last tests keep every other module of the tap off the SDK's internals.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import pkgutil
import signal
import sys
import types
import typing as t
from pathlib import Path

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.helpers._state import StateWriter
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import PluginBase

import tap_edges
from tap_edges import sdk
from tap_edges.actions import ACTIONS
from tap_edges.streams import EdgesActionStream, load_schema
from tap_edges.tap import TapEdges

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SDK = f"singer-sdk {importlib.metadata.version('singer-sdk')}"
PACKAGE = Path(tap_edges.__file__).parent
METHODS = (types.FunctionType, property, functools.cached_property, classmethod, staticmethod)


@dataclasses.dataclass(frozen=True)
class Private:
    """A private SDK method that tap_edges.sdk overrides or calls, with its parameters."""

    owner: type
    name: str
    parameters: tuple[str, ...]  # "name" or "*name" (keyword-only)
    used_by: str  # in tap_edges.sdk
    overridden: bool = True  # tap_edges.sdk overrides it: with the same parameters

    def __str__(self) -> str:
        return f"{self.owner.__qualname__}.{self.name}"


PRIVATE = (
    Private(PluginBase, "_validate_config", ("self", "*raise_errors"), "TapBase._validate_config"),
    Private(Tap, "_handle_termination", ("self", "signum", "frame"), "TapBase._handle_termination"),
    Private(
        Stream,
        "_process_record",
        ("self", "record", "child_context", "partition_context"),
        "FastRecordStream._process_record",
    ),
    Private(
        Stream,
        "_increment_stream_state",
        ("self", "latest_record", "*context"),
        "FastRecordStream._increment_stream_state",
    ),
    Private(
        Stream,
        "_write_record_message",
        ("self", "record"),
        "FastRecordStream._write_record_message",
    ),
    Private(
        StateWriter, "__init__", ("self", "message_writer"), "_StateWriterCall", overridden=False
    ),
    Private(StateWriter, "write_state", ("self", "state"), "_StateWriterCall.write_state"),
)
FINAL = (
    Private(Tap, "sync_all", ("self",), "TapBase.sync_all"),
    Private(Tap, "run_connection_test", ("self",), "TapBase.run_connection_test"),
)


def names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclasses.dataclass(frozen=True)
class Uses:
    """The names an SDK function uses (its code's co_names: globals and attributes)."""

    function: Callable[..., object]
    names: frozenset[str]
    used_by: str  # in tap_edges.sdk
    exact: bool  # these names and no others (else: at least these)

    def __str__(self) -> str:
        return self.function.__qualname__


# As of 0.54.9. The fast record path skips what the first four do per record (a new name there
# may be new per-record work it must do too); the others must still call the private methods
# tap_edges.sdk overrides, or write through the private attribute it replaces.
USES = (
    Uses(
        Stream._generate_record_messages,
        names(
            "effective_schema pop_deselected_record_properties schema mask name logger "
            "conform_record_data_types TYPE_CONFORMANCE_LEVEL stream_maps transform singer "
            "RecordMessage stream_alias _stream_version utc_now"
        ),
        "FastRecordStream._write_record_message (see _fast_writer) skips this per-record work",
        exact=True,
    ),
    Uses(
        Stream._write_record_message,
        names("_generate_record_messages _tap write_message state_manager is_flushed"),
        "FastRecordStream._write_record_message does what this does, faster",
        exact=True,
    ),
    Uses(
        Stream._process_record,
        names("items generate_child_contexts stream_maps get_filter_result _sync_children copy"),
        "FastRecordStream._process_record skips this when there are no child streams",
        exact=True,
    ),
    Uses(
        Stream._increment_stream_state,
        names(
            "replication_method REPLICATION_INCREMENTAL replication_key name ValueError "
            "state_manager increment_state"
        ),
        "FastRecordStream._increment_stream_state moves the state once per batch instead",
        exact=True,
    ),
    Uses(
        Stream._sync_records,
        names("_process_record _write_record_message _increment_stream_state"),
        "FastRecordStream overrides these three to take the fast record path",
        exact=False,
    ),
    Uses(
        Stream._write_state_message,
        names("is_flushed state_writer"),
        "FastRecordStream.mark_state_changed and TapBase.use_state_writer",
        exact=False,
    ),
    Uses(
        Tap.sync_all,
        names("_state_writer"),
        "TapBase.use_state_writer replaces Tap._state_writer",
        exact=False,
    ),
    Uses(
        PluginBase.__init__,
        names("_validate_config _setup_signal_handlers"),
        "TapBase._validate_config and TapBase._handle_termination",
        exact=False,
    ),
    Uses(
        PluginBase._setup_signal_handlers,
        names("_handle_termination"),
        "TapBase._handle_termination is the SIGTERM and SIGINT handler",
        exact=False,
    ),
)


def parameters(function: Callable[..., object]) -> tuple[str, ...]:
    return tuple(
        f"*{p.name}" if p.kind is p.KEYWORD_ONLY else p.name
        for p in inspect.signature(function).parameters.values()
    )


def check_private(row: Private) -> None:
    """Fail, naming the dependent code, unless the SDK has the method with these parameters."""
    where = f"{SDK}: {row} (which tap_edges.sdk.{row.used_by} relies on)"
    found = row.owner.__dict__.get(row.name)
    assert callable(found), f"{where} is gone"
    assert parameters(found) == row.parameters, f"{where} now takes {parameters(found)}"


def check_uses(row: Uses) -> None:
    """Fail, naming the dependent code, unless the function uses the expected names."""
    found = frozenset(row.function.__code__.co_names)
    new, gone = sorted(found - row.names), sorted(row.names - found)
    assert not gone, f"{SDK}: {row} no longer uses {gone}; tap_edges.sdk.{row.used_by}"
    assert not (row.exact and new), f"{SDK}: {row} now also uses {new}; tap_edges.sdk.{row.used_by}"


@pytest.fixture
def tap() -> Iterator[TapEdges]:
    """A tap in sandbox mode (nothing started); the signal handlers it installs are undone."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield TapEdges(config={"sandbox": True}, validate_config=False)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


@pytest.mark.parametrize("row", PRIVATE, ids=str)
def test_the_private_methods_are_there_with_their_parameters(row: Private) -> None:
    check_private(row)
    if row.overridden:  # and the override takes what the SDK passes
        ours = vars(getattr(sdk, row.used_by.split(".")[0]))[row.name]
        assert parameters(ours) == row.parameters, f"tap_edges.sdk.{row.used_by}"


@pytest.mark.parametrize("row", FINAL, ids=str)
def test_the_final_methods_are_there_and_still_final(row: Private) -> None:
    check_private(row)
    if sys.version_info >= (3, 11):  # typing.final marks functions from 3.11 on
        assert getattr(row.owner.__dict__[row.name], "__final__", False), (
            f"{SDK}: {row} is no longer final: tap_edges.sdk.{row.used_by} may become an "
            "ordinary override (drop its `type: ignore[misc]`)"
        )


@pytest.mark.parametrize("row", USES, ids=str)
def test_the_sdk_code_around_the_overrides_is_unchanged(row: Uses) -> None:
    check_uses(row)


def test_the_private_attributes_are_where_tap_edges_sdk_expects_them(tap: TapEdges) -> None:
    assert isinstance(vars(tap).get("_state_writer"), StateWriter), (
        f"{SDK}: Tap._state_writer is gone; tap_edges.sdk.TapBase.use_state_writer replaces it"
    )
    assert tap.state_writer is vars(tap)["_state_writer"], "TapBase.use_state_writer"
    assert signal.getsignal(signal.SIGTERM) == tap._handle_termination, (
        f"{SDK}: the SIGTERM handler is no longer Tap._handle_termination; "
        "tap_edges.sdk.TapBase._handle_termination relies on it"
    )
    for stream in tap.streams.values():
        assert "_stream_version" in vars(stream), (
            f"{SDK}: Stream._stream_version is gone; "
            "tap_edges.sdk.FastRecordStream._write_record_message writes it in each RECORD"
        )
        assert "is_flushed" in vars(stream.state_manager), (
            f"{SDK}: StreamStateManager.is_flushed is gone; "
            "tap_edges.sdk.FastRecordStream.mark_state_changed and _write_record_message set it"
        )


def test_the_default_stream_map_is_the_plain_one_the_fast_path_recognises(tap: TapEdges) -> None:
    for stream in tap.streams.values():
        assert isinstance(stream, EdgesActionStream)
        (only,) = stream.stream_maps
        assert type(only) is SameRecordTransform, f"{SDK}: FastRecordStream._fast_writer"
        assert only.stream_alias == stream.name, f"{SDK}: FastRecordStream._fast_writer"
        assert not only.flattening_enabled, f"{SDK}: FastRecordStream._fast_writer"
        assert hasattr(only, "flattening_options"), f"{SDK}: FastRecordStream._fast_writer"
        assert stream._fast_writer is tap.message_writer  # the fast path is on by default


def sample(schema: dict[str, t.Any]) -> object:
    """A JSON value of the schema's first non-null type."""
    declared = schema.get("type", "string")
    kinds = [declared] if isinstance(declared, str) else declared
    kind = next(k for k in kinds if k != "null")
    if kind == "array":
        return [sample(schema.get("items") or {})]
    if kind == "object":
        properties = schema.get("properties") or {"key": {}}
        return {name: sample(prop) for name, prop in properties.items()}
    if schema.get("format") == "date-time":
        return "2026-01-02T03:04:05.678901Z"
    return {"string": "text", "integer": 7, "number": 1.5, "boolean": True}[kind]


@pytest.mark.parametrize("stream", [spec.stream for spec in ACTIONS])
def test_type_conformance_leaves_json_records_unchanged(stream: str) -> None:
    schema = load_schema(stream)
    assert not sdk.needs_conforming(schema)
    record = t.cast("dict[str, t.Any]", sample(schema))
    record["not_in_the_schema"] = {"nested": [1, "two", None]}
    conformed = conform_record_data_types(
        stream, copy.deepcopy(record), schema, Stream.TYPE_CONFORMANCE_LEVEL, logging.getLogger()
    )
    assert conformed == record, (
        f"{SDK}: conform_record_data_types changes JSON records of {stream}; "
        "tap_edges.sdk.needs_conforming (the fast record path) says it does not"
    )


def test_the_checks_fail_when_the_sdk_changes() -> None:
    class Changed(Stream):
        def _process_record(  # type: ignore[override]  # as if the SDK changed it
            self, record: dict[str, t.Any], context: object = None
        ) -> None:
            del record, context

    (private,) = [r for r in PRIVATE if r.name == "_process_record"]
    (uses,) = [u for u in USES if u.function is Stream._process_record]
    with pytest.raises(AssertionError, match="now takes"):
        check_private(dataclasses.replace(private, owner=Changed))
    with pytest.raises(AssertionError, match="is gone"):
        check_private(dataclasses.replace(private, name="_proces_record"))
    with pytest.raises(AssertionError, match="no longer uses"):
        check_uses(dataclasses.replace(uses, function=Changed._process_record, exact=False))
    with pytest.raises(AssertionError, match="now also uses"):
        check_uses(dataclasses.replace(uses, names=uses.names - {"copy"}))


# -- the rest of the tap uses public SDK API only ------------------------------------------------


def tap_modules() -> list[str]:
    """Every module of the tap but tap_edges.sdk."""
    found = pkgutil.walk_packages([str(PACKAGE)], prefix="tap_edges.")
    return [m.name for m in found if m.name != "tap_edges.sdk"]


@pytest.mark.parametrize("module", tap_modules())
def test_no_other_module_imports_private_sdk_names(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        imported: list[str] = []
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in imported:
            private = any(part.startswith("_") for part in name.split("."))
            assert not (name.startswith("singer_sdk") and private), (
                f"{module} imports {name}: SDK internals belong in tap_edges/sdk.py"
            )


@pytest.mark.parametrize("module", tap_modules())
def test_no_other_module_overrides_private_or_final_sdk_methods(module: str) -> None:
    for cls in vars(importlib.import_module(module)).values():
        if not isinstance(cls, type) or cls.__module__ != module:
            continue
        sdk_bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("singer_sdk")]
        for name, value in vars(cls).items():
            if not isinstance(value, METHODS):
                continue
            for base in sdk_bases:
                found = vars(base).get(name)
                private = name.startswith("_") and not name.endswith("__")
                final = getattr(found, "__final__", False)
                assert found is None or not (private or final), (
                    f"{module}.{cls.__qualname__}.{name} overrides {base.__qualname__}.{name}: "
                    "overrides of private or final SDK methods belong in tap_edges/sdk.py"
                )
