"""The discovery actions' listings: an identity's conversations, an author's posts.

A discovery run does not read a feed of its own: when an iteration starts it lists a snapshot
of the world (:mod:`edges_sandbox.inbox`, :mod:`edges_sandbox.activity`), in the action's
order, and appends the listed items to the action's feed for that identity or input, which is
only a log of what the listings delivered (it never grows by itself). The iteration then
delivers the first ``max_results`` of its own listing, like any other.

* Conversations: most recent activity first (``conversations_unordered``: oldest thread
  first, by ``created_at``); ``parameters.read: false`` lists only the threads with unread
  messages. A continued iteration (``conversations_incremental``) lists only the threads whose
  last activity is newer than the previous listing; its cursor is that listing's time (epoch
  milliseconds).
* People post activity: the author's posts, most recently published first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edges_sandbox import activity, inbox
from edges_sandbox.catalog import ACTIONS, CONVERSATIONS
from edges_sandbox.variants import ACTIVITY_URLS_UNCHECKED, CONVERSATIONS_UNORDERED

if TYPE_CHECKING:
    from edges_sandbox.generators import Record
    from edges_sandbox.runs import Run
    from edges_sandbox.settings import SandboxSettings
    from edges_sandbox.world import World


def take(
    world: World, settings: SandboxSettings, run: Run, cursors: list[int], now: float
) -> tuple[list[list[int]], list[int]]:
    """List the world for each input of a run and log what is listed.

    Args:
        world: The world.
        settings: The settings in force (variants, ``inbox_threads``).
        run: The run (its action, identity, inputs and parameters).
        cursors: Each input's cursor: the previous listing's time in epoch milliseconds, or 0
            for a first listing.
        now: The launch or continue time.

    Returns:
        For each input, the sequence numbers of its listed items in the action's feed, in
        listing order; and each input's cursor after this listing.
    """
    kind = ACTIONS[run.action_name]
    values = [one.get(kind.input_field) if kind.input_field else None for one in run.inputs]
    moment = int(now * 1000)
    fresh: list[list[int]] = []
    for value, cursor in zip(values, cursors, strict=True):
        if kind.slug == CONVERSATIONS:
            records = conversations(world, settings, run, cursor, now)
        else:
            records = posts(world, settings, value or "", now)
        log = world.feed(kind, run.identity_id, value, now)
        start = log.newest_seq
        log.records.extend(records)
        log.times_ms.extend([moment] * len(records))
        fresh.append(list(range(start + 1, log.newest_seq + 1)))
    return fresh, [moment] * len(values)


def conversations(
    world: World, settings: SandboxSettings, run: Run, since_ms: int, now: float
) -> list[Record]:
    """The identity's conversations as a run lists them now.

    Args:
        world: The world.
        settings: The settings in force.
        run: The run.
        since_ms: Only threads whose last activity is newer (0: every thread).
        now: Current time (epoch seconds).
    """
    identity_id = run.identity_id or ""
    inbox.seeded_inbox(world, identity_id, settings.inbox_threads, now)
    feeds = [
        feed for feed in inbox.threads(world, identity_id, now) if feed.times_ms[-1] > since_ms
    ]
    if CONVERSATIONS_UNORDERED in settings.variants:
        feeds.sort(key=lambda feed: (feed.times_ms[0], inbox.thread_of(feed)))
    else:
        feeds.sort(key=lambda feed: (-feed.times_ms[-1], inbox.thread_of(feed)))
    records = [inbox.conversation(feed) for feed in feeds]
    if run.parameters.get("read", True) is False:
        records = [record for record in records if record["unread_count"] > 0]
    return records


def posts(world: World, settings: SandboxSettings, profile_url: str, now: float) -> list[Record]:
    """The author's posts as a run lists them now, most recently published first.

    Args:
        world: The world.
        settings: The settings in force (``activity_urls_unchecked``).
        profile_url: The author's profile URL.
        now: Current time (epoch seconds).
    """
    unchecked = ACTIVITY_URLS_UNCHECKED in settings.variants
    published = activity.author_posts(world, profile_url)
    return [
        activity.post(world, profile_url, index, now, unchecked=unchecked and index % 2 == 1)
        for index in activity.newest_first(published)
    ]
