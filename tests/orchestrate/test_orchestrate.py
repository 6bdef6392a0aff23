"""The orchestrator's data: workspaces.yml, the extractors made of it, the summary it reads.

The Dagster code location itself runs in its own venv (tests/e2e/test_orchestrate_e2e.py); what it
is made of, workspaces and the tap's end-of-sync line, is plain Python checked here.
"""

from __future__ import annotations

import collections
import typing as t
from pathlib import Path

import pytest
import yaml
from meltanokit import ROOT

from edges_orchestrate.cluster import assignment, queue, worker_env
from edges_orchestrate.environment import plugin_prefix, sync_environment, workspace_system
from edges_orchestrate.stale import all_dead, running_ages, stale_after
from edges_orchestrate.summary import parse_line
from edges_orchestrate.workspaces import (
    LOADER,
    MELTANO_ENVIRONMENT,
    MELTANO_FILE,
    WORKSPACES_FILE,
    Workspace,
    load,
    meltano_file,
    parse,
    sync_target,
)
from tap_edges.runs.summary import SyncSummary


def meltano_settings() -> set[str]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-edges"]
    return {setting["name"] for setting in tap["settings"]}


def test_generated_extractors_in_step() -> None:
    """meltano-workspaces.yml is exactly what workspaces.yml makes (else: --write)."""
    assert MELTANO_FILE.read_text(encoding="utf-8") == meltano_file(load(WORKSPACES_FILE))


def test_meltano_includes_the_workspaces() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    assert "./orchestrate/meltano-workspaces.yml" in project["include_paths"]
    cluster = {e["name"]: e for e in project["environments"]}["cluster"]
    (loader,) = cluster["config"]["plugins"]["loaders"]
    assert loader["config"]["default_target_schema"] == "$MELTANO_EXTRACT__LOAD_SCHEMA"


def test_sandbox_workspaces() -> None:
    """Three sandbox workspaces, each its own world, key variable and schema."""
    workspaces = load()
    assert len(workspaces) == 3
    assert all(w.sandbox for w in workspaces)
    for attribute in ("api_key_env", "schema", "extractor"):
        assert len({getattr(w, attribute) for w in workspaces}) == 3, attribute
    worlds = {w.extractor_definition()["config"]["sandbox_path"] for w in workspaces}
    assert len(worlds) == 3


def test_every_workspace_setting_is_its_own() -> None:
    """Each extractor sets its key (from its own variable), inputs, budget and sandbox switch
    itself, so nothing is inherited from tap-edges or another workspace; every one is a real
    setting of tap-edges."""
    extractors = yaml.safe_load(MELTANO_FILE.read_text(encoding="utf-8"))["plugins"]["extractors"]
    known = meltano_settings()
    for workspace, extractor in zip(load(), extractors, strict=True):
        config = extractor["config"]
        assert extractor["inherit_from"] == "tap-edges"
        assert extractor["load_schema"] == f"edges_{workspace.name}"
        assert config["api_key"] == f"${workspace.api_key_env}"
        required = {"api_key", "identity_ids", "post_urls", "thread_urls", "company_page_urls"}
        assert required | {"runs_requests_per_minute", "sandbox"} <= set(config)
        assert set(config) <= known


def test_workspace_env_prefix_and_state_id() -> None:
    workspace = load()[0]
    assert workspace.env_prefix == f"TAP_EDGES__{workspace.name.upper()}_"
    assert workspace.state_id("cluster", "target-postgres") == (
        f"cluster:tap-edges--{workspace.name}-to-target-postgres"
    )


