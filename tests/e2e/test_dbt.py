"""The dbt project (transform/) on a real load: Meltano runs tap-edges, target-duckdb and
dbt-duckdb on the sandbox, twice, and the models are checked against the loaded tables.

Besides dbt's own tests (which must all pass), every model is recomputed here in Python from
the tap's tables: the staging models of the parent streams hold the newest listing of each
conversation (and its participants) and post, engagements one row per loaded item, people
every member seen (conversation participants and post authors included), post_engagement the
counts and the listed post per followed post, warm_leads exactly the people who engaged in two
ways lately without being a connection. The second build (after the world grew: conversations
moved, posts listed again with new counts) must write only the new items, and a full refresh
must give the same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import typing as t
from collections import defaultdict
from pathlib import Path

import pytest
from dbtkit import (
    KINDS,
    MODELS,
    STAGING,
    check_build,
    dbt_env,
    engagement_ids,
    meltano_dbt,
    run_results,
)
from meltanokit import ROOT, grow_world, install_plugins, plugin_python, project_env

from tap_edges.actions import ACTIONS_BY_STREAM
from tap_edges.discovery.posts import activity_of
from tap_edges.streams import load_schema

pytestmark = pytest.mark.e2e

Rows = list[dict[str, t.Any]]
Tables = dict[str, Rows]
Key = tuple[t.Any, ...]
# The tables and the models (the marts' tables and the staging views).
DUMP = """
import json, sys, duckdb
with duckdb.connect(sys.argv[1], read_only=True) as db:
    out = {}
    for schema, name in db.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('tap_edges', 'analytics')"
    ).fetchall():
        cursor = db.execute(f'SELECT * FROM {schema}."{name}"')
        columns = [d[0] for d in cursor.description]
        out[f"{schema}.{name}"] = [dict(zip(columns, row)) for row in cursor.fetchall()]
print(json.dumps(out, default=str))
"""
ITEM_TIME = {  # the item's own time, first present wins; else extracted_at
    "connections": ("connected_at",),
    "messages": ("created_at", "delivered_at"),
    "profile_viewers": ("view_date",),
    "post_commenters": ("comment_time",),
    "page_followers": ("followed_at",),
}
POST_STREAMS = {"post_likers": "likes", "post_commenters": "comments", "post_reposters": "reposts"}
# The newest of several rows of one key: by these columns, the latest first (edges_newest).
NEWEST = {
    "conversations": ("extracted_at", "last_activity_at", "run_uid"),
    "posts": ("extracted_at", "run_uid"),
}
AUTHORS = ("author", "activity_author")  # the people of a listed post
WINDOW = dt.timedelta(days=30)


@pytest.fixture(scope="session")
def dbt_plugins(session_dir: Path) -> None:
    install_plugins(session_dir, "tap-edges", "target-duckdb", "dbt-duckdb")


def dump(database: Path) -> tuple[Tables, Tables]:
    """The tap's tables and the models (views too), read with dbt-duckdb's own duckdb."""
    done = subprocess.run(
        [str(plugin_python("utilities", "dbt-duckdb")), "-c", DUMP, str(database)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    tables: Tables = json.loads(done.stdout)
    raw = {k.split(".")[1]: v for k, v in tables.items() if k.startswith("tap_edges.")}
    models = {k.split(".")[1]: v for k, v in tables.items() if k.startswith("analytics.")}
    return raw, models


def occurred(stream: str, row: dict[str, t.Any]) -> dt.datetime:
    when = next((row[c] for c in ITEM_TIME.get(stream, ()) if row[c]), row["extracted_at"])
    return dt.datetime.fromisoformat(str(when))


def expected_leads(raw: Tables, now: dt.datetime) -> dict[tuple[str, int], set[str]]:
    """(identity, person) → kinds, for people engaged in 2+ kinds lately, not connected."""
    connected = {(r["identity_id"], r["linkedin_profile_id"]) for r in raw["connections"]}
    kinds: dict[tuple[str, int], set[str]] = defaultdict(set)
    for stream, kind in KINDS.items():
        for row in raw[stream]:
            key = (row["identity_id"], row["linkedin_profile_id"])
            recent = now - WINDOW < occurred(stream, row) <= now
            if key[1] is not None and key not in connected and recent:
                kinds[key].add(kind)
    return {key: found for key, found in kinds.items() if len(found) >= 2}


def check_models(raw: Tables, models: Tables) -> None:
    """Every model recomputed from the loaded tables."""
    engagements = models["engagements"]
    assert sorted(e["engagement_id"] for e in engagements) == sorted(engagement_ids(raw))
    assert {e["kind"] for e in engagements} == set(KINDS.values())
    conversations, posts = newest(raw, "conversations"), newest(raw, "posts")
    assert conversations, "the sandbox's conversations listing found threads"
    assert posts, "the sandbox's posts listing found posts"
    check_conversations(conversations, models)
    check_staged_posts(posts, models["stg_posts"])
    check_people(raw, conversations, posts, models["people"])
    check_posts(raw, posts, models["post_engagement"])
    check_leads(raw, models["warm_leads"])


def newest(raw: Tables, stream: str) -> dict[Key, dict[str, t.Any]]:
    """The newest row of each key of a parent stream's table (the loader upserts: one)."""
    keys = ACTIONS_BY_STREAM[stream].primary_keys
    found: dict[Key, dict[str, t.Any]] = {}
    for row in sorted(raw[stream], key=lambda r: tuple(str(r[c]) for c in NEWEST[stream])):
        found[tuple(row[k] for k in keys)] = row  # the later in that order wins
    return found


