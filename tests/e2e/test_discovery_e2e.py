"""Input discovery through ``meltano run`` (the `prod` environment: a real API URL, here the
sandbox's, started by the test so that its requests can be counted per endpoint), with no
thread_urls and no post_urls: what two loads into DuckDB hold, and what the second one cost."""

from __future__ import annotations

import json
import os
import subprocess
import typing as t

import pytest
from meltanokit import install_plugins, meltano_run, plugin_python, system_dir
from tapkit import sends

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

IDENTITY = ENGAGEMENT_IDENTITY_IDS[0]
OWN_PROFILE = "https://www.linkedin.com/in/ada-lovelace"  # the identity's, by linkedin-me
MESSAGES = "linkedin-extract-messages"
LISTINGS = ("linkedin-extract-conversations", "linkedin-extract-people-post-activity")
POST_ACTIONS = (
    "linkedin-extract-post-commenters",
    "linkedin-extract-post-likers",
    "linkedin-extract-post-reposters",
)
DUMP = """
import json, sys, duckdb
with duckdb.connect(sys.argv[1], read_only=True) as db:
    out = {}
    for (name,) in db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tap_edges'"
    ).fetchall():
        cursor = db.execute(f'SELECT * FROM tap_edges."{name}"')
        columns = [d[0] for d in cursor.description]
        out[name] = [dict(zip(columns, row)) for row in cursor.fetchall()]
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def plugins(session_dir: Path) -> None:
    install_plugins(session_dir, "tap-edges", "target-duckdb")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.5) as sb:
        yield sb


def environment(sandbox: Sandbox, workdir: Path) -> dict[str, str]:
    """The `prod` environment against the sandbox's URL: one identity, no URL of any input."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TAP_EDGES", "MELTANO_"))},
        "MELTANO_SYS_DIR_ROOT": str(system_dir(workdir)),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_EDGES_API_URL": sandbox.base_url,
        "TAP_EDGES_API_KEY": sandbox.api_key,
        "TAP_EDGES_IDENTITY_IDS": json.dumps([IDENTITY]),
        "TAP_EDGES_POLL_INTERVAL_SECONDS": "1",
        "TAP_EDGES_RUNS_REQUESTS_PER_MINUTE": "6000",
        "TARGET_DUCKDB_FILEPATH": str(workdir / "edges.duckdb"),
    }


def tables(workdir: Path) -> dict[str, list[dict[str, t.Any]]]:
    done = subprocess.run(
        [str(plugin_python("loaders", "target-duckdb")), "-c", DUMP, str(workdir / "edges.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, list[dict[str, t.Any]]] = json.loads(done.stdout)
    return found


def delivered(sandbox: Sandbox, action: str, key: str) -> set[str]:
    """The ids of every item the runs of an action delivered so far."""
    return {
        str(item[key])
        for uid, run in sandbox.engine.runs.items()
        if run.action_name == action
        for iteration in sandbox.backstage.ground_truth(uid)
        for item in iteration["delivered"]
    }


def test_meltano_run_follows_the_inbox_and_the_posts_without_urls(
    plugins: None, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = environment(sandbox, tmp_path)
    meltano_run("target-duckdb", env)
    first = tables(tmp_path)
    threads = {row["linkedin_thread_url"] for row in first["messages"]}
    assert len(threads) == 6  # the sandbox's inbox: 6 of 8 threads active within 30 days
    assert {row["message_id"] for row in first["messages"]} == delivered(
        sandbox, MESSAGES, "message_id"
    )
    assert len(first["conversations"]) == 8
    followed = {row["followed_post_url"] for row in first["posts"]} - {None}
    assert len(followed) == 3  # the own profile's originals within 30 days
    assert {row["linkedin_profile_url"] for row in first["posts"]} == {OWN_PROFILE}
    for stream in ("post_commenters", "post_likers", "post_reposters"):
        assert {row["linkedin_post_url"] for row in first[stream]} == followed, stream

    new_thread = sandbox.backstage.start_conversation(IDENTITY)
    replied = min(threads)
    sandbox.backstage.grow(1, action=MESSAGES, identity_id=IDENTITY, input=replied)
    new_post = sandbox.backstage.publish_post(OWN_PROFILE)
    before = delivered(sandbox, MESSAGES, "message_id")
    sandbox.requests.clear()
    meltano_run("target-duckdb", env)
    made = sends(sandbox)
    # Besides the two listings (and the connections and profile viewers the identity has),
    # four incremental launches: the new thread, and the new post for each post stream.
    launched = {a: n for a, n in made["launch"].items() if a not in LISTINGS}
    assert launched == {MESSAGES: 1, **dict.fromkeys(POST_ACTIONS, 1)}
    assert {a: made["launch"][a] for a in LISTINGS} == dict.fromkeys(LISTINGS, 1)
    # One thread continued (the reply); no request at all for the 5 idle ones.
    assert made["continue"][MESSAGES] == 1
    continued = {
        entry["path"].split("/")[-2]
        for entry in sandbox.requests.entries()
        if entry["path"].endswith("/continue")
    }
    thread_of = {
        uid: run.input.get("linkedin_thread_url")
        for uid, run in sandbox.engine.runs.items()
        if run.action_name == MESSAGES
    }
    assert {thread_of[uid] for uid in continued if uid in thread_of} == {replied}
    touched = {
        thread_of[uid]
        for entry in sandbox.requests.entries()
        for uid in thread_of
        if uid in entry["path"] or uid in json.dumps(entry.get("query", {}))
    }
    assert touched <= {replied, new_thread}  # no poll, output or continue for an idle thread

    second = tables(tmp_path)
    new = delivered(sandbox, MESSAGES, "message_id") - before
    assert len(new) == 3  # the new thread's 2, the reply
    assert {row["message_id"] for row in second["messages"]} == before | new
    assert len(second["conversations"]) == 9
    posts = {row["linkedin_post_url"]: row for row in second["posts"]}
    assert posts[new_post]["followed_post_url"] == new_post
    for stream in ("post_commenters", "post_likers", "post_reposters"):
        assert new_post in {row["linkedin_post_url"] for row in second[stream]}, stream