GOOD = {"name": "acme", "api_key_env": "EDGES_ACME_API_KEY", "identity_ids": ["uid"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Acme-1"}, "lowercase"),
        ({"api_key_env": "my key"}, "environment variable"),
        ({"identity_ids": []}, "identity_ids"),
        ({"post_url": ["x"]}, "unknown keys post_url"),
    ],
)
def test_invalid_workspace(change: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse({**GOOD, **change})


def test_duplicate_names(tmp_path: Path) -> None:
    path = tmp_path / "workspaces.yml"
    path.write_text(yaml.safe_dump({"workspaces": [GOOD, GOOD]}), encoding="utf-8")
    with pytest.raises(ValueError, match="used twice: acme"):
        load(path)


def test_real_workspace_is_not_sandboxed() -> None:
    config = parse(GOOD).extractor_definition()["config"]
    assert config["sandbox"] is False
    assert "sandbox_path" not in config
    assert parse(GOOD) == Workspace(
        name="acme", api_key_env="EDGES_ACME_API_KEY", identity_ids=("uid",)
    )


@pytest.mark.parametrize("items", [{}, {"connections": 12, "post_likers": 3}])
def test_summary_read_back_from_the_taps_line(items: dict[str, int]) -> None:
    """The orchestrator reads the tap's line (tap_edges/runs/summary.py), number for number."""
    summary = SyncSummary(launched=4, continued=2, read=1, waiting=3)
    summary.items.update(collections.Counter(items))
    line = summary.line(failed=1, losses=2, requests=57, budget=600, seconds=12.34)
    found = parse_line(f"2026-11-30T10:00:00Z [info     ] tap-edges--alpha {line}")
    assert found is not None
    assert (found.launched, found.continued, found.read, found.waiting) == (4, 2, 1, 3)
    assert (found.failed, found.losses, found.requests, found.budget) == (1, 2, 57, 600)
    assert found.seconds == pytest.approx(12.3)
    assert found.new_items == items
    assert found.metadata()["new items"] == sum(items.values())
    assert parse_line("Sync starting") is None


@pytest.mark.parametrize(
    ("ages", "after", "dead"),
    [
        ({}, 60, False),  # nothing held as running: a plain run
        ({"a": 61.0}, 60, True),  # one record, no beat for 61 s: its process died
        ({"a": 60.0}, 60, True),
        ({"a": 59.0}, 60, False),  # still beating (or just missed one): Meltano refuses
        ({"a": 300.0, "b": 1.0}, 60, False),  # one dead, one alive: never force past the live one
        ({"a": 300.0, "b": 90.0}, 60, True),
        ({"a": 3.0}, 2, True),
    ],
)
def test_a_sync_goes_ahead_only_when_every_running_record_stopped_beating(
    ages: dict[str, float], after: float, *, dead: bool
) -> None:
    assert all_dead(ages, after) is dead


@pytest.mark.parametrize(("raw", "seconds"), [(None, 60.0), ("", 60.0), ("5", 5.0), ("0.5", 0.5)])
def test_stale_sync_seconds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, seconds: float
) -> None:
    if raw is None:
        monkeypatch.delenv("EDGES_STALE_SYNC_SECONDS", raising=False)
    else:
        monkeypatch.setenv("EDGES_STALE_SYNC_SECONDS", raw)
    assert stale_after() == seconds


@pytest.mark.parametrize("raw", ["0", "-3", "soon", "nan"])
def test_a_bad_stale_sync_seconds_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("EDGES_STALE_SYNC_SECONDS", raw)
    with pytest.raises(ValueError, match="EDGES_STALE_SYNC_SECONDS must be a positive number"):
        stale_after()


def test_no_record_is_read_where_the_system_database_is_not_postgresql() -> None:
    assert running_ages("sqlite:///.meltano/meltano.db", "cluster:x-to-y") == {}


def test_a_sync_sees_only_its_own_and_the_basics() -> None:
    """The environment of a workspace's meltano run: Meltano's, the loader's, its extractor's
    and its key, the system's basics; nothing of another workspace, nothing else."""
    alpha, beta, _ = load()
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
        "MELTANO_DATABASE_URI": "postgresql+psycopg://x/meltano",
        "TARGET_POSTGRES_HOST": "db",
        "TARGET_DUCKDB_FILEPATH": "x.duckdb",
        alpha.api_key_env: "alpha-key",
        beta.api_key_env: "beta-key",
        f"{alpha.env_prefix}SANDBOX_RUN_SECONDS": "3",
        f"{beta.env_prefix}SANDBOX_RUN_SECONDS": "4",
        "TAP_EDGES_API_KEY": "every-workspace",
        "DAGSTER_HOME": "/dagster",
        "EDGES_CELERY_BROKER": "redis://x",
        "AWS_SECRET_ACCESS_KEY": "no",
    }
    assert sync_environment(environ, alpha, "target-postgres") == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
        "MELTANO_DATABASE_URI": "postgresql+psycopg://x/meltano",
        "TARGET_POSTGRES_HOST": "db",
        alpha.api_key_env: "alpha-key",
        f"{alpha.env_prefix}SANDBOX_RUN_SECONDS": "3",
    }
    assert plugin_prefix("target-duckdb") == "TARGET_DUCKDB_"


