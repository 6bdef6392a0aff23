"""Input discovery through the tap's CLI on the sandbox: conversations → messages, posts → the
post streams, with no thread_urls and no post_urls in the config."""

from __future__ import annotations

import collections
import json
import typing as t

import pytest
from tapkit import OUTPUTS_MODES, api_config, partitions_of, run_tap, sends
from writeahead import Watch, runs_of, watched

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

IDENTITY = ENGAGEMENT_IDENTITY_IDS[0]
AUTHOR = "https://www.linkedin.com/in/ada-lovelace"
CONVERSATIONS = "linkedin-extract-conversations"
ACTIVITY = "linkedin-extract-people-post-activity"
MESSAGES = "linkedin-extract-messages"
POST_ACTIONS = (
    "linkedin-extract-post-commenters",
    "linkedin-extract-post-likers",
    "linkedin-extract-post-reposters",
)
# The sandbox's defaults: 8 seeded threads, the newest message of thread i 5i days old (so 6
# within the 30-day lookback); 6 posts per author, 1, 4, 9, 20, 45 and 80 days old, those of 9
# and 80 days reshares (so 3 originals within the 30-day window).
ACTIVE_THREADS = 6
POSTS_IN_WINDOW = 3
# The identity's own streams, one partition each, launched then continued every sync.
OWN = {"linkedin-extract-connections": 1, "linkedin-extract-profile-viewers": 1}


@pytest.fixture(params=OUTPUTS_MODES)
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    with (
        Sandbox(run_seconds=0.3, outputs_mode=request.param) as sb,
        watched(sb, tmp_path),  # the write-ahead rule, at every send
    ):
        yield sb


def discovering(sandbox: Sandbox, **overrides: t.Any) -> dict[str, t.Any]:
    """One identity, no listed URL: everything comes from the listings."""
    settings: dict[str, t.Any] = {
        "identity_ids": [IDENTITY],
        "thread_urls": [],
        "post_urls": [],
        "company_page_urls": [],
        "discover_threads": True,
        "discover_posts": True,
        "post_authors": [AUTHOR],
    }
    return api_config(sandbox, **{**settings, **overrides})


def delivered(sandbox: Sandbox, action: str) -> set[str]:
    """The ids of every item the runs of an action delivered so far."""
    key = {MESSAGES: "message_id", CONVERSATIONS: "linkedin_thread_id"}[action]
    return {
        str(item[key])
        for run in sandbox.backstage.runs()
        if run["action_name"] == action
        for iteration in sandbox.backstage.ground_truth(run["uid"])
        for item in iteration["delivered"]
    }


