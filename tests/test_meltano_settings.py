"""meltano.yml, sandbox-config.json and the Hub definition agree with the tap itself."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t

import pytest
import yaml
from meltanokit import ROOT
from singer_sdk.helpers import capabilities
from tapkit import TAP

from tap_edges.actions import ACTIONS
from tap_edges.checks import config_problems
from tap_edges.settings import MELTANO_KINDS
from tap_edges.tap import TapEdges

INPUT_SETTINGS = sorted({str(a.input_setting) for a in ACTIONS if a.input_setting})
# An input setting a listing feeds (discovery) needs no value for its streams to have data.
LISTED = {str(a.lists) for a in ACTIONS if a.lists}


def every_stream_has_data(config: dict[str, t.Any]) -> bool:
    """Each input setting has values, or a listing that is on fills its streams' partitions
    (post_authors itself defaults to each identity's own profile)."""
    listings_on = config.get("discover_threads", True) and config.get("discover_posts", True)
    own_profile = {"post_authors"} if config.get("discover_posts", True) else set()
    return bool(listings_on) and all(
        config.get(setting) for setting in INPUT_SETTINGS if setting not in LISTED | own_profile
    )


HUB_FILE = ROOT / "plugin" / "extractors" / "tap-edges--edgesrun.yml"
# Settings the SDK adds to every tap's schema (stream maps, flattening, ...), left out of
# meltano.yml: the Hub definition lists them.
SDK_BUILTINS = {
    name
    for attribute in dir(capabilities)
    if attribute.endswith("_CONFIG")
    for name in getattr(capabilities, attribute)["properties"]
}


def own_properties() -> dict[str, t.Any]:
    """The tap's own settings (the SDK may have appended its built-ins to the class schema)."""
    properties = TapEdges.config_jsonschema["properties"]
    return {name: schema for name, schema in properties.items() if name not in SDK_BUILTINS}


def load_yaml(path: t.Any) -> dict[str, t.Any]:
    data: dict[str, t.Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def project() -> dict[str, t.Any]:
    return load_yaml(ROOT / "meltano.yml")


@pytest.fixture(scope="module")
def about() -> dict[str, t.Any]:
    done = subprocess.run(
        [TAP, "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    info: dict[str, t.Any] = json.loads(done.stdout)
    return info


def plugin(project: dict[str, t.Any], kind: str, name: str) -> dict[str, t.Any]:
    (found,) = [p for p in project["plugins"][kind] if p["name"] == name]
    definition: dict[str, t.Any] = found
    return definition


def environment_config(project: dict[str, t.Any], name: str) -> dict[str, t.Any]:
    (env,) = [e for e in project["environments"] if e["name"] == name]
    (tap,) = [p for p in env["config"]["plugins"]["extractors"] if p["name"] == "tap-edges"]
    config: dict[str, t.Any] = tap["config"]
    return config


def expected_kind(schema: dict[str, t.Any]) -> str:
    if schema.get("secret"):
        return "password"
    (kind,) = [MELTANO_KINDS[name] for name in schema["type"] if name != "null"]
    return kind


def test_tap_settings_match_the_config_schema(project: dict[str, t.Any]) -> None:
    properties = own_properties()
    assert len(properties) > 10
    settings = plugin(project, "extractors", "tap-edges")["settings"]
    assert [s["name"] for s in settings] == list(properties)
    for setting in settings:
        schema = properties[setting["name"]]
        name = setting["name"]
        assert setting["kind"] == expected_kind(schema), name
        assert setting.get("sensitive", False) == bool(schema.get("secret")), name
        assert setting["label"] == schema["title"], name
        assert setting["description"], name
        assert setting.get("value") == schema.get("default"), name


def test_tap_plugin_definition(project: dict[str, t.Any], about: dict[str, t.Any]) -> None:
    tap = plugin(project, "extractors", "tap-edges")
    assert tap["namespace"] == "tap_edges"
    assert tap["pip_url"] == "-e ."
    assert tap["executable"] == "tap-edges"
    assert tap["capabilities"] == about["capabilities"]
    names = {s["name"] for s in tap["settings"]}
    groups = tap["settings_group_validation"]
    assert all(set(group) <= names for group in groups)
    assert ["sandbox"] in groups
    assert ["api_key", "identity_ids"] in groups


def test_loaders_are_defined_inline_and_upsert(project: dict[str, t.Any]) -> None:
    loaders = {p["name"]: p for p in project["plugins"]["loaders"]}
    assert set(loaders) == {"target-jsonl", "target-duckdb", "target-postgres"}
    for loader in loaders.values():
        assert loader["namespace"]
        assert loader["pip_url"]
        assert loader["executable"]
    # target-duckdb 0.8.0 with duckdb >= 1.3 silently drops the first row of every batch.
    assert loaders["target-duckdb"]["pip_url"].split() == ["target-duckdb==0.8.0", "duckdb==1.2.2"]
    assert loaders["target-postgres"]["pip_url"] == "meltanolabs-target-postgres"
    # The streams are incremental: a target must never treat a batch as the whole table.
    assert loaders["target-postgres"]["config"]["load_method"] == "upsert"
    # Without metadata columns, target-postgres refuses to start unless told to ignore
    # ACTIVATE_VERSION (which the tap never sends).
    postgres = loaders["target-postgres"]["config"]
    assert postgres["add_record_metadata"] is True or postgres["activate_version"] is False
    assert loaders["target-duckdb"]["config"]["primary_key_required"] is True


def test_demo_environment_is_a_valid_sandbox_config(project: dict[str, t.Any]) -> None:
    assert project["default_environment"] == "demo"
    config = environment_config(project, "demo")
    assert config["sandbox"] is True
    assert every_stream_has_data(config)
    assert not config.get("thread_urls")
    assert not config.get("post_urls")  # the demo's threads and posts are discovered
    assert config["sandbox_path"].startswith("$MELTANO_PROJECT_ROOT/output/")
    assert config_problems(config) == []
    assert environment_config(project, "prod")["sandbox"] is False
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    assert jobs["edges-to-duckdb"] == ["tap-edges target-duckdb dbt-duckdb:build"]
    assert jobs["edges-to-postgres"] == ["tap-edges target-postgres dbt-postgres:build"]


def test_dbt_utilities_are_defined_inline(project: dict[str, t.Any]) -> None:
    utilities = {p["name"]: p for p in project["plugins"]["utilities"]}
    assert set(utilities) == {"dbt-duckdb", "dbt-postgres"}
    loaders = {p["name"]: p for p in project["plugins"]["loaders"]}
    # target-duckdb writes the file and dbt-duckdb reads it: the same duckdb in both venvs.
    pins = [pin for pin in loaders["target-duckdb"]["pip_url"].split() if pin.startswith("duckdb")]
    assert pins == ["duckdb==1.2.2"]
    assert pins[0] in utilities["dbt-duckdb"]["pip_url"].split()
    for name, utility in utilities.items():
        assert utility["executable"] == "dbt"
        assert {"build", "run", "test", "deps"} <= set(utility["commands"])
        env = {setting["name"]: setting.get("env") for setting in utility["settings"]}
        assert env["profiles_dir"] == "DBT_PROFILES_DIR"
        assert env["project_dir"] == "DBT_PROJECT_DIR"
        assert env["target"] == "DBT_TARGET"
        assert utility["config"]["target"] == name.removeprefix("dbt-")


def test_sandbox_config_file_is_a_valid_sandbox_config() -> None:
    config = json.loads((ROOT / "sandbox-config.json").read_text(encoding="utf-8"))
    assert config["sandbox"] is True
    assert every_stream_has_data(config)
    assert set(config) <= set(own_properties())
    assert config_problems(config) == []


def test_hub_definition_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hub_definition.py"), "--stdout"],
        capture_output=True,
        text=True,
        check=True,
    )
    committed = HUB_FILE.read_text(encoding="utf-8")
    assert done.stdout == committed, "run scripts/hub_definition.py and commit the result"


def test_hub_definition_matches_about_and_meltano_yml(
    project: dict[str, t.Any], about: dict[str, t.Any]
) -> None:
    hub = load_yaml(HUB_FILE)
    assert hub["name"] == "tap-edges"
    assert hub["namespace"] == "tap_edges"
    assert hub["variant"]
    assert hub["description"] == about["description"]
    assert sorted(hub["capabilities"]) == sorted(about["capabilities"])
    assert [s["name"] for s in hub["settings"]] == list(about["settings"]["properties"])
    own = {s["name"]: s for s in plugin(project, "extractors", "tap-edges")["settings"]}
    for setting in hub["settings"]:
        mine = own.get(setting["name"])
        if mine is None:  # an SDK built-in (stream maps, flattening), not in meltano.yml
            continue
        for field in ("label", "kind", "sensitive"):
            assert setting.get(field) == mine.get(field), (setting["name"], field)
