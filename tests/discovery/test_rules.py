"""The discovery rules, pure: which threads are read, when a listing is listed further, which
posts are followed and by which URL."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_edges.discovery.posts import Post, follow_url, followed, post_of
from tap_edges.discovery.threads import (
    Followed,
    Thread,
    lists_further,
    thread_id_of,
    thread_of,
    to_read,
)

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.timezone.utc)
SINCE = NOW - dt.timedelta(days=30)
URL = "https://www.linkedin.com/messaging/thread/{}/"


def at(days_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days_ago)


def thread(tid: str, days_ago: float | None) -> Thread:
    return Thread(tid, URL.format(tid), None if days_ago is None else at(days_ago))


@pytest.mark.parametrize(
    ("listed", "followed", "read"),
    [
        # new to the tap: read when active within the lookback, else left alone
        ([thread("2-a==", 1)], {}, ["2-a=="]),
        ([thread("2-a==", 45)], {}, []),
        ([thread("2-a==", None)], {}, []),
        # followed: read when its activity moved past what its run was last started for
        ([thread("2-a==", 1)], {"2-a==": Followed("u", at(2), unsettled=False)}, ["2-a=="]),
        ([thread("2-a==", 2)], {"2-a==": Followed("u", at(2), unsettled=False)}, []),
        ([thread("2-a==", 45)], {"2-a==": Followed("u", at(50), unsettled=False)}, ["2-a=="]),
        # ... or when a launch or continue of it is pending (its batch is read, not lost)
        ([thread("2-a==", 2)], {"2-a==": Followed("u", at(2), unsettled=True)}, ["2-a=="]),
        # listed by hand, never seen by discovery: read (it is read every sync anyway)
        ([thread("2-a==", 45)], {"2-a==": Followed("u", None, unsettled=False)}, ["2-a=="]),
        # a thread listed twice is read once
        ([thread("2-a==", 1), thread("2-a==", 1)], {}, ["2-a=="]),
    ],
)
def test_to_read(listed: list[Thread], followed: dict[str, Followed], read: list[str]) -> None:
    assert [th.thread_id for th in to_read(listed, followed, SINCE)] == read


@pytest.mark.parametrize(
    ("ages", "cap", "threshold_days", "further"),
    [
        ([1, 2, 3], 4, 10, False),  # not full: the whole inbox
        ([1, 2, 3], 3, 10, True),  # full, oldest newer than the last listing: more may hide
        ([1, 2, 12], 3, 10, False),  # full, but it reaches back past the last listing
        ([1, 12, 2], 3, 10, True),  # full and not most recent first: anything may hide
        ([1, None, 2], 3, 10, True),  # an undated entry: nothing says what was left out
    ],
)
def test_lists_further(
    ages: list[float | None], cap: int, threshold_days: float, further: bool
) -> None:
    threads = [thread(f"2-{i}==", age) for i, age in enumerate(ages)]
    assert lists_further(threads, cap, at(threshold_days)) is further


def test_a_thread_is_read_from_its_id_or_its_url() -> None:
    assert thread_id_of("https://www.linkedin.com/messaging/thread/2-YWJj==/") == "2-YWJj=="
    assert thread_id_of("2-YWJj==") == "2-YWJj=="
    assert thread_id_of("https://www.linkedin.com/in/someone/") is None
    found = thread_of(
        {"linkedin_thread_id": "2-YWJj==", "last_activity_at": "2026-12-01T00:00:00Z"}
    )
    assert found == Thread(
        "2-YWJj==", URL.format("2-YWJj=="), dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    )
    # a URL that names another thread is not trusted: the URL is built from the id
    other = thread_of(
        {"linkedin_thread_id": "2-YWJj==", "linkedin_thread_url": URL.format("2-eHl6==")}
    )
    assert other is not None
    assert other.url == URL.format("2-YWJj==")
    assert thread_of({"linkedin_thread_url": URL.format("2-eHl6==")}) == Thread(
        "2-eHl6==", URL.format("2-eHl6=="), None
    )
    assert thread_of({"participants": []}) is None


POST = "https://www.linkedin.com/posts/ada_update-activity-7200000000000000123-abcd"


@pytest.mark.parametrize(
    ("item", "url"),
    [
        ({"linkedin_post_url": POST}, POST),
        ({"linkedin_post_url": "https://www.linkedin.com/feed/update/urn:li:activity:7200000000000000123/"},
         "https://www.linkedin.com/feed/update/urn:li:activity:7200000000000000123/"),
        # a URL the post actions would refuse: the feed URL of its activity instead
        ({"linkedin_post_url": "https://www.linkedin.com/in/ada/recent-activity/all/",
          "linkedin_activity_id": "7200000000000000123"},
         "https://www.linkedin.com/feed/update/urn:li:activity:7200000000000000123/"),
        ({"linkedin_post_url": None, "linkedin_activity_id": 7200000000000000123},
         "https://www.linkedin.com/feed/update/urn:li:activity:7200000000000000123/"),
        ({"linkedin_post_url": "https://www.linkedin.com/in/ada/recent-activity/all/"}, None),
    ],
)  # fmt: skip
def test_follow_url(item: dict[str, object], url: str | None) -> None:
    assert follow_url(item) == url


TODAY = NOW.date()


@pytest.mark.parametrize(
    ("post", "reshares", "followed_"),
    [
        (Post("1", POST, TODAY - dt.timedelta(days=30), reshare=False), False, True),
        (Post("1", POST, TODAY - dt.timedelta(days=31), reshare=False), False, False),
        (Post("1", POST, TODAY, reshare=True), False, False),
        (Post("1", POST, TODAY, reshare=True), True, True),
        (Post("1", None, TODAY, reshare=False), False, False),
        (Post("1", POST, None, reshare=False), False, False),
    ],
)
def test_followed_posts(post: Post, reshares: bool, followed_: bool) -> None:
    assert followed(post, TODAY, 30, reshares=reshares) is followed_


def test_post_of_reads_dates_and_types() -> None:
    post = post_of(
        {"linkedin_post_id": 7, "linkedin_post_url": POST, "published_date": "2026-12-01",
         "linkedin_post_type": "Reshare"}
    )  # fmt: skip
    assert post == Post("7", POST, dt.date(2026, 12, 1), reshare=True)
    timed = post_of({"linkedin_post_id": "8", "published_date": "2026-12-01T10:00:00Z"})
    assert timed is not None
    assert timed.published == dt.date(2026, 12, 1)
    assert post_of({"linkedin_post_url": POST}) is None