def test_two_syncs_follow_the_inbox_and_the_posts(sandbox: Sandbox, tmp_path: Path) -> None:
    config = discovering(sandbox)
    sandbox.requests.clear()
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    made = sends(sandbox)
    assert made["launch"] == {
        **OWN,
        CONVERSATIONS: 1,
        ACTIVITY: 1,
        MESSAGES: ACTIVE_THREADS,
        **dict.fromkeys(POST_ACTIONS, POSTS_IN_WINDOW),
    }
    assert not made["continue"]
    threads = {r["linkedin_thread_url"] for r in first.records("messages")}
    assert len(threads) == ACTIVE_THREADS
    assert {m["message_id"] for m in first.records("messages")} == delivered(sandbox, MESSAGES)
    assert len(first.records("conversations")) == 8  # the first sync emits the whole listing
    assert len(first.records("posts")) == 6
    followed = {r["followed_post_url"] for r in first.records("posts")} - {None}
    assert len(followed) == POSTS_IN_WINDOW
    for stream in ("post_commenters", "post_likers", "post_reposters"):
        assert {r["linkedin_post_url"] for r in first.records(stream)} == followed
    assert "Discovery: threads listed 8, active 6, new 6; posts listed 6, in window 3, new 3" in (
        first.stderr
    )

    new_thread = sandbox.backstage.start_conversation(IDENTITY)
    inbox = sandbox.backstage.inbox(IDENTITY)
    old = next(t["linkedin_thread_url"] for t in inbox if t["linkedin_thread_url"] in threads)
    sandbox.backstage.grow(1, action=MESSAGES, identity_id=IDENTITY, input=old)
    new_post = sandbox.backstage.publish_post(AUTHOR)
    before = delivered(sandbox, MESSAGES)
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    made = sends(sandbox)
    # four incremental launches besides the listings: the new thread, the new post x 3
    assert made["launch"] == {
        CONVERSATIONS: 1,
        ACTIVITY: 1,
        MESSAGES: 1,
        **dict.fromkeys(POST_ACTIONS, 1),
    }
    # one thread continued (the reply), no idle thread; the posts in the window continued
    assert made["continue"] == {**OWN, **dict.fromkeys(POST_ACTIONS, POSTS_IN_WINDOW), MESSAGES: 1}
    got = {m["message_id"] for m in second.records("messages")}
    assert got == delivered(sandbox, MESSAGES) - before
    assert {m["linkedin_thread_url"] for m in second.records("messages")} == {new_thread, old}
    moved = {c["linkedin_thread_url"] for c in second.records("conversations")}
    assert moved == {new_thread, old}
    posts = {p["linkedin_post_url"]: p for p in second.records("posts")}
    assert posts[new_post]["followed_post_url"] == new_post
    for stream in ("post_commenters", "post_likers", "post_reposters"):
        assert new_post in {r["linkedin_post_url"] for r in second.records(stream)}

    # the state grows with the followed partitions, not with the inbox
    partitions = partitions_of(second.last_state)
    assert len(partitions) == len(OWN) + 2 + (ACTIVE_THREADS + 1) + 3 * (POSTS_IN_WINDOW + 1)


def test_an_idle_inbox_costs_one_listing(sandbox: Sandbox, tmp_path: Path) -> None:
    config = discovering(sandbox, discover_posts=False)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert sends(sandbox) == {"launch": {CONVERSATIONS: 1}, "continue": OWN}
    assert not second.records("messages")
    assert not second.records("conversations")


