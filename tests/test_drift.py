"""Records keep their schema when Edges' value types drift (the sandbox's ``type_drift``).

The real tap syncs every stream against a sandbox whose output items drift: numbers as strings,
strings as numbers, a field whose type flips between pages, nulls, missing fields, unknown
nested objects and arrays, and values that cannot take their declared type. Every RECORD must
validate against the SCHEMA the tap emitted for its stream, as a validating target checks it,
and keys must not depend on the types.
"""

from __future__ import annotations

import collections
import typing as t

import jsonschema
import pytest
from tapkit import OUTPUTS_MODES, TapRun, api_config, run_tap

from edges_sandbox import Sandbox
from edges_sandbox.variants import TYPE_DRIFT
from tap_edges.actions import ACTIONS_BY_STREAM
from tap_edges.streams import derive_key

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def invalid_records(run: TapRun) -> list[str]:
    """Every RECORD that does not validate against the last SCHEMA of its stream before it."""
    validators: dict[str, jsonschema.Draft7Validator] = {}
    problems = []
    for message in run.messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = jsonschema.Draft7Validator(
                message["schema"], format_checker=jsonschema.FormatChecker()
            )
        elif message["type"] == "RECORD":
            validator = validators[message["stream"]]
            problems += [f"{message['stream']}: {e.message}" for e in validator.iter_errors(
                message["record"])]  # fmt: skip
    return problems


def keys(run: TapRun) -> dict[str, set[tuple[t.Any, ...]]]:
    """The primary keys of the records, per stream."""
    found: dict[str, set[tuple[t.Any, ...]]] = collections.defaultdict(set)
    for message in run.messages:
        if message["type"] == "RECORD":
            spec = ACTIONS_BY_STREAM[message["stream"]]
            found[message["stream"]].add(tuple(message["record"][k] for k in spec.primary_keys))
    return dict(found)


@pytest.mark.parametrize("mode", OUTPUTS_MODES)
def test_every_record_matches_its_schema_while_types_drift(mode: str, tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, outputs_mode=mode, variants=[TYPE_DRIFT]) as sandbox:
        config = api_config(
            sandbox,
            discover_threads=True,
            discover_posts=True,
            post_authors=["https://www.linkedin.com/in/ada-lovelace"],
        )
        first = run_tap(config, tmp_path)
        assert first.returncode == 0, first.stderr
        sandbox.backstage.grow(n=12)
        second = run_tap(config, tmp_path, state=first.last_state)
        assert second.returncode == 0, second.stderr
    for run in (first, second):
        assert invalid_records(run) == []
        records = run.records()
        assert any("edges_extra" in r for r in records)
        assert any("edges_unreconciled" in r for r in records)
        assert "Values: reconciled with their schema 0" not in run.stderr
        assert "is declared integer" in run.stderr
        assert "is declared string" in run.stderr
    assert set(keys(second)) == set(ACTIONS_BY_STREAM)  # every stream had new items


def test_keys_are_the_same_whatever_types_edges_sends(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, variants=[TYPE_DRIFT]) as sandbox:
        run = run_tap(api_config(sandbox), tmp_path)
        assert run.returncode == 0, run.stderr
        sandbox.settings.variants = []  # the same items, with the types the schemas declare
        assert keys(run) == plain_keys(sandbox)


def plain_keys(sandbox: Sandbox) -> dict[str, set[tuple[t.Any, ...]]]:
    """The primary keys of the items every run delivered, served without drift, per stream."""
    found: dict[str, set[tuple[t.Any, ...]]] = collections.defaultdict(set)
    for run in sandbox.backstage.runs():
        spec = next(s for s in ACTIONS_BY_STREAM.values() if s.action == run["action_name"])
        context = {"identity_id": sandbox.engine.runs[run["uid"]].identity_id}
        if spec.input_field:
            context[spec.input_field] = sandbox.engine.runs[run["uid"]].input[spec.input_field]
        for iteration in sandbox.backstage.ground_truth(run["uid"]):
            for item in iteration["delivered"]:
                record = {**item, **context}
                if spec.derived_key is not None:
                    parts = spec.derived_key.parts
                    record[spec.derived_key.name] = derive_key(record, parts)
                found[spec.stream].add(tuple(record[k] for k in spec.primary_keys))
    return dict(found)
