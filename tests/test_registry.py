"""Invariants of the action registry and the stream schemas."""

from __future__ import annotations

import json
import logging
from importlib.resources import files

import pytest

from tap_edges.actions import ACTIONS, ACTIONS_BY_STREAM, ActionSpec, failure_hint
from tap_edges.checks import INPUT_FORMATS
from tap_edges.runs.partitions import Partition
from tap_edges.settings import CONFIG_SCHEMA
from tap_edges.streams import derive_key, load_schema
from tap_edges.tap import TapEdges

SCHEMA_DIR = files("tap_edges") / "schemas"


def test_names_and_slugs_are_unique() -> None:
    assert len({a.stream for a in ACTIONS}) == len(ACTIONS)
    assert len({a.action for a in ACTIONS}) == len(ACTIONS)
    assert set(ACTIONS_BY_STREAM) == {a.stream for a in ACTIONS}


def test_every_stream_has_exactly_one_schema_file() -> None:
    stems = {p.name.removesuffix(".json") for p in SCHEMA_DIR.iterdir() if p.name.endswith(".json")}
    assert stems - {"_common"} == {a.stream for a in ACTIONS}


@pytest.mark.parametrize("spec", ACTIONS, ids=lambda s: s.stream)
def test_keys_exist_and_are_not_nullable(spec: ActionSpec) -> None:
    schema = load_schema(spec.stream)
    props = schema["properties"]
    for key in (*spec.primary_keys, "extracted_at", "run_uid"):
        assert key in props, key
    for key in (*spec.primary_keys, "run_uid"):
        assert "null" not in props[key]["type"], f"{spec.stream}.{key} must not be nullable"
    # extracted_at may be null: an item whose time Edges does not give (nor its iteration's
    # end) still loads; its type is a date-time otherwise
    assert props["extracted_at"]["type"] == ["string", "null"]
    assert props["extracted_at"]["format"] == "date-time"
    if spec.input_field:
        assert spec.input_field in props


@pytest.mark.parametrize("spec", ACTIONS, ids=lambda s: s.stream)
def test_every_other_field_is_nullable(spec: ActionSpec) -> None:
    schema = json.loads((SCHEMA_DIR / f"{spec.stream}.json").read_text())
    keys = set(spec.primary_keys)
    for name, prop in schema["properties"].items():
        if name not in keys and name not in {a.input_field for a in ACTIONS}:
            assert "null" in prop["type"], f"{name} should be nullable"


def test_discovery_builds_one_incremental_stream_per_action() -> None:
    tap = TapEdges(config={"sandbox": True}, validate_config=False)
    streams = tap.discover_streams()
    assert [s.name for s in streams] == [a.stream for a in ACTIONS]
    for stream in streams:
        assert stream.replication_key == "extracted_at"
        assert stream.primary_keys == list(ACTIONS_BY_STREAM[stream.name].primary_keys)
        assert stream.replication_method == "INCREMENTAL"


def test_derived_key_is_stable_and_uses_the_first_present_candidate() -> None:
    parts = (("view_timestamp",), ("linkedin_profile_id", "linkedin_profile_url"))
    a = {"view_timestamp": 1, "linkedin_profile_id": None, "linkedin_profile_url": "u"}
    b = {"view_timestamp": 1, "linkedin_profile_url": "u", "headline": "other"}
    c = {"view_timestamp": 2, "linkedin_profile_url": "u"}
    assert derive_key(a, parts) == derive_key(b, parts)
    assert derive_key(a, parts) != derive_key(c, parts)
    assert len(derive_key(a, parts) or "") == 32


@pytest.mark.parametrize("spec", [a for a in ACTIONS if a.input_setting], ids=lambda s: s.stream)
def test_every_input_setting_is_declared_and_checked(spec: ActionSpec) -> None:
    setting = str(spec.input_setting)
    assert CONFIG_SCHEMA["properties"][setting]["type"] == ["array", "null"]
    assert spec.stream in CONFIG_SCHEMA["properties"][setting]["description"]
    assert setting in INPUT_FORMATS


def page_followers(page: str) -> Partition:
    return Partition(
        stream="page_followers",
        action="linkedin-extract-page-followers",
        identity_id="id-1",
        input_field="linkedin_company_url",
        input_value=page,
        max_results=100,
    )


def test_failure_hint_names_the_identity_and_page_for_the_known_label_only() -> None:
    page = "https://www.linkedin.com/company/acme/"
    hint = failure_hint(page_followers(page), "STATUS_403")
    assert hint.startswith("; identity id-1 is not an admin of the LinkedIn page " + page)
    assert failure_hint(page_followers(page), "LK_524") == ""
    assert failure_hint(page_followers(page), None) == ""
    other = Partition("connections", "linkedin-extract-connections", "id-1", None, None, 100)
    assert failure_hint(other, "STATUS_403") == ""


def test_a_derived_key_from_nothing_is_no_key() -> None:
    parts = (("view_timestamp", "view_date"), ("linkedin_profile_id", "headline"))
    assert derive_key({"view_date": None, "headline": None}, parts) is None
    assert derive_key({"headline": "CTO"}, parts) is not None  # one known part is a key


def test_an_item_whose_derived_key_has_no_part_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tap = TapEdges(config={"sandbox": True}, validate_config=False)
    (stream,) = [s for s in tap.discover_streams() if s.name == "profile_viewers"]
    partition = stream.partition({"identity_id": "i"})
    caplog.set_level(logging.WARNING, logger=stream.logger.name)
    stream.logger.addHandler(caplog.handler)
    try:
        anonymous = {"extracted_at": "2026-11-28T00:00:00Z", "headline": None}
        assert stream._complete(partition, "run-1", anonymous) is None
    finally:
        stream.logger.removeHandler(caplog.handler)
    assert "skipped an item without view_id" in caplog.text
    seen = stream._complete(partition, "run-1", {"view_date": "2026-11-28T00:00:00Z"})
    assert seen is not None
    assert seen["view_id"]