def test_more_active_threads_than_the_listing_cap_are_all_read(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A full listing whose oldest entry is newer than the last sync is listed further."""
    config = discovering(sandbox, discover_posts=False, max_results_per_stream={"conversations": 2})
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert len({r["linkedin_thread_url"] for r in first.records("messages")}) == ACTIVE_THREADS
    started = [sandbox.backstage.start_conversation(IDENTITY) for _ in range(3)]
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert {r["linkedin_thread_url"] for r in second.records("messages")} == set(started)
    caps = [
        r["parameters"]["max_results"]
        for r in sandbox.backstage.runs()
        if r["action_name"] == CONVERSATIONS
    ]
    assert caps == [2, 8, 2, 8]  # each sync: full at 2, then listed with 4x the cap


def test_a_deselected_parent_still_feeds_its_children(sandbox: Sandbox, tmp_path: Path) -> None:
    config = discovering(sandbox, discover_posts=False)
    catalog = tmp_path / "catalog.json"
    discovered = run_tap(config, tmp_path, args=["--discover"])
    assert discovered.returncode == 0, discovered.stderr[-3000:]
    document = json.loads(discovered.stdout)
    for entry in document["streams"]:
        chosen = entry["tap_stream_id"] == "messages"
        for metadata in entry["metadata"]:
            if not metadata["breadcrumb"]:
                metadata["metadata"]["selected"] = chosen
    catalog.write_text(json.dumps(document), encoding="utf-8")
    run = run_tap(config, tmp_path, args=["--catalog", str(catalog)])
    assert run.returncode == 0, run.stderr[-3000:]
    assert not run.records("conversations")
    assert len({r["linkedin_thread_url"] for r in run.records("messages")}) == ACTIVE_THREADS


@pytest.mark.parametrize(
    "stream",
    ["conversations", "posts", "messages", "post_likers"],
)
def test_a_kill_at_a_listing_or_a_child_launch_pays_no_second_run(
    stream: str, tmp_path: Path
) -> None:
    """Killed right after Edges applied a listing's (or a discovered child's) launch: the next
    sync adopts that run and loses nothing."""
    with Sandbox(run_seconds=0.3) as sandbox:
        watch = Watch(sandbox, tmp_path)
        config = discovering(sandbox)
        killed = watch.run(config, kill_when=lambda s: s.kind == "launch" and s.stream == stream)
        assert watch.killed, killed.stderr[-3000:]
        assert watch.problems() == []
        state = killed.states[-1] if killed.states else None
        after = watch.run(config, state=state)
        assert after.returncode == 0, after.stderr[-3000:]
        assert watch.problems() == []
        assert "adopting run" in after.stderr
        # Each partition has one run in all, the listings included: what the killed sync
        # launched is adopted, and a listing it did not finish reading is read again, free.
        partitions = collections.Counter(
            (run.action_name, json.dumps(run.input, sort_keys=True))
            for run in sandbox.engine.runs.values()
        )
        assert set(partitions.values()) == {1}, partitions
        threads = {r["linkedin_thread_url"] for r in killed.records("messages")} | {
            r["linkedin_thread_url"] for r in after.records("messages")
        }
        assert len(threads) == ACTIVE_THREADS
        followed = {r["linkedin_post_url"] for r in after.records("post_likers")} | {
            r["linkedin_post_url"] for r in killed.records("post_likers")
        }
        assert len(followed) == POSTS_IN_WINDOW
        assert len(runs_of(sandbox, "conversations", IDENTITY)) == 1
        assert len(runs_of(sandbox, "posts", IDENTITY, linkedin_profile_url=AUTHOR)) == 1


def test_without_post_authors_the_identity_s_own_posts_are_followed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """linkedin-me tells the identity's profile once; the state keeps it for later syncs."""
    config = discovering(sandbox, post_authors=[], discover_threads=False)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    own = "https://www.linkedin.com/in/ada-lovelace"  # the sandbox's first identity's account
    assert {p["linkedin_profile_url"] for p in first.records("posts")} == {own}
    followed = {r["followed_post_url"] for r in first.records("posts")} - {None}
    assert len(followed) == POSTS_IN_WINDOW
    assert {r["linkedin_post_url"] for r in first.records("post_likers")} == followed
    assert first.last_state["bookmarks"]["_edges_api"]["profiles"] == {IDENTITY: own}
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    asked = [e for e in sandbox.requests.entries() if "linkedin-me" in e["path"]]
    assert asked == []  # known from the state
    off = run_tap({**config, "discover_posts": False}, tmp_path, state=second.last_state)
    assert off.returncode == 0, off.stderr[-3000:]
    assert not off.records("posts")
    assert not off.records("post_likers")


def test_a_reply_while_a_thread_s_first_run_is_read_is_read_next_sync(tmp_path: Path) -> None:
    """A sync that only reads a thread's earlier run (launched by a killed sync, before the
    reply) has not fetched the activity it listed: the next sync continues the thread."""
    with Sandbox(run_seconds=0.3) as sandbox:
        watch = Watch(sandbox, tmp_path)
        config = discovering(sandbox, discover_posts=False)
        killed = watch.run(
            config, kill_when=lambda s: s.kind == "launch" and s.stream == "messages"
        )
        assert watch.killed
        (uid,) = [u for u, r in sandbox.engine.runs.items() if r.action_name == MESSAGES]
        thread = sandbox.engine.runs[uid].input["linkedin_thread_url"]
        sandbox.backstage.grow(1, action=MESSAGES, identity_id=IDENTITY, input=thread)
        # Edges purged the killed sync's listing: the next sync lists anew, reply included.
        for uid, run in list(sandbox.engine.runs.items()):
            if run.action_name == "linkedin-extract-conversations":
                sandbox.backstage.purge_run(uid)
        reading = watch.run(config, state=killed.states[-1])
        assert reading.returncode == 0, reading.stderr[-3000:]
        assert "reading it" in reading.stderr
        before = delivered(sandbox, MESSAGES)
        after = watch.run(config, state=reading.last_state)
        assert after.returncode == 0, after.stderr[-3000:]
        fetched = {r["message_id"] for r in after.records("messages")}
        assert fetched == delivered(sandbox, MESSAGES) - before
        assert {r["linkedin_thread_url"] for r in after.records("messages")} == {thread}
        assert watch.problems() == []