def test_workers_serve_their_workspaces_with_their_keys_only() -> None:
    """Two workers for three workspaces: alpha on the first, beta on the second, gamma on both
    (so either can take it over); each worker's environment holds only its workspaces' keys."""
    workspaces = load()
    assert assignment(workspaces, 2) == {
        "worker-1": ["alpha", "gamma"],
        "worker-2": ["beta", "gamma"],
    }
    assert assignment(workspaces, 1) == {"worker-1": ["alpha", "beta", "gamma"]}
    keys = {w.api_key_env: f"{w.name}-key" for w in workspaces}
    env = worker_env({"PATH": "/usr/bin", **keys}, ["alpha", "gamma"], workspaces)
    assert env == {
        "PATH": "/usr/bin",
        "EDGES_ALPHA_API_KEY": "alpha-key",
        "EDGES_GAMMA_API_KEY": "gamma-key",
    }
    assert queue("alpha") == "edges_alpha"


def test_the_sync_target_is_declared_once_and_the_environment_overrides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EDGES_MELTANO_ENVIRONMENT", raising=False)
    monkeypatch.delenv("EDGES_LOADER", raising=False)
    assert sync_target() == (MELTANO_ENVIRONMENT, LOADER) == ("cluster", "target-postgres")
    monkeypatch.setenv("EDGES_MELTANO_ENVIRONMENT", "prod")
    monkeypatch.setenv("EDGES_LOADER", "target-duckdb")
    assert sync_target() == ("prod", "target-duckdb")


def test_each_workspace_syncs_in_a_meltano_system_folder_of_its_own(tmp_path: Path) -> None:
    """Meltano writes a loader's config and logging files in ``run/<plugin>/`` of its system
    folder: shared by the workspaces (one loader), a sync's target read another's, or a file
    half-written, and failed at start (seen with three workspaces at once)."""
    base = tmp_path / "system"
    (base / "loaders" / "target-postgres" / "venv").mkdir(parents=True)
    environ = {"MELTANO_SYS_DIR_ROOT": str(base), "MELTANO_DATABASE_URI": "postgresql://x/m"}
    alpha = workspace_system(environ, tmp_path, "alpha")
    beta = workspace_system(environ, tmp_path, "beta")
    assert alpha["MELTANO_SYS_DIR_ROOT"] != beta["MELTANO_SYS_DIR_ROOT"]
    for env in (alpha, beta):
        own = Path(env["MELTANO_SYS_DIR_ROOT"])
        assert own.parent == base / "workspaces"
        assert own.stat().st_mode & 0o077 == 0  # the tap's config holds the key
        assert (own / "loaders" / "target-postgres" / "venv").is_dir()  # the shared install
        assert (own / "loaders").resolve() == (base / "loaders").resolve()
        assert "MELTANO_DATABASE_URI" not in env  # the environment's, shared, stands
    assert workspace_system(environ, tmp_path, "alpha") == alpha  # again: the same folder
    # Unset: the project's .meltano, and Meltano's default database there, shared.
    default = workspace_system({}, tmp_path, "gamma")
    assert default["MELTANO_SYS_DIR_ROOT"] == str(tmp_path / ".meltano" / "workspaces" / "gamma")
    assert default["MELTANO_DATABASE_URI"] == f"sqlite:///{tmp_path / '.meltano'}/meltano.db"
    # A database the project's .env names is Meltano's to read (the environment would win).
    (tmp_path / ".env").write_text("export MELTANO_DATABASE_URI=postgresql://y/m\n")
    assert "MELTANO_DATABASE_URI" not in workspace_system({}, tmp_path, "gamma")
    # A relative system folder is the project's, as Meltano (run in the project) reads it.
    relative = workspace_system({"MELTANO_SYS_DIR_ROOT": "sys"}, tmp_path, "gamma")
    assert relative["MELTANO_SYS_DIR_ROOT"] == str(tmp_path / "sys" / "workspaces" / "gamma")
