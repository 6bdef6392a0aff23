"""Helpers for the dbt tests: run the project through Meltano, read what dbt reported."""

from __future__ import annotations

import json
import typing as t

from meltanokit import meltano

from tap_edges.actions import ACTIONS_BY_STREAM

if t.TYPE_CHECKING:
    from pathlib import Path

MODELS = ("engagements", "people", "post_engagement", "warm_leads")
# A staging model per stream (views), and the participants of stg_conversations unnested.
STAGING = (*(f"stg_{stream}" for stream in ACTIONS_BY_STREAM), "stg_conversation_participants")
KINDS = {
    "connections": "connection",
    "messages": "message",
    "profile_viewers": "profile_view",
    "post_commenters": "comment",
    "post_likers": "like",
    "post_reposters": "repost",
    "page_followers": "follow",
}


def dbt_env(workdir: Path, utility: str) -> dict[str, str]:
    """Settings that keep a test's dbt artefacts (target/, logs/) in its own folder."""
    prefix = utility.upper().replace("-", "_")
    return {
        f"{prefix}_TARGET_PATH": str(workdir / "dbt-target"),
        f"{prefix}_LOG_PATH": str(workdir / "dbt-logs"),
    }


def run_results(workdir: Path) -> dict[str, t.Any]:
    """The run_results.json of the last dbt command."""
    path = workdir / "dbt-target" / "run_results.json"
    results: dict[str, t.Any] = json.loads(path.read_text(encoding="utf-8"))
    return results


def check_build(workdir: Path) -> str:
    """Every model of the last build was built and every dbt test passed; its invocation id."""
    results = run_results(workdir)
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    models = {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")}
    assert {*MODELS, *STAGING} <= models
    tests = {uid: status for uid, status in statuses.items() if uid.startswith("test.")}
    assert len(tests) >= 50, sorted(tests)
    assert {uid for uid, status in tests.items() if status != "pass"} == set()
    assert all(statuses[f"model.tap_edges.{m}"] == "success" for m in models)
    assert any("engagements_tie_out" in uid for uid in tests)
    assert any("post_engagement_holds_followed_posts" in uid for uid in tests)
    # dbt's unit tests (inputs given in the yml files) ran and passed too.
    units = {uid: status for uid, status in statuses.items() if uid.startswith("unit_test.")}
    assert len(units) >= 2, sorted(units)
    assert set(units.values()) == {"pass"}, units
    return str(results["metadata"]["invocation_id"])


def meltano_dbt(env: dict[str, str], *tasks: str) -> None:
    """``meltano run <tasks>``, which must succeed."""
    done = meltano(["run", *tasks], env)
    assert done.returncode == 0, done.stderr[-6000:]


def engagement_ids(raw: dict[str, list[dict[str, t.Any]]]) -> set[str]:
    """The engagement_id each loaded item must have: stream|identity|its other key columns."""
    return {
        "|".join([stream, *(str(row[key]) for key in ACTIONS_BY_STREAM[stream].primary_keys)])
        for stream in KINDS
        for row in raw[stream]
    }
