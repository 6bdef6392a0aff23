"""The record path: fast when nothing needs the SDK's per-record work, the SDK's otherwise."""

from __future__ import annotations

import copy
import json
import logging
import typing as t

import pytest
from singer_sdk import Stream
from singer_sdk.helpers._typing import conform_record_data_types
from tapkit import TAP, api_config, run_tap, tap_args

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox
from tap_edges.actions import ACTIONS
from tap_edges.conform import Conformer
from tap_edges.sdk import needs_conforming
from tap_edges.streams import load_schema

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.2) as sb:
        yield sb


def connections_config(sandbox: Sandbox, **overrides: t.Any) -> dict[str, t.Any]:
    inputs: dict[str, list[str]] = {"post_urls": [], "thread_urls": [], "company_page_urls": []}
    base = {"identity_ids": [ENGAGEMENT_IDENTITY_IDS[0]], **inputs}
    return api_config(sandbox, **{**base, **overrides})


def discovered_catalog(config: dict[str, t.Any], tmp_path: Path) -> dict[str, t.Any]:
    import subprocess  # noqa: PLC0415

    found = subprocess.run(
        [TAP, *tap_args(config, tmp_path), "--discover"], capture_output=True, check=True
    )
    return t.cast("dict[str, t.Any]", json.loads(found.stdout))


def with_catalog(catalog: dict[str, t.Any], tmp_path: Path) -> list[str]:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    return ["--catalog", str(path)]


def connections_entry(catalog: dict[str, t.Any]) -> dict[str, t.Any]:
    return next(s for s in catalog["streams"] if s["tap_stream_id"] == "connections")


@pytest.mark.parametrize("stream", [spec.stream for spec in ACTIONS])
def test_the_stream_schemas_let_json_records_through_unchanged(stream: str) -> None:
    assert not needs_conforming(load_schema(stream))


BOOLEAN = {"type": ["boolean", "null"]}
STRICT_ITEMS = {"type": "array", "items": {"type": "object", "properties": {}}}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}},
        {"type": "object", "properties": {"a": STRICT_ITEMS}, "additionalProperties": True},
        {"type": "object", "properties": {"a": {"anyOf": [{"type": "object", "properties": {}}]}}},
    ],
)
def test_schemas_that_change_records_need_conforming(schema: dict[str, t.Any]) -> None:
    assert needs_conforming(schema)


@pytest.mark.parametrize("value", [True, False, None, 0, 1, "true", "FALSE", 2, "yes", [1]])
def test_a_boolean_field_is_a_bool_or_null_once_conformed(value: t.Any) -> None:
    """Why a boolean property needs no SDK conformance: the tap's Conformer ran first."""
    schema = {"type": "object", "properties": {"a": BOOLEAN}, "additionalProperties": True}
    assert not needs_conforming(schema)
    item = {"a": value}
    Conformer("test", schema).conform(item)
    assert item["a"] is None or isinstance(item["a"], bool)
    conformed = conform_record_data_types(
        "test", copy.deepcopy(item), schema, Stream.TYPE_CONFORMANCE_LEVEL, logging.getLogger()
    )
    assert conformed == item


def test_records_and_state_of_the_fast_path(sandbox: Sandbox, tmp_path: Path) -> None:
    run = run_tap(connections_config(sandbox), tmp_path)
    assert run.returncode == 0, run.stderr
    records = run.records("connections")
    assert records
    fields = set(load_schema("connections")["properties"])
    assert all(set(r) <= fields | {"linkedin_profile_id"} for r in records)
    lines = [m for m in run.messages if m["type"] == "RECORD"]
    assert all(m["time_extracted"].endswith(("Z", "+00:00")) for m in lines)
    newest = max(r["extracted_at"] for r in records)
    partition = run.last_state["bookmarks"]["connections"]["partitions"][0]
    assert partition["replication_key"] == "extracted_at"
    assert partition["replication_key_value"] == newest
    assert "progress_markers" not in partition
    # The STATE marking the batch emitted already carries its newest replication key value.
    emitted = next(
        s["bookmarks"]["connections"]["partitions"][0]
        for s in run.states
        if "connections" in s.get("bookmarks", {})
        and s["bookmarks"]["connections"]["partitions"][0].get("edges_pending") is None
    )
    assert emitted["progress_markers"]["replication_key_value"] == newest


def test_stream_maps_still_apply(sandbox: Sandbox, tmp_path: Path) -> None:
    config = connections_config(sandbox, stream_maps={"connections": {"full_name": None}})
    run = run_tap(config, tmp_path)
    assert run.returncode == 0, run.stderr
    records = run.records("connections")
    assert records
    assert all("full_name" not in r and "first_name" in r for r in records)
    assert all("headline" in r for r in run.records("profile_viewers"))


def test_deselected_properties_are_still_dropped(sandbox: Sandbox, tmp_path: Path) -> None:
    config = connections_config(sandbox)
    catalog = discovered_catalog(config, tmp_path)
    for item in connections_entry(catalog)["metadata"]:
        if item["breadcrumb"] == ["properties", "first_name"]:
            item["metadata"]["selected"] = False
    run = run_tap(config, tmp_path, args=with_catalog(catalog, tmp_path))
    assert run.returncode == 0, run.stderr
    records = run.records("connections")
    assert records
    assert all("first_name" not in r and "last_name" in r for r in records)


def test_a_strict_catalog_schema_still_drops_unknown_fields(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = connections_config(sandbox)
    catalog = discovered_catalog(config, tmp_path)
    schema = connections_entry(catalog)["schema"]
    schema["additionalProperties"] = False
    del schema["properties"]["job_title"]
    run = run_tap(config, tmp_path, args=with_catalog(catalog, tmp_path))
    assert run.returncode == 0, run.stderr
    records = run.records("connections")
    assert records
    assert all("job_title" not in r and "first_name" in r for r in records)