def participants(conversation: dict[str, t.Any]) -> list[tuple[int, dict[str, t.Any]]]:
    """A conversation's participants with their index (from 1), JSON nulls left out."""
    listed = json.loads(conversation["participants"] or "null")
    return [(i, p) for i, p in enumerate(listed or [], start=1) if p is not None]


def check_conversations(conversations: dict[Key, dict[str, t.Any]], models: Tables) -> None:
    """stg_conversations: one row per key, the newest values; stg_conversation_participants."""
    staged = {(c["identity_id"], c["linkedin_thread_id"]): c for c in models["stg_conversations"]}
    assert len(staged) == len(models["stg_conversations"])
    assert staged.keys() == conversations.keys()
    for key, row in conversations.items():
        conversation = staged[key]
        for column in ("last_activity_at", "unread_count", "total_received_messages", "run_uid"):
            assert conversation[column] == row[column], (key, column)
        assert conversation["is_read"] == row["read"]
        last = json.loads(row["last_message"])
        assert conversation["last_message_id"] == last["message_id"], key
    expected = {
        (*key, index, person["linkedin_profile_id"], person["linkedin_profile_url"])
        for key, row in conversations.items()
        for index, person in participants(row)
    }
    assert expected, "the sandbox's conversations have participants"
    rows = models["stg_conversation_participants"]
    unnested = [
        (
            p["identity_id"],
            p["linkedin_thread_id"],
            p["participant_index"],
            p["linkedin_profile_id"],
            p["linkedin_profile_url"],
        )
        for p in rows
    ]
    assert sorted(unnested) == sorted(expected)


def check_staged_posts(posts: dict[Key, dict[str, t.Any]], staged_rows: Rows) -> None:
    """stg_posts: one row per key with the newest listing's counts, authors unpacked."""
    staged = {(p["identity_id"], p["linkedin_post_id"]): p for p in staged_rows}
    assert len(staged) == len(staged_rows)
    assert staged.keys() == posts.keys()
    for key, row in posts.items():
        post = staged[key]
        for column in (
            "linkedin_activity_id",
            "followed_post_url",
            "published_date",
            "reaction_count",
            "comment_count",
            "repost_count",
            "run_uid",
        ):
            assert post[column] == row[column], (key, column)
        for role in AUTHORS:
            person = json.loads(row[role] or "{}")
            assert post[f"{role}_linkedin_profile_id"] == person.get("linkedin_profile_id"), key
        source = json.loads(row["source_post"] or "{}")
        assert post["source_post_url"] == source.get("linkedin_post_url"), key


def authors(posts: dict[Key, dict[str, t.Any]]) -> dict[int, set[str]]:
    """Profile id → the posts (linkedin_post_id) it wrote or whose activity holds them."""
    found: dict[int, set[str]] = defaultdict(set)
    for row in posts.values():
        for role in AUTHORS:
            profile_id = json.loads(row[role] or "{}").get("linkedin_profile_id")
            if profile_id is not None:
                found[profile_id].add(row["linkedin_post_id"])
    return found


def check_people(
    raw: Tables,
    conversations: dict[Key, dict[str, t.Any]],
    posts: dict[Key, dict[str, t.Any]],
    people: Rows,
) -> None:
    identities: dict[int, set[str]] = defaultdict(set)
    for stream in KINDS:
        for row in raw[stream]:
            identities[row["linkedin_profile_id"]].add(row["identity_id"])
    threads: dict[int, set[Key]] = defaultdict(set)
    for key, row in conversations.items():
        for _, person in participants(row):
            identities[person["linkedin_profile_id"]].add(key[0])
            threads[person["linkedin_profile_id"]].add(key)
    written = authors(posts)
    seen = (identities.keys() | written.keys()) - {None}
    connected = {r["linkedin_profile_id"] for r in raw["connections"]}
    assert sorted(p["linkedin_profile_id"] for p in people) == sorted(seen)
    assert {p["linkedin_profile_id"] for p in people if p["is_connection"]} == connected
    assert threads.keys() - {None}, "conversation participants are people"
    assert written, "post authors are people"
    for person in people:
        profile_id = person["linkedin_profile_id"]
        assert person["identity_count"] == len(identities.get(profile_id, ())), profile_id
        assert person["conversation_count"] == len(threads.get(profile_id, ())), profile_id
        assert person["post_count"] == len(written.get(profile_id, ())), profile_id


