"""Which posts of a post activity listing the post streams follow this sync (pure).

A listed post is followed (its ``post_commenters``, ``post_likers`` and ``post_reposters``
partitions continued, or launched when new) while it was published within
``post_window_days``, originals only unless ``follow_reshares``. A post that leaves the window
is no longer continued; its bookmark stays in the state. Posts listed by hand in ``post_urls``
are followed for good.

Whether every URL the listing gives passes the post actions' URL check is not documented: a
listed URL that is not a post URL is replaced by the post's ``/feed/update/`` URL built from
its activity id, which the post actions take.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t

from tap_edges.checks import POST_URL_PATTERN as POST_URL
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    from collections.abc import Mapping

ACTIVITY = re.compile(r"activity[:-](\d{10,})")
FEED_URL = "https://www.linkedin.com/feed/update/urn:li:activity:{}/"


@dataclasses.dataclass(frozen=True)
class Post:
    """One post of a listing: the URL the post streams follow it by, and what decides it."""

    post_id: str
    url: str | None
    published: dt.date | None
    reshare: bool


def post_key(url: str) -> str:
    """What tells two URLs of one post apart from another's: its activity id, else the URL."""
    return activity_of(url) or url


def activity_of(url: str) -> str | None:
    """The activity id in a post URL, if it shows one."""
    found = ACTIVITY.search(url)
    return found.group(1) if found else None


def post_of(item: Mapping[str, t.Any]) -> Post | None:
    """A listing's item as a post; None when it has no id."""
    post_id = item.get("linkedin_post_id")
    if post_id is None or post_id == "":
        return None
    return Post(
        post_id=str(post_id),
        url=follow_url(item),
        published=_date(item.get("published_date")),
        reshare=str(item.get("linkedin_post_type") or "").lower() == "reshare",
    )


def follow_url(item: Mapping[str, t.Any]) -> str | None:
    """The URL the post streams take for a listed post (see the module docs)."""
    url = item.get("linkedin_post_url")
    if isinstance(url, str) and POST_URL.match(url):
        return url
    activity = item.get("linkedin_activity_id")
    if activity is not None and str(activity).isdigit():
        return FEED_URL.format(activity)
    return None


def _date(value: object) -> dt.date | None:
    if isinstance(value, str) and len(value) == len("2026-12-06"):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    moment = parse_time(value)
    return moment.date() if moment else None


def followed(post: Post, today: dt.date, window_days: int, *, reshares: bool) -> bool:
    """Whether the post streams follow this listed post this sync.

    Args:
        post: The post.
        today: Today (UTC).
        window_days: ``post_window_days``.
        reshares: ``follow_reshares``.

    Returns:
        True when it has a URL, is in the window and is an original (or reshares are followed).
    """
    if post.url is None or post.published is None or (post.reshare and not reshares):
        return False
    return post.published >= today - dt.timedelta(days=window_days)