@pytest.mark.parametrize(
    "variants",
    [
        ["activity_urls_unchecked", "conversations_unordered", "no_credits"],
        ["conversations_incremental", "credits_list", "no_extracted_at", "no_name"],
        [],
    ],
)
def test_discovery_in_the_worlds_the_docs_leave_open(variants: list[str], tmp_path: Path) -> None:
    """Listing order, listed post URLs the post actions refuse, credits told or not: the same
    threads and posts are followed, and a refused or odd credits answer fails nothing."""
    with Sandbox(run_seconds=0.3, variants=variants) as sandbox:
        config = discovering(sandbox)
        first = run_tap(config, tmp_path)
        assert first.returncode == 0, first.stderr[-3000:]
        assert len({r["linkedin_thread_url"] for r in first.records("messages")}) == ACTIVE_THREADS
        followed = {r["followed_post_url"] for r in first.records("posts")} - {None}
        assert len(followed) == POSTS_IN_WINDOW
        for stream in ("post_commenters", "post_likers", "post_reposters"):
            assert {r["linkedin_post_url"] for r in first.records(stream)} == followed
        if "activity_urls_unchecked" in variants:  # some rebuilt from their activity id
            assert any("/feed/update/urn:li:activity:" in url for url in followed)
        summary = next(line for line in first.stderr.splitlines() if "Sync summary" in line)
        if "no_credits" in variants:
            assert "credits: not told by Edges" in summary
        elif "credits_list" in variants:  # a list of workspaces, no consumption per action
            assert "credits: used this sync" in summary
            assert "by action" not in summary
        else:  # the paid listing and post actions, per action
            assert "by action: linkedin-extract-people-post-activity 6, " in summary


def test_a_thread_listed_by_hand_keeps_its_run_when_discovery_finds_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A state written before discovery (thread_urls only) goes on: the listed thread's run is
    continued, not relaunched, and the threads discovery finds are added."""
    inbox = sandbox.backstage.inbox(IDENTITY)
    listed = inbox[0]["linkedin_thread_url"]
    before = discovering(sandbox, thread_urls=[listed], discover_threads=False)
    old = run_tap({**before, "discover_posts": False}, tmp_path)
    assert old.returncode == 0, old.stderr[-3000:]
    (uid,) = {r["run_uid"] for r in old.records("messages")}
    sandbox.backstage.grow(1, action=MESSAGES, identity_id=IDENTITY, input=listed)
    now = run_tap({**before, "discover_threads": True, "discover_posts": False}, tmp_path,
                  state=old.last_state)  # fmt: skip
    assert now.returncode == 0, now.stderr[-3000:]
    runs = {r["linkedin_thread_url"]: r["run_uid"] for r in now.records("messages")}
    assert runs[listed] == uid  # continued
    assert len(runs) == ACTIVE_THREADS
    assert len(runs_of(sandbox, "messages", IDENTITY, linkedin_thread_url=listed)) == 1


def test_a_listing_edges_clamps_below_the_inbox_says_threads_may_be_missed(
    tmp_path: Path,
) -> None:
    """Edges runs the listing with a smaller cap than sent (80, not 100) and it comes back full:
    the tap cannot list further, and says so instead of taking it for the whole inbox."""
    with Sandbox(run_seconds=0.3, variants=["clamp_max_results"], inbox_threads=90) as sandbox:
        config = discovering(sandbox, discover_posts=False, thread_lookback_days=1000)
        run = run_tap(config, tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "the conversations listing is full at max_results 80" in run.stderr
        assert len({r["linkedin_thread_url"] for r in run.records("messages")}) == 80