def listed_post(url: str, posts: dict[Key, dict[str, t.Any]]) -> dict[str, t.Any] | None:
    """The post_engagement row's post: followed by this URL first, then the newest listing."""
    matching = [
        row
        for row in posts.values()
        if url in (row["followed_post_url"], row["linkedin_post_url"])
        or (
            row["linkedin_activity_id"] is not None
            and row["linkedin_activity_id"] == activity_of(url)
        )
    ]
    matching.sort(key=lambda row: (row["identity_id"], row["linkedin_post_id"]))
    matching.sort(key=lambda row: dt.datetime.fromisoformat(row["extracted_at"]), reverse=True)
    matching.sort(key=lambda row: row["followed_post_url"] != url)
    return matching[0] if matching else None


def check_posts(raw: Tables, posts: dict[Key, dict[str, t.Any]], post_engagement: Rows) -> None:
    rows = {p["linkedin_post_url"]: p for p in post_engagement}
    followed = {p["followed_post_url"] for p in posts.values()} - {None}
    assert followed, "the posts listing found posts to follow"
    engaged_urls = {r["linkedin_post_url"] for s in POST_STREAMS for r in raw[s]}
    assert rows.keys() == engaged_urls | followed
    for url, post in rows.items():
        engaged: set[int] = set()
        for stream, column in POST_STREAMS.items():
            items = [r for r in raw[stream] if r["linkedin_post_url"] == url]
            item_key = ACTIONS_BY_STREAM[stream].natural_keys[0]
            assert post[column] == len({r[item_key] for r in items}), (url, column)
            engaged |= {r["linkedin_profile_id"] for r in items} - {None}
        assert post["unique_people"] == len(engaged)
        listed = listed_post(url, posts)
        if url in followed:
            assert listed is not None, url
        if listed is None:
            assert post["linkedin_post_id"] is None, url
            continue
        assert post["linkedin_post_id"] == listed["linkedin_post_id"], url
        assert post["published_date"] == listed["published_date"], url
        assert post["linkedin_post_type"] == listed["linkedin_post_type"].lower(), url
        assert post["content_text"] == listed["content_text"], url
        author = json.loads(listed["author"] or "{}")
        assert post["author_linkedin_profile_id"] == author.get("linkedin_profile_id"), url
        assert post["listed_reaction_count"] == listed["reaction_count"], url


def check_leads(raw: Tables, warm_leads: Rows) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    expected = expected_leads(raw, now)
    assert expected, "the sandbox world has warm leads"
    leads = {(lead["identity_id"], lead["linkedin_profile_id"]): lead for lead in warm_leads}
    assert leads.keys() == expected.keys()
    for key, lead in leads.items():
        assert lead["kind_count"] == len(expected[key])
        assert {reason.split(" x")[0] for reason in lead["reasons"].split(", ")} == expected[key]
    for identity in {identity for identity, _ in leads}:
        ranks = sorted(lead["lead_rank"] for (i, _), lead in leads.items() if i == identity)
        assert ranks == list(range(1, len(ranks) + 1))


def without_invocation(rows: Rows) -> list[str]:
    return sorted(
        json.dumps({k: v for k, v in row.items() if k != "dbt_invocation_id"}, sort_keys=True)
        for row in rows
    )


def test_models_build_twice_incrementally_and_match_a_full_refresh(
    dbt_plugins: None, tmp_path: Path
) -> None:
    database = tmp_path / "edges.duckdb"
    env = project_env(
        tmp_path, TARGET_DUCKDB_FILEPATH=str(database), **dbt_env(tmp_path, "dbt-duckdb")
    )
    pipeline = ("tap-edges", "target-duckdb", "dbt-duckdb:build")
    meltano_dbt(env, *pipeline)
    first_build = check_build(tmp_path)
    raw, models = dump(database)
    check_models(raw, models)
    assert {e["dbt_invocation_id"] for e in models["engagements"]} == {first_build}
    before = engagement_ids(raw)

    assert grow_world(tmp_path, 3) > 0
    meltano_dbt(env, *pipeline)
    second_build = check_build(tmp_path)
    raw, models = dump(database)
    check_models(raw, models)
    new = engagement_ids(raw) - before
    assert new
    # The incremental build wrote exactly the new items and left the others alone.
    written = {
        e["engagement_id"] for e in models["engagements"] if e["dbt_invocation_id"] == second_build
    }
    assert written == new

    meltano_dbt(env, "dbt-duckdb:full-refresh")
    check_build(tmp_path)
    _, refreshed = dump(database)
    assert without_invocation(refreshed["engagements"]) == without_invocation(models["engagements"])


