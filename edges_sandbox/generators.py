"""One item generator per Edges action: the output records of the simulated LinkedIn world.

Each generator turns an :class:`ItemContext` (a seeded random generator, the item's sequence
number and time, the feed it belongs to) into one output record with the fields documented for
that action. Records are deterministic for a given seed, feed and sequence number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edges_sandbox.people import (
    COMPANIES,
    DEGREES,
    TITLES,
    iso_ms,
    maybe,
    person,
    post_id,
    sentence,
)

if TYPE_CHECKING:
    import random

Record = dict[str, Any]
THREAD_ID = re.compile(r"(?:(?<=thread/)|^)\d.+?==")  # Edges: (?<=thread\/|^)\d.+?==
ID_BLOCK = 1_000_000
# Every AUDIENCE_EVERY-th item of a feed is by a member of one shared audience (the same
# person at the same position of every feed), so people show up in several streams: they
# view the profile, comment, like and repost, as real engaged people do. Connections take
# only every other audience member, so some engaged people are connections and some are not.
AUDIENCE_EVERY = 4
AUDIENCE_BASE = 9_000_000_000  # below every feed's ids (feed numbers start at 10_000)
PRIVATE_VIEWER_RATE = 0.12
ATTACHMENT_RATE = 0.1


@dataclass(frozen=True)
class ItemContext:
    """Everything a generator may use to build one item.

    Attributes:
        rng: Random generator seeded from (world seed, feed, seq).
        seq: 1-based position of the item in its feed (higher = newer).
        time_ms: The item's time in epoch milliseconds (strictly increasing within a feed).
        feed_number: A stable number identifying the feed (used to build unique ids).
        identity_id: The identity of the feed, for identity-scoped feeds.
        input_value: The feed's input value (post, thread or company page URL), when the action
            has one.
    """

    rng: random.Random
    seq: int
    time_ms: int
    feed_number: int
    identity_id: str | None
    input_value: str | None

    @property
    def member_id(self) -> int:
        """A LinkedIn member id unique to this item within its feed.

        Every ``AUDIENCE_EVERY``-th item is by the shared audience member of that position,
        the others by a member of this feed only.
        """
        if self.seq % AUDIENCE_EVERY == 0:
            return AUDIENCE_BASE + self.seq // AUDIENCE_EVERY
        return self.feed_number * ID_BLOCK + self.seq

    @property
    def connection_id(self) -> int:
        """Like :attr:`member_id`, with only the even audience members (odd ones never are)."""
        if self.seq % (2 * AUDIENCE_EVERY) == 0:
            return self.member_id
        return self.feed_number * ID_BLOCK + self.seq

    @property
    def big_id(self) -> int:
        """A 19-digit LinkedIn-style id (comments, reposts) unique to this item."""
        return 7_000_000_000_000_000_000 + self.feed_number * 10 * ID_BLOCK + self.seq


def connection(ctx: ItemContext) -> Record:
    """One 1st-degree connection (``linkedin-extract-connections``)."""
    who = person(ctx.connection_id)
    return {
        "connected_at": iso_ms(ctx.time_ms),
        "first_name": who.first_name,
        "last_name": who.last_name,
        "full_name": who.full_name,
        "job_title": maybe(ctx.rng, ctx.rng.choice(TITLES)),
        "linkedin_profile_handle": who.handle,
        "linkedin_profile_url": who.url,
        "linkedin_profile_id": who.profile_id,
        "profile_image_url": maybe(ctx.rng, who.image_url),
        "sales_navigator_profile_id": maybe(ctx.rng, who.sn_id),
    }


def message(ctx: ItemContext) -> Record:
    """One message of a conversation thread (``linkedin-extract-messages``)."""
    found = THREAD_ID.search(ctx.input_value or "")
    thread_id = found.group(0) if found else ""
    who = person(ctx.feed_number * ID_BLOCK + ctx.rng.choice((1, 2)))
    attachments = (
        [{"type": "image", "errorMessage": ""}] if ctx.rng.random() < ATTACHMENT_RATE else []
    )
    return {
        "linkedin_thread_id": thread_id,
        "position": ctx.seq,
        "delivered_at": iso_ms(ctx.time_ms),
        "created_at": iso_ms(ctx.time_ms - ctx.rng.randrange(0, 900)),
        "first_name": who.first_name,
        "last_name": who.last_name,
        "linkedin_profile_id": who.profile_id,
        "sales_navigator_profile_id": maybe(ctx.rng, who.sn_id),
        "job_title": maybe(ctx.rng, ctx.rng.choice(TITLES)),
        "content": sentence(ctx.rng),
        "message_id": f"2-{ctx.feed_number:x}-{ctx.seq:08d}==",
        "attachments": attachments,
    }


def profile_viewer(ctx: ItemContext) -> Record:
    """One profile view (``linkedin-extract-profile-viewers``); some viewers are private."""
    who = person(ctx.member_id)
    private = ctx.rng.random() < PRIVATE_VIEWER_RATE
    company = ctx.rng.choice(COMPANIES)
    return {
        "view_timestamp": ctx.time_ms,
        "view_date": iso_ms(ctx.time_ms),
        "connection_degree": None if private else ctx.rng.choice(DEGREES),
        "linkedin_profile_handle": None if private else who.handle,
        "headline": f"Someone at {company}" if private else maybe(ctx.rng, ctx.rng.choice(TITLES)),
        "linkedin_profile_url": None if private else who.url,
        "sales_navigator_profile_id": None if private else maybe(ctx.rng, who.sn_id),
        "linkedin_profile_id": None if private else who.profile_id,
        "profile_image_url": None if private else maybe(ctx.rng, who.image_url),
        "linkedin_people_post_search_url": None if private else who.posts_search_url,
    }


def post_commenter(ctx: ItemContext) -> Record:
    """One comment on a post (``linkedin-extract-post-commenters``)."""
    who = person(ctx.member_id)
    url = ctx.input_value or ""
    activity, comment_id = post_id(url), str(ctx.big_id)
    replies = ctx.rng.randrange(0, 4)
    comment_urn = f"urn%3Ali%3Acomment%3A(activity%3A{activity}%2C{comment_id})"
    return {
        "first_name": who.first_name,
        "last_name": who.last_name,
        "full_name": who.full_name,
        "linkedin_profile_id": who.profile_id,
        "sales_navigator_profile_id": maybe(ctx.rng, who.sn_id),
        "linkedin_profile_handle": who.handle,
        "linkedin_profile_picture": maybe(ctx.rng, who.image_url),
        "summary": maybe(ctx.rng, ctx.rng.choice(TITLES)),
        "linkedin_profile_url": who.url,
        "linkedin_connection_degree": ctx.rng.choice(DEGREES),
        "comment_text": sentence(ctx.rng, 10),
        "comment_time": iso_ms(ctx.time_ms),
        "comment_like_count": ctx.rng.randrange(0, 40),
        "comment_reply_count": replies,
        "last_reply": sentence(ctx.rng, 5) if replies else None,
        "linkedin_comment_url": f"{url}?commentUrn={comment_urn}",
        "linkedin_comment_id": comment_id,
        "linkedin_post_url": url,
        "linkedin_post_id": activity,
    }


def post_liker(ctx: ItemContext) -> Record:
    """One reaction to a post (``linkedin-extract-post-likers``)."""
    who = person(ctx.member_id)
    activity = post_id(ctx.input_value or "")
    activity_urn = f"urn:li:activity:{activity}"
    reaction = ctx.rng.choice(("like", "like", "like", "celebrate", "support", "insightful"))
    return {
        "full_name": who.full_name,
        "first_name": who.first_name,
        "last_name": who.last_name,
        "reaction_type": reaction,
        "reaction_urn": f"urn:li:reaction:(urn:li:member:{who.profile_id},{activity_urn})",
        "linkedin_profile_url": f"https://www.linkedin.com/in/{who.sn_id}",
        "liker_connection_degree": ctx.rng.choice(DEGREES),
        "sales_navigator_profile_id": maybe(ctx.rng, who.sn_id),
        "sales_navigator_profile_url": maybe(ctx.rng, who.sn_url),
        "job_title": maybe(ctx.rng, ctx.rng.choice(TITLES)),
        "linkedin_profile_id": who.profile_id,
        "linkedin_people_post_search_url": who.posts_search_url,
        "linkedin_post_url": ctx.input_value,
        "linkedin_post_id": activity,
    }


def post_reposter(ctx: ItemContext) -> Record:
    """One repost of a post (``linkedin-extract-post-reposters``)."""
    who = person(ctx.member_id)
    return {
        "last_name": who.last_name,
        "first_name": who.first_name,
        "full_name": who.full_name,
        "linkedin_profile_id": who.profile_id,
        "sales_navigator_profile_id": maybe(ctx.rng, who.sn_id),
        "linkedin_profile_handle": who.handle,
        "linkedin_profile_url": who.url,
        "sales_navigator_profile_url": maybe(ctx.rng, who.sn_url),
        "reposter_connection_degree": ctx.rng.choice(DEGREES),
        "linkedin_post_url": ctx.input_value,
        "linkedin_repost_url": f"https://www.linkedin.com/feed/update/urn:li:activity:{ctx.big_id}/",
        "linkedin_repost_id": ctx.big_id,
        "repost_text": maybe(ctx.rng, sentence(ctx.rng, 6)),
    }


def page_follower(ctx: ItemContext) -> Record:
    """One follower of a company page (``linkedin-extract-page-followers``)."""
    who = person(ctx.member_id)
    return {
        "first_name": who.first_name,
        "last_name": who.last_name,
        "full_name": who.full_name,
        "sales_navigator_profile_id": maybe(ctx.rng, who.sn_id),
        "headline": maybe(ctx.rng, ctx.rng.choice(TITLES)),
        "linkedin_profile_handle": who.handle,
        "linkedin_profile_url": who.url,
        "followed_at": iso_ms(ctx.time_ms),
        "profile_image_url": maybe(ctx.rng, who.image_url),
        "linkedin_people_post_search_url": who.posts_search_url,
        "linkedin_profile_id": who.profile_id,
    }


def listed(ctx: ItemContext) -> Record:
    """The discovery actions have no generated items: their listings are built from the world.

    Raises:
        TypeError: Always (a snapshot log is never grown).
    """
    msg = f"a discovery action's feed has no generated items (seq {ctx.seq})"
    raise TypeError(msg)
