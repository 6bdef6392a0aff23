"""Edges' values reconciled with the declared schema (tap_edges/conform.py): one case per rule."""

from __future__ import annotations

import logging
import typing as t

import jsonschema
import pytest

from tap_edges.actions import ACTIONS
from tap_edges.conform import EXTRA, UNRECONCILED, Conformer, Declared, reconcile
from tap_edges.streams import derive_key, load_schema

INTEGER = {"type": ["integer", "null"]}
NUMBER = {"type": ["number", "null"]}
STRING = {"type": ["string", "null"]}
KEY_STRING = {"type": "string"}
BOOLEAN = {"type": ["boolean", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
ATTACHMENTS = {
    "type": ["array", "null"],
    "items": {"type": "object", "properties": {"size": INTEGER}},
}

CASES = [
    # (schema, value sent, value emitted, nothing lost)
    (INTEGER, 42, 42, True),
    (INTEGER, "42", 42, True),
    (INTEGER, " -7 ", -7, True),
    (INTEGER, 42.0, 42, True),
    (INTEGER, None, None, True),
    (INTEGER, 42.5, None, False),
    (INTEGER, "n/a", None, False),
    (INTEGER, True, None, False),
    (INTEGER, {"id": 1}, None, False),
    (NUMBER, "2.5", 2.5, True),
    (NUMBER, "12", 12, True),
    (NUMBER, "nan", None, False),
    (STRING, 12345, "12345", True),
    (STRING, 2.5, "2.5", True),
    (STRING, False, "false", True),
    (STRING, ["a"], None, False),
    (KEY_STRING, 7, "7", True),
    (KEY_STRING, None, None, False),
    (BOOLEAN, "TRUE", True, True),
    (BOOLEAN, 0, False, True),
    (BOOLEAN, 2, None, False),
    (TIME, "2026-12-06T10:00:00.123456Z", "2026-12-06T10:00:00.123456Z", True),
    (TIME, "2026-12-06T10:00:00+01:00", "2026-12-06T10:00:00+01:00", True),
    (TIME, "2026-12-06 10:00:00", "2026-12-06T10:00:00Z", True),
    (TIME, 1796551200, "2026-12-06T10:00:00Z", True),
    (TIME, 1796551200000, "2026-12-06T10:00:00Z", True),
    (TIME, "yesterday", None, False),
    (ATTACHMENTS, [{"size": "3", "kind": "pdf"}], [{"size": 3, "kind": "pdf"}], True),
    (ATTACHMENTS, [{"size": "big"}], [{"size": None}], False),
]


@pytest.mark.parametrize(("schema", "sent", "emitted", "whole"), CASES)
def test_a_value_takes_its_declared_type_where_nothing_is_lost(
    schema: dict[str, t.Any], sent: object, emitted: object, whole: bool
) -> None:
    assert reconcile(sent, Declared.of(schema)) == (emitted, whole)
    if whole and emitted is not None:
        jsonschema.validate(emitted, schema, format_checker=jsonschema.FormatChecker())


def conformer(**properties: dict[str, t.Any]) -> Conformer:
    return Conformer("things", {"type": "object", "properties": properties})


def test_a_drifted_record_keeps_every_value_and_matches_its_schema() -> None:
    schema = load_schema("messages")
    item = {
        "message_id": 981,  # a key field as a number
        "position": "3",
        "linkedin_profile_id": {"urn": "li:1"},  # cannot be an integer: kept as sent
        "created_at": 1796551200,
        "attachments": [{"type": 5}],
        "reactions": [{"emoji": "+1"}],  # undeclared
        "meta": {"source": "x", "depth": {"n": 1}},  # undeclared
        "extracted_at": "2026-12-06T10:00:00Z",
    }
    record = Conformer("messages", schema).conform(dict(item))
    assert record["message_id"] == "981"
    assert record["position"] == 3
    assert record["linkedin_profile_id"] is None
    assert record["created_at"] == "2026-12-06T10:00:00Z"
    assert record["attachments"] == [{"type": "5"}]
    assert record[UNRECONCILED] == {"linkedin_profile_id": {"urn": "li:1"}}
    assert record[EXTRA] == {"reactions": item["reactions"], "meta": item["meta"]}
    record.update(identity_id="i", run_uid="r", linkedin_thread_url="https://x")
    jsonschema.validate(record, schema, format_checker=jsonschema.FormatChecker())


def test_a_record_as_declared_passes_unchanged() -> None:
    item = {"n": 1, "s": "a", "at": "2026-12-06T10:00:00Z", "maybe": None}
    record = conformer(n=INTEGER, s=STRING, at=TIME, maybe=STRING).conform(dict(item))
    assert record == item


def test_a_field_that_takes_no_null_is_left_out_rather_than_nulled() -> None:
    record = conformer(id=KEY_STRING).conform({"id": ["x"]})
    assert "id" not in record
    assert record[UNRECONCILED] == {"id": ["x"]}


@pytest.mark.parametrize("spec", [s for s in ACTIONS if s.derived_key is not None])
def test_a_derived_key_is_the_same_whether_its_parts_arrive_as_numbers_or_strings(
    spec: t.Any,
) -> None:
    schema = load_schema(spec.stream)
    parts = {field for part in spec.derived_key.parts for field in part}
    typed = {f: (7 if "integer" in str(schema["properties"][f]["type"]) else "7") for f in parts}
    flipped = {f: ("7" if isinstance(v, int) else 7) for f, v in typed.items()}
    keys = {
        derive_key(Conformer(spec.stream, schema).conform(dict(item)), spec.derived_key.parts)
        for item in (typed, flipped)
    }
    assert len(keys) == 1


def test_one_warning_per_field_and_sync_names_the_stream_types_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    things = conformer(n=INTEGER, s=STRING)
    for item in ({"n": "1"}, {"n": "2"}, {"n": "x"}, {"n": 4}, {"s": 5}, {"new": 1}, {"new": 2}):
        things.conform(item)
    with caplog.at_level(logging.INFO):
        drift = things.report(logging.getLogger("test"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    tail = "; the load goes on (check whether Edges changed the field's type)."
    kept = "2 reconciled, 1 kept as sent in edges_unreconciled"
    assert warnings == [
        f"things: field n is declared integer/null but Edges sent string ({kept}){tail}",
        f"things: field s is declared string/null but Edges sent integer (1 reconciled){tail}",
    ]
    assert "things: Edges sent field new" in caplog.text
    assert (drift.reconciled, drift.kept_raw, drift.unknown) == (3, 1, 2)