def test_models_build_empty_before_anything_is_loaded(dbt_plugins: None, tmp_path: Path) -> None:
    """A stream never loaded (no input configured, or no load yet) reads as an empty table."""
    database = tmp_path / "empty.duckdb"
    env = project_env(
        tmp_path, TARGET_DUCKDB_FILEPATH=str(database), **dbt_env(tmp_path, "dbt-duckdb")
    )
    meltano_dbt(env, "dbt-duckdb:build")
    check_build(tmp_path)
    raw, models = dump(database)
    assert raw == {}
    assert set(models) == {*MODELS, *STAGING}
    assert all(rows == [] for rows in models.values())


LOAD_LATE = """
import json, sys, duckdb
columns, rows = json.loads(sys.argv[2])
with duckdb.connect(sys.argv[1]) as db:
    db.execute("CREATE SCHEMA tap_edges")
    typed = ", ".join(f'"{column}" VARCHAR' for column in columns)
    db.execute(f"CREATE TABLE tap_edges.post_commenters_late ({typed})")
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO tap_edges.post_commenters_late VALUES ({marks})", rows)
"""
COUNT = """
import sys, duckdb
with duckdb.connect(sys.argv[1], read_only=True) as db:
    print(db.execute("SELECT count(*) FROM tap_edges.stg_post_commenters").fetchone()[0])
"""


def test_staging_reads_a_table_the_relation_cache_lacks(dbt_plugins: None, tmp_path: Path) -> None:
    """A staging model asks the database whether its table exists, not dbt's relation cache.

    dbt-adapters (1.24) fills its cache on a miss one relation at a time and counts the schema
    as cached from the first: a model compiled meanwhile on another thread saw the schema
    without its table, and built an empty staging view over a loaded table (seen twice in CI:
    a whole stream missing from engagements). Here the cache is made to lack the table for
    sure: the models build in the table's own schema, which dbt caches when it starts, and
    the table only takes its name after that (an on-run-start hook of a copy of transform/).
    The table has the tap's columns (its schema), all text, and three comments.
    """
    database = tmp_path / "edges.duckdb"
    columns = list(load_schema("post_commenters")["properties"])
    rows = [
        [
            {
                "identity_id": "11111111-1111-4111-8111-111111111111",
                "linkedin_comment_id": f"70000000000000000{n}",
                "linkedin_post_url": "https://www.linkedin.com/feed/update/urn:li:activity:1",
                "run_uid": "run-1",
                "extracted_at": "2026-11-30 12:00:00",
            }.get(column)
            for column in columns
        ]
        for n in range(3)
    ]
    python = str(plugin_python("utilities", "dbt-duckdb"))
    subprocess.run(
        [python, "-c", LOAD_LATE, str(database), json.dumps([columns, rows])],
        capture_output=True,
        text=True,
        check=True,
    )
    project = tmp_path / "transform"
    shutil.copytree(ROOT / "transform", project, ignore=shutil.ignore_patterns("target", "logs"))
    with (project / "dbt_project.yml").open("a", encoding="utf-8") as config:
        rename = "ALTER TABLE tap_edges.post_commenters_late RENAME TO post_commenters"
        config.write(f'\non-run-start:\n  - "{rename}"\n')
    build = subprocess.run(
        [
            str(Path(python).parent / "dbt"),
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project / "profiles"),
            "--target",
            "duckdb",
            "--target-path",
            str(tmp_path / "dbt-target"),
            "--log-path",
            str(tmp_path / "dbt-logs"),
            "--vars",
            json.dumps({"analytics_schema": "tap_edges"}),
            # The staging model and the tests on it alone (dbt still caches every schema).
            "--select",
            "stg_post_commenters",
            "--indirect-selection",
            "buildable",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TARGET_DUCKDB_FILEPATH": str(database)},
    )
    # holds_every_loaded_key fails the build when the view reads nothing of a loaded table.
    assert build.returncode == 0, build.stdout[-6000:]
    statuses = {r["unique_id"]: r["status"] for r in run_results(tmp_path)["results"]}
    assert statuses["model.tap_edges.stg_post_commenters"] == "success"
    tests = {uid: status for uid, status in statuses.items() if uid.startswith("test.")}
    assert any("holds_every_loaded_key" in uid for uid in tests), statuses
    assert set(tests.values()) == {"pass"}, tests
    count = subprocess.run(
        [python, "-c", COUNT, str(database)], capture_output=True, text=True, check=True
    )
    assert int(count.stdout) == len(rows)
