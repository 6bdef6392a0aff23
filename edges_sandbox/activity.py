"""The posts a profile published (``linkedin-extract-people-post-activity``).

An author's posts are seeded the first time the author is named (a run or ``publish_post``):
six posts published at the world's creation minus 1, 4, 9, 20, 45 and 80 days, of which the
third and the sixth (index 2 and 5) are reshares of someone else's post; ``publish_post`` adds
one published now. Authors are known by their profile handle (case-insensitive), so every
spelling of their profile URL names the same posts.

Each post's URL has the form the post actions take
(``https://www.linkedin.com/posts/{handle}_update-activity-{activity id}-{4 chars}``); its
reaction, comment and repost counts are the size of that post's likers, commenters and
reposters feed where the world has one (under that URL or its ``feed/update`` form), else the
size such a feed starts with.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import TYPE_CHECKING, Any

from edges_sandbox.catalog import ACTIONS, PROFILE_URL
from edges_sandbox.people import person, sentence, stable_int
from edges_sandbox.world import AuthoredPost

if TYPE_CHECKING:
    from edges_sandbox.generators import Record
    from edges_sandbox.world import World

DAY_MS = 86_400_000
SEEDED_DAYS = (1, 4, 9, 20, 45, 80)
RESHARES = frozenset({2, 5})
AUTHOR_BASE = 8_000_000_000  # below the shared audience, above no feed's member ids
ORIGINAL_BASE = 8_500_000_000  # the authors of the posts reshared
ID_SPAN = 500_000_000
ACTIVITY_BASE = 7_000_000_000_000_000_000  # 19-digit ids, as LinkedIn's activity ids
SANDBOX_HANDLE = re.compile(r"^([a-z]+)-([a-z]+)-\d+$")  # first-last-digits: sandbox people
SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
COUNTED = (
    ("reaction_count", "linkedin-extract-post-likers"),
    ("comment_count", "linkedin-extract-post-commenters"),
    ("repost_count", "linkedin-extract-post-reposters"),
)


def handle_of(profile_url: str) -> str:
    """The profile handle of a ``linkedin.com/in/<handle>`` URL (as written).

    Args:
        profile_url: The profile URL (validated by the launch).
    """
    found = PROFILE_URL.search(profile_url)
    return found.group(1) if found else profile_url


def author_posts(world: World, profile_url: str) -> list[AuthoredPost]:
    """Return an author's posts in publication order, seeding them the first time.

    Args:
        world: The world.
        profile_url: The author's profile URL.
    """
    key = handle_of(profile_url).lower()
    posts = world.authors.get(key)
    if posts is None:
        created = int(world.created_at * 1000)
        posts = [
            AuthoredPost(created - days * DAY_MS, index in RESHARES)
            for index, days in enumerate(SEEDED_DAYS)
        ]
        world.authors[key] = posts
    return posts


def publish(world: World, profile_url: str, now: float) -> str:
    """Add a post published now (the author's newest) and return its URL.

    Args:
        world: The world.
        profile_url: The author's profile URL.
        now: Current time (epoch seconds).
    """
    posts = author_posts(world, profile_url)
    posts.append(AuthoredPost(int(now * 1000), reshare=False))
    return str(post(world, profile_url, len(posts) - 1, now)["linkedin_post_url"])


def newest_first(posts: list[AuthoredPost]) -> list[int]:
    """The indexes of an author's posts, the most recently published first."""
    return sorted(range(len(posts)), key=lambda i: (posts[i].published_ms, i), reverse=True)


def post(
    world: World, profile_url: str, index: int, now: float, *, unchecked: bool = False
) -> Record:
    """One post of an author, as the action lists it now.

    Args:
        world: The world (post feeds named so far give the counts).
        profile_url: The author's profile URL.
        index: The post's index in the author's posts (publication order).
        now: Current time (epoch seconds); existing post feeds are caught up to it.
        unchecked: Give the author's recent-activity page as its URL (the
            ``activity_urls_unchecked`` variant does for every other post).
    """
    handle = handle_of(profile_url)
    key = handle.lower()
    published = world.authors[key][index]
    rng = random.Random(f"{world.seed}|{key}|post|{index}")  # noqa: S311 - fake data
    activity_id = _big_id(f"{world.seed}|{key}|{index}|activity")
    url = _post_url(handle, activity_id, rng)
    activity_author = author(handle)
    found: dict[str, Any] = {
        "linkedin_post_id": str(_big_id(f"{world.seed}|{key}|{index}|post")),
        "linkedin_activity_id": str(activity_id),
        "linkedin_post_url": url,
        "published_date": _date(published.published_ms),
        "content_text": sentence(rng, 12),
    }
    for field, slug in COUNTED:
        found[field] = _count(world, slug, (url, _feed_url(activity_id)), now)
    found |= {
        "linkedin_post_type": "reshare" if published.reshare else "original",
        "author": activity_author,
        "activity_author": activity_author,
        "source_post": None,
    }
    if published.reshare:
        # Someone else, shown as when that author is named: the id comes from the handle.
        original = person(ORIGINAL_BASE + stable_int(f"{key}|{index}|original") % ID_SPAN).handle
        found["author"] = author(original)
        original_id = _big_id(f"{world.seed}|{key}|{index}|original")
        found["source_post"] = {
            "linkedin_post_id": str(_big_id(f"{world.seed}|{key}|{index}|original-post")),
            "linkedin_post_url": _post_url(original, original_id, rng),
        }
    if unchecked:
        found["linkedin_post_url"] = f"https://www.linkedin.com/in/{handle}/recent-activity/all/"
    return found


def author(handle: str) -> dict[str, Any]:
    """The profile whose handle this is: names from a sandbox handle (``first-last-digits``).

    Args:
        handle: The profile handle.
    """
    profile_id = AUTHOR_BASE + stable_int(f"author|{handle.lower()}") % ID_SPAN
    named = SANDBOX_HANDLE.match(handle.lower())
    if named:
        first, last = named.group(1).capitalize(), named.group(2).capitalize()
    else:
        who = person(profile_id)
        first, last = who.first_name, who.last_name
    return _shown(profile_id, handle, first, last)


def _shown(profile_id: int, handle: str, first: str, last: str) -> dict[str, Any]:
    return {
        "linkedin_profile_id": profile_id,
        "linkedin_profile_url": f"https://www.linkedin.com/in/{handle}",
        "first_name": first,
        "last_name": last,
    }


def _count(world: World, slug: str, urls: tuple[str, ...], now: float) -> int:
    """The size of the post's feed of this action, or the size such a feed starts with."""
    kind = ACTIONS[slug]
    for url in urls:
        feed = world.feeds.get(kind.feed_key(None, url))
        if feed is not None:
            world.catch_up(feed, now)
            return feed.newest_seq
    return kind.initial_size


def _big_id(text: str) -> int:
    """A 19-digit id (as LinkedIn's activity and post ids), the same in every process."""
    return ACTIVITY_BASE + stable_int(text) * 1000 + stable_int(text + "|low") % 1000


def _post_url(handle: str, activity_id: int, rng: random.Random) -> str:
    suffix = "".join(rng.choice(SUFFIX_ALPHABET) for _ in range(4))
    return f"https://www.linkedin.com/posts/{handle}_update-activity-{activity_id}-{suffix}"


def _feed_url(activity_id: int) -> str:
    return f"https://www.linkedin.com/feed/update/urn:li:activity:{activity_id}/"


def _date(time_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%d")
