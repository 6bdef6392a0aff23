"""Contract tests of the discovery actions: an identity's conversations, a profile's posts.

Over real HTTP, on manual clocks: listing order and cap, ``read``, replies and new
conversations, the seeded inbox, post activity and its reshares, the variants of these
actions, and the three outputs modes.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
import requests
from sandboxkit import manual_clock_sandboxes

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, STANDARD_IDENTITY_ID, Sandbox
from edges_sandbox.catalog import POST_URL
from edges_sandbox.cli import build_parser
from edges_sandbox.clock import ManualClock
from edges_sandbox.generators import THREAD_ID
from edges_sandbox.settings import OUTPUTS_MODES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

RUN_SECONDS = 10.0
CONVERSATIONS = "linkedin-extract-conversations"
ACTIVITY = "linkedin-extract-people-post-activity"
MESSAGES = "linkedin-extract-messages"
LIKERS = "linkedin-extract-post-likers"
ENGAGED, OTHER = ENGAGEMENT_IDENTITY_IDS
AUTHOR = "https://www.linkedin.com/in/alice-martin-0123456/"
NAMED_THREAD = "https://www.linkedin.com/messaging/thread/2-YWJjZGVmZ2hpams==/"
DAY = 86_400.0
CONVERSATION_FIELDS = {
    "linkedin_thread_id", "linkedin_thread_url", "participants", "read", "unread_count",
    "total_received_messages", "created_at", "last_activity_at", "last_message", "sponsored",
}  # fmt: skip
PARTICIPANT_FIELDS = {
    "linkedin_profile_id", "sales_navigator_profile_id", "linkedin_profile_url", "first_name",
    "last_name", "job_title",
}  # fmt: skip
LAST_MESSAGE_FIELDS = {
    "delivered_at", "message_id", "content", "linkedin_profile_id", "first_name", "last_name",
    "attachments",
}  # fmt: skip
POST_FIELDS = {
    "linkedin_post_id", "linkedin_activity_id", "linkedin_post_url", "published_date",
    "content_text", "reaction_count", "comment_count", "repost_count", "linkedin_post_type",
    "author", "activity_author", "source_post",
}  # fmt: skip
PROFILE_FIELDS = {"linkedin_profile_id", "linkedin_profile_url", "first_name", "last_name"}


class Api:
    """A small client of one sandbox, with its manual clock."""

    def __init__(self, sandbox: Sandbox, clock: ManualClock, session: requests.Session) -> None:
        self.sandbox, self.clock, self.session = sandbox, clock, session
        self.base = sandbox.base_url
        self.started = clock()  # the world's creation

    def post_launch(self, action: str, **body: Any) -> requests.Response:
        return self.session.post(f"{self.base}/actions/{action}/run/async", json=body)

    def launch(self, action: str = CONVERSATIONS, **body: Any) -> str:
        if action == CONVERSATIONS:
            body.setdefault("identity_ids", [ENGAGED])
        elif action == ACTIVITY:
            body.setdefault("inputs", [{"linkedin_profile_url": AUTHOR}])
            body.setdefault("identity_ids", [ENGAGED])
        response = self.post_launch(action, **body)
        assert response.status_code == 201, response.text
        uid: str = response.json()["run_uid"]
        return uid

    def listed(self, action: str = CONVERSATIONS, **body: Any) -> list[dict[str, Any]]:
        """Launch a run, let it finish and read its items."""
        uid = self.launch(action, **body)
        self.clock.advance(RUN_SECONDS)
        assert self.run(uid)["status"] == "SUCCEEDED"
        return self.outputs(uid)

    def run(self, uid: str) -> dict[str, Any]:
        found: dict[str, Any] = self.session.get(f"{self.base}/runs/{uid}").json()
        return found

    def continue_(self, uid: str) -> requests.Response:
        return self.session.post(f"{self.base}/runs/{uid}/continue")

    def outputs(self, uid: str, limit: int = 500) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = f"{self.base}/runs/{uid}/outputs?limit={limit}"
        while url:
            response = self.session.get(url)
            assert response.status_code == 200, response.text
            items.extend(response.json())
            url = response.headers.get("X-Pagination-Next")
        return items

    def messages(self, thread_url: str, identity: str = ENGAGED) -> list[dict[str, Any]]:
        inputs = [{"linkedin_thread_url": thread_url}]
        return self.listed(MESSAGES, inputs=inputs, identity_ids=[identity])


@pytest.fixture
def world(http: requests.Session) -> Iterator[Callable[..., Api]]:
    """Start sandboxes (keyword arguments go to ``Sandbox``) on manual clocks."""
    yield from manual_clock_sandboxes(lambda sb, clock: Api(sb, clock, http), RUN_SECONDS)


def error_of(response: requests.Response, status: int, label: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["error_label"], body["status_code"]) == (label, status)
    message: str = body["message"]
    return message


def moment(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- conversations --------------------------------------------------------------------------


def test_the_inbox_lists_the_seeded_threads_most_recent_first(world: Callable[..., Api]) -> None:
    api = world()
    items = api.listed()
    assert len(items) == 8
    assert all(set(item) == CONVERSATION_FIELDS for item in items)  # no extracted_at either
    ages = [(api.started - moment(item["last_activity_at"])) / DAY for item in items]
    assert ages == pytest.approx([0, 5, 10, 15, 20, 25, 30, 35])  # thread i: 5 i days ago
    now = api.clock()  # after the world's creation: threads 0-5 within 30 days, 6-7 older
    assert [now - moment(item["last_activity_at"]) < 30 * DAY for item in items] == [True] * 6 + [
        False
    ] * 2
    for item in items:
        thread = item["linkedin_thread_id"]
        assert THREAD_ID.fullmatch(thread)
        assert thread.startswith("2-")
        assert thread.endswith("==")
        assert item["linkedin_thread_url"] == f"https://www.linkedin.com/messaging/thread/{thread}/"
        assert isinstance(item["total_received_messages"], str)
        assert int(item["total_received_messages"]) >= 3
        assert item["sponsored"] is False
        assert item["read"] is (item["unread_count"] == 0)
        assert moment(item["created_at"]) < moment(item["last_activity_at"])
        assert [set(one) for one in item["participants"]] == [PARTICIPANT_FIELDS] * 2
        assert all(isinstance(one["linkedin_profile_id"], int) for one in item["participants"])
        assert set(item["last_message"]) == LAST_MESSAGE_FIELDS
        assert item["last_message"]["delivered_at"] == item["last_activity_at"]
    assert [item["unread_count"] for item in items] == [0, 1, 0, 0, 2, 0, 0, 3]
    assert items == api.listed()  # deterministic, and nothing moved


def test_a_thread_s_messages_match_its_conversation(world: Callable[..., Api]) -> None:
    api = world()
    conversation = api.listed()[3]
    messages = api.messages(conversation["linkedin_thread_url"])
    assert str(len(messages)) == conversation["total_received_messages"]
    newest = messages[0]
    assert {name: newest[name] for name in LAST_MESSAGE_FIELDS} == conversation["last_message"]
    assert {newest["linkedin_thread_id"]} == {m["linkedin_thread_id"] for m in messages}
    assert newest["linkedin_thread_id"] == conversation["linkedin_thread_id"]
    senders = {m["linkedin_profile_id"] for m in messages}
    assert senders <= {one["linkedin_profile_id"] for one in conversation["participants"]}
    assert messages[-1]["delivered_at"] == conversation["created_at"]


def test_max_results_caps_the_listing_to_the_most_recent(world: Callable[..., Api]) -> None:
    api = world()
    every = api.listed()
    capped = api.listed(parameters={"max_results": 3})
    assert capped == every[:3]
    uid = api.launch(parameters={"max_results": 3})
    api.clock.advance(RUN_SECONDS)
    truth = api.sandbox.backstage.ground_truth(uid)[0]
    assert truth["delivered"] == capped
    assert [item["linkedin_thread_id"] for item in truth["dropped"]] == [
        item["linkedin_thread_id"] for item in every[3:]
    ]
    assert api.run(uid)["output_count"] == 3


def test_read_false_lists_only_unread_threads(world: Callable[..., Api]) -> None:
    api = world()
    unread = api.listed(parameters={"read": False})
    assert [item["unread_count"] for item in unread] == [1, 2, 3]
    assert all(item["read"] is False for item in unread)
    assert api.listed(parameters={"read": True}) == api.listed()
    refused = api.post_launch(CONVERSATIONS, identity_ids=[ENGAGED], parameters={"read": "no"})
    assert "parameters/read" in error_of(refused, 400, "BAD_PARAMETERS")


def test_a_reply_moves_the_thread_to_the_top(world: Callable[..., Api]) -> None:
    api = world()
    before = api.listed()
    quiet = before[5]
    api.clock.advance(60)
    api.sandbox.backstage.grow(
        1, action=MESSAGES, identity_id=ENGAGED, input=quiet["linkedin_thread_url"]
    )
    replied_at = api.clock()
    after = api.listed()
    top = after[0]
    assert top["linkedin_thread_id"] == quiet["linkedin_thread_id"]
    assert moment(top["last_activity_at"]) == pytest.approx(replied_at)
    assert top["last_message"] != quiet["last_message"]
    assert top["unread_count"] == quiet["unread_count"] + 1
    assert top["read"] is False
    total = int(quiet["total_received_messages"]) + 1
    assert top["total_received_messages"] == str(total)
    assert top["created_at"] == quiet["created_at"]
    assert after[1:] == before[:5] + before[6:]
    newest = api.messages(quiet["linkedin_thread_url"])[0]
    assert newest["message_id"] == top["last_message"]["message_id"]
    assert newest["delivered_at"] == top["last_activity_at"]


def test_start_conversation_adds_an_unread_thread_dated_now(world: Callable[..., Api]) -> None:
    api = world()
    api.clock.advance(DAY)
    url = api.sandbox.backstage.start_conversation(ENGAGED)
    assert THREAD_ID.search(url)
    top = api.listed()[0]
    assert top["linkedin_thread_url"] == url
    assert (top["unread_count"], top["total_received_messages"]) == (2, "2")
    assert moment(top["last_activity_at"]) == pytest.approx(api.started + DAY)
    assert len(api.messages(url)) == 2
    second = api.sandbox.backstage.start_conversation(ENGAGED)
    assert second != url
    inbox = api.sandbox.backstage.inbox(ENGAGED)
    assert len(inbox) == 10
    assert {url, second} <= {thread["linkedin_thread_url"] for thread in inbox}
    assert set(inbox[0]) == {
        "linkedin_thread_url", "linkedin_thread_id", "last_activity_at", "unread_count",
    }  # fmt: skip
    assert all(url not in t["linkedin_thread_url"] for t in api.sandbox.backstage.inbox(OTHER))
    with pytest.raises(ValueError, match="not found"):
        api.sandbox.backstage.start_conversation("no-such-identity")


def test_threads_named_by_runs_are_in_the_inbox(world: Callable[..., Api]) -> None:
    api = world()
    named = api.messages(NAMED_THREAD)
    items = api.listed()
    assert len(items) == 9
    found = [item for item in items if item["linkedin_thread_url"] == NAMED_THREAD]
    assert found
    assert found[0]["total_received_messages"] == str(len(named))
    assert found[0]["unread_count"] == 0
    other = api.listed(identity_ids=[OTHER])
    assert NAMED_THREAD not in {item["linkedin_thread_url"] for item in other}


def test_only_seeded_threads_0_and_1_grow(world: Callable[..., Api]) -> None:
    api = world(growth_per_minute=1.0)
    before = {t["linkedin_thread_id"]: t for t in api.sandbox.backstage.inbox(ENGAGED)}
    order = list(before)
    api.clock.advance(600)
    after = {t["linkedin_thread_id"]: t for t in api.sandbox.backstage.inbox(ENGAGED)}
    moved = [thread for thread in order if after[thread] != before[thread]]
    assert moved == order[:2]
    assert all(after[thread]["unread_count"] >= 9 for thread in moved)


def test_inbox_threads_setting_and_cli_flag(world: Callable[..., Api]) -> None:
    assert len(world(inbox_threads=3).listed()) == 3
    empty = world(inbox_threads=0)
    assert empty.listed() == []
    empty.messages(NAMED_THREAD)
    assert [item["linkedin_thread_url"] for item in empty.listed()] == [NAMED_THREAD]
    with pytest.raises(ValueError, match="inbox_threads"):
        Sandbox(inbox_threads=-1)
    parser = build_parser()
    assert parser.parse_args(["serve"]).inbox_threads == 8
    assert parser.parse_args(["serve", "--inbox-threads", "2"]).inbox_threads == 2


def test_seeded_thread_ids_depend_on_seed_and_identity(world: Callable[..., Api]) -> None:
    first = [t["linkedin_thread_id"] for t in world(seed=1).sandbox.backstage.inbox(ENGAGED)]
    again = [t["linkedin_thread_id"] for t in world(seed=1).sandbox.backstage.inbox(ENGAGED)]
    other = [t["linkedin_thread_id"] for t in world(seed=1).sandbox.backstage.inbox(OTHER)]
    seed = [t["linkedin_thread_id"] for t in world(seed=2).sandbox.backstage.inbox(ENGAGED)]
    assert first == again
    assert not set(first) & set(other)
    assert not set(first) & set(seed)


def test_conversations_launches_that_are_refused(world: Callable[..., Api]) -> None:
    api = world()
    incremental = {"sync_mode": "incremental"}
    refused = api.post_launch(CONVERSATIONS, identity_ids=[ENGAGED], parameters=incremental)
    message = error_of(refused, 400, "INCREMENTAL_NOT_SUPPORTED")
    assert CONVERSATIONS in message
    assert refused.json()["params"] == {"action_name": CONVERSATIONS}
    managed = api.post_launch(CONVERSATIONS, inputs=[{}], identity_mode="managed")
    assert "identity_mode managed" in error_of(managed, 400, "BAD_PARAMETERS")
    two = api.post_launch(CONVERSATIONS, identity_ids=[ENGAGED, OTHER])
    error_of(two, 400, "BAD_PARAMETERS")
    extra = api.post_launch(CONVERSATIONS, inputs=[{"thread": 1}], identity_ids=[ENGAGED])
    error_of(extra, 400, "BAD_INPUT")
    assert api.sandbox.backstage.runs() == []
    uid = api.launch(inputs=[{}])  # or no inputs at all (the default of Api.launch)
    assert api.run(uid)["action_id"] == 108
    api.clock.advance(RUN_SECONDS)
    assert "sync_mode incremental" in error_of(api.continue_(uid), 400, "BAD_PARAMETERS")


def test_conversations_incremental_continues_with_the_moved_threads(
    world: Callable[..., Api],
) -> None:
    api = world(variants=["conversations_incremental"])
    uid = api.launch(parameters={"sync_mode": "incremental"})
    api.clock.advance(RUN_SECONDS)
    first = api.outputs(uid)
    assert len(first) == 8
    assert api.continue_(uid).status_code == 200
    api.clock.advance(RUN_SECONDS)
    assert api.run(uid)["status"] == "SUCCEEDED"
    assert api.outputs(uid) == first  # nothing moved
    replied = first[6]["linkedin_thread_url"]
    api.sandbox.backstage.grow(2, action=MESSAGES, identity_id=ENGAGED, input=replied)
    api.clock.advance(60)
    started = api.sandbox.backstage.start_conversation(ENGAGED)
    assert api.continue_(uid).status_code == 200
    api.clock.advance(RUN_SECONDS)
    moved = api.outputs(uid)[8:]
    assert [item["linkedin_thread_url"] for item in moved] == [started, replied]
    assert api.run(uid)["output_count"] == 10
    truth = api.sandbox.backstage.ground_truth(uid)
    assert [len(it["delivered"]) for it in truth] == [8, 0, 2]
    standard = api.launch(
        identity_ids=[STANDARD_IDENTITY_ID], parameters={"sync_mode": "incremental"}
    )
    api.clock.advance(RUN_SECONDS)
    assert "engagement identity" in error_of(api.continue_(standard), 400, "BAD_PARAMETERS")
    api.sandbox.settings.variants = []  # the reading changes: the run cannot go on
    assert CONVERSATIONS in error_of(api.continue_(uid), 400, "INCREMENTAL_NOT_SUPPORTED")


def test_conversations_unordered_lists_the_oldest_thread_first(
    world: Callable[..., Api],
) -> None:
    ordered = world().listed()
    api = world(variants=["conversations_unordered"])
    unordered = api.listed()
    assert sorted(unordered, key=lambda item: item["linkedin_thread_id"]) == sorted(
        ordered, key=lambda item: item["linkedin_thread_id"]
    )
    created = [moment(item["created_at"]) for item in unordered]
    assert created == sorted(created)
    assert unordered[0] == ordered[-1]
    capped = api.listed(parameters={"max_results": 3})
    assert capped == unordered[:3]
    assert ordered[0] not in capped  # not the most recent


# --- people post activity -------------------------------------------------------------------


def test_post_activity_lists_the_author_s_posts_newest_first(world: Callable[..., Api]) -> None:
    api = world()
    posts = api.listed(ACTIVITY)
    assert len(posts) == 6
    assert all(set(post) == POST_FIELDS for post in posts)  # no extracted_at either
    days = [
        (
            api.started
            - dt.datetime.fromisoformat(p["published_date"] + "T00:00:00+00:00").timestamp()
        )
        / DAY
        for p in posts
    ]
    assert days == sorted(days)
    assert [p["linkedin_post_type"] for p in posts] == ["original"] * 2 + ["reshare"] + [
        "original"
    ] * 2 + ["reshare"]
    for post in posts:
        assert POST_URL.search(post["linkedin_post_url"])
        assert len(post["linkedin_activity_id"]) == 19
        assert post["linkedin_activity_id"].isdigit()
        assert post["linkedin_post_id"].isdigit()
        assert post["linkedin_activity_id"] in post["linkedin_post_url"]
        assert "/posts/alice-martin-0123456_update-activity-" in post["linkedin_post_url"]
        assert (post["reaction_count"], post["comment_count"], post["repost_count"]) == (70, 40, 12)
        assert set(post["activity_author"]) == PROFILE_FIELDS
        assert post["activity_author"]["linkedin_profile_url"] == AUTHOR.rstrip("/")
        assert (post["activity_author"]["first_name"], post["activity_author"]["last_name"]) == (
            "Alice",
            "Martin",
        )
        if post["linkedin_post_type"] == "original":
            assert post["source_post"] is None
            assert post["author"] == post["activity_author"]
        else:
            assert set(post["author"]) == PROFILE_FIELDS
            assert post["author"] != post["activity_author"]
            assert set(post["source_post"]) == {"linkedin_post_id", "linkedin_post_url"}
            assert POST_URL.search(post["source_post"]["linkedin_post_url"])
    assert api.listed(ACTIVITY, parameters={"max_results": 4}) == posts[:4]
    same = {"linkedin_profile_url": "https://www.linkedin.com/in/Alice-Martin-0123456"}
    assert [p["linkedin_post_id"] for p in api.listed(ACTIVITY, inputs=[same])] == [
        p["linkedin_post_id"] for p in posts
    ]


def test_post_activity_counts_follow_the_post_feeds(world: Callable[..., Api]) -> None:
    api = world()
    post = api.listed(ACTIVITY)[1]
    inputs = [{"linkedin_post_url": post["linkedin_post_url"]}]
    likers = api.listed(LIKERS, inputs=inputs, identity_ids=[ENGAGED])
    assert len(likers) == post["reaction_count"]
    api.sandbox.backstage.grow(5, action=LIKERS, input=post["linkedin_post_url"])
    assert api.listed(ACTIVITY)[1]["reaction_count"] == 75


def test_post_activity_runs_managed_and_refuses_incremental(world: Callable[..., Api]) -> None:
    api = world()
    managed = api.launch(ACTIVITY, identity_mode="managed", identity_ids=[])
    api.clock.advance(RUN_SECONDS)
    assert api.run(managed)["action_id"] == 109
    assert len(api.outputs(managed)) == 6
    incremental = api.post_launch(
        ACTIVITY,
        inputs=[{"linkedin_profile_url": AUTHOR}],
        identity_ids=[ENGAGED],
        parameters={"sync_mode": "incremental"},
    )
    assert ACTIVITY in error_of(incremental, 400, "INCREMENTAL_NOT_SUPPORTED")
    for bad in ("https://www.linkedin.com/company/acme/", "https://www.linkedin.com/in/"):
        refused = api.post_launch(
            ACTIVITY, inputs=[{"linkedin_profile_url": bad}], identity_ids=[ENGAGED]
        )
        assert "linkedin_profile_url" in error_of(refused, 400, "BAD_INPUT")
    assert error_of(api.continue_(managed), 400, "BAD_PARAMETERS")


def test_publish_post_adds_the_newest_post(world: Callable[..., Api]) -> None:
    api = world()
    before = api.listed(ACTIVITY)
    api.clock.advance(2 * DAY)
    url = api.sandbox.backstage.publish_post(AUTHOR)
    assert POST_URL.search(url)
    after = api.listed(ACTIVITY)
    assert after[1:] == before
    assert after[0]["linkedin_post_url"] == url
    assert after[0]["linkedin_post_type"] == "original"
    today = dt.datetime.fromtimestamp(api.clock(), tz=dt.timezone.utc).strftime("%Y-%m-%d")
    assert after[0]["published_date"] == today
    other = "https://www.linkedin.com/in/someone-else"
    new_author = api.sandbox.backstage.publish_post(other)
    listed = api.listed(ACTIVITY, inputs=[{"linkedin_profile_url": other}])
    assert (len(listed), listed[0]["linkedin_post_url"]) == (7, new_author)
    with pytest.raises(ValueError, match="profile URL"):
        api.sandbox.backstage.publish_post("https://www.linkedin.com/company/acme/")


def test_activity_urls_unchecked_gives_recent_activity_pages(world: Callable[..., Api]) -> None:
    plain = world().listed(ACTIVITY)
    api = world(variants=["activity_urls_unchecked"])
    posts = api.listed(ACTIVITY)
    activity_page = "https://www.linkedin.com/in/alice-martin-0123456/recent-activity/all/"
    unchecked = [p for p in posts if p["linkedin_post_url"] == activity_page]
    assert len(unchecked) == 3
    for post, base in zip(posts, plain, strict=True):
        assert post["linkedin_activity_id"] == base["linkedin_activity_id"]
        if post["linkedin_post_url"] == activity_page:
            continue
        assert post == base
    refused = api.post_launch(
        LIKERS, inputs=[{"linkedin_post_url": activity_page}], identity_ids=[ENGAGED]
    )
    error_of(refused, 400, "BAD_INPUT")
    rebuilt = f"https://www.linkedin.com/feed/update/urn:li:activity:{unchecked[0]['linkedin_activity_id']}/"
    likers = api.listed(LIKERS, inputs=[{"linkedin_post_url": rebuilt}], identity_ids=[ENGAGED])
    api.sandbox.backstage.grow(1, action=LIKERS, input=rebuilt)
    counted = [
        p
        for p in api.listed(ACTIVITY)
        if p["linkedin_activity_id"] == unchecked[0]["linkedin_activity_id"]
    ]
    assert counted[0]["reaction_count"] == len(likers) + 1


# --- control routes, outputs modes, persistence ---------------------------------------------


def test_control_routes_publish_posts_and_start_conversations(world: Callable[..., Api]) -> None:
    api = world()
    control = api.base.removesuffix("/v1") + "/_sandbox"
    published = requests.post(f"{control}/publish-post", json={"author_url": AUTHOR}, timeout=5)
    assert published.status_code == 200
    assert api.listed(ACTIVITY)[0]["linkedin_post_url"] == published.json()["linkedin_post_url"]
    started = requests.post(
        f"{control}/start-conversation", json={"identity_id": ENGAGED}, timeout=5
    )
    assert started.status_code == 200
    assert api.listed()[0]["linkedin_thread_url"] == started.json()["linkedin_thread_url"]
    for route, body in (
        ("publish-post", {"author_url": "https://example.com/x"}),
        ("publish-post", {"url": AUTHOR}),
        ("start-conversation", {"identity_id": "nope"}),
        ("start-conversation", {}),
    ):
        answer = requests.post(f"{control}/{route}", json=body, timeout=5)
        assert answer.status_code == 400, route
        assert answer.json()["error_label"] == "BAD_INPUT"


@pytest.mark.parametrize("mode", OUTPUTS_MODES)
def test_the_discovery_actions_in_each_outputs_mode(world: Callable[..., Api], mode: str) -> None:
    api = world(outputs_mode=mode, variants=["conversations_incremental"])
    posts = api.listed(ACTIVITY, parameters={"max_results": 5})
    assert len(posts) == 5
    uid = api.launch(parameters={"sync_mode": "incremental", "max_results": 5})
    api.clock.advance(RUN_SECONDS)
    first = api.outputs(uid)
    assert len(first) == 5
    started = api.sandbox.backstage.start_conversation(ENGAGED)
    api.continue_(uid)
    api.clock.advance(0.5 * RUN_SECONDS)  # the continued iteration is running
    assert api.outputs(uid) == first
    api.clock.advance(0.5 * RUN_SECONDS)
    truth = api.sandbox.backstage.ground_truth(uid)
    assert [item["linkedin_thread_url"] for item in truth[1]["delivered"]] == [started]
    expected = {
        "cumulative": first + truth[1]["delivered"],
        "cumulative-newest": truth[1]["delivered"] + first,
        "latest": truth[1]["delivered"],
    }[mode]
    assert api.outputs(uid, limit=2) == expected


def test_the_discovery_actions_under_type_drift(world: Callable[..., Api]) -> None:
    api = world(variants=["type_drift"])
    for action in (CONVERSATIONS, ACTIVITY):
        uid = api.launch(action)
        api.clock.advance(RUN_SECONDS)
        items = api.outputs(uid, limit=3)
        assert items == api.sandbox.backstage.ground_truth(uid)[0]["delivered"]
        assert any("edges_meta" in item for item in items)


def test_the_inbox_and_the_authors_survive_a_restart(
    tmp_path: Path, http: requests.Session
) -> None:
    state, clock = tmp_path / "sandbox.json", ManualClock()
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as first:
        api = Api(first, clock, http)
        started = first.backstage.start_conversation(ENGAGED)
        published = first.backstage.publish_post(AUTHOR)
        conversations, posts = api.listed(), api.listed(ACTIVITY)
    clock.advance(DAY)
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as second:
        api = Api(second, clock, http)
        assert api.listed() == conversations
        assert api.listed(ACTIVITY) == posts
        assert second.backstage.start_conversation(ENGAGED) != started
        assert second.backstage.publish_post(AUTHOR) != published
        assert len(api.listed()) == 10
        assert len(api.listed(ACTIVITY)) == 8
