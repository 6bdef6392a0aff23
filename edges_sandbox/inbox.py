"""An identity's inbox (``linkedin-extract-conversations``): its messages feeds, one per thread.

The inbox of an identity is every messages feed of that identity: the threads a run (or
``grow``) named, the threads seeded the first time the inbox is needed, and the threads
``start_conversation`` added. Seeded thread ``i`` (0-based) has its newest message at the
world's creation minus ``i`` times 5 days; only threads 0 and 1 grow with
``growth_per_minute`` (the others are idle unless grown by the backstage). Thread ids are
deterministic from the seed and the identity, in LinkedIn's ``2-<base64>==`` form.

A message is unread when it is newer than its feed's read mark (:attr:`Feed.read_mark`): the
messages a named thread had when the sandbox first saw it are read, every later one (growth,
replies) is not; seeded threads 1, 4, 7, ... start with their newest 1, 2, 3, ... messages
unread; a started conversation's two messages are unread.
"""

from __future__ import annotations

import base64
import hashlib
import random
from typing import TYPE_CHECKING, Any

from edges_sandbox.catalog import ACTIONS, THREAD_URL
from edges_sandbox.generators import ID_BLOCK
from edges_sandbox.people import TITLES, iso_ms, person
from edges_sandbox.world import Inbox

if TYPE_CHECKING:
    from edges_sandbox.generators import Record
    from edges_sandbox.world import Feed, World

MESSAGES = "linkedin-extract-messages"
DAY_MS = 86_400_000
SEED_SPACING_DAYS = 5
GROWING_SEEDED = 2  # seeded threads 0 and 1 grow with growth_per_minute
MESSAGE_SPACING_MS = 2 * 3_600_000  # the messages action's spacing of initial items
LAST_MESSAGE_FIELDS = (
    "delivered_at",
    "message_id",
    "content",
    "linkedin_profile_id",
    "first_name",
    "last_name",
)


def thread_id(seed: int, identity_id: str, label: str) -> str:
    """A LinkedIn-style thread id (``2-`` and base64 ending in ``==``), the same in every run.

    Args:
        seed: The world's seed.
        identity_id: The identity whose inbox holds the thread.
        label: What makes the thread unique in that inbox (``seeded-3``, ``started-0``).
    """
    digest = hashlib.sha256(f"{seed}|{identity_id}|{label}".encode()).hexdigest()[:16]
    # 16 hexadecimal characters: base64 of them has no '+' nor '/' and ends with '=='.
    return "2-" + base64.b64encode(digest.encode("ascii")).decode("ascii")


def thread_url(thread: str) -> str:
    """The thread's URL, as conversations list it and messages runs take it.

    Args:
        thread: The thread id.
    """
    return f"https://www.linkedin.com/messaging/thread/{thread}/"


def seeded_inbox(world: World, identity_id: str, count: int, now: float) -> Inbox:
    """Return the identity's inbox, seeding its threads the first time it is needed.

    Args:
        world: The world.
        identity_id: The identity.
        count: How many threads to seed (the ``inbox_threads`` setting) when it is new.
        now: Current time (epoch seconds).
    """
    inbox = world.inboxes.get(identity_id)
    if inbox is not None:
        return inbox
    inbox = Inbox()
    world.inboxes[identity_id] = inbox
    kind = ACTIONS[MESSAGES]
    for index in range(count):
        url = thread_url(thread_id(world.seed, identity_id, f"seeded-{index}"))
        known = kind.feed_key(identity_id, url) in world.feeds  # named before: kept as it is
        newest = int(world.created_at * 1000) - index * SEED_SPACING_DAYS * DAY_MS
        times = _times_up_to(world, url, newest, 3 + (7 * index) % 12)
        idle = index >= GROWING_SEEDED
        feed = world.feed(kind, identity_id, url, now, times_ms=times, idle=idle)
        if not known:
            unread = 1 + index // 3 if index % 3 == 1 else 0
            feed.read_seq = feed.newest_seq - unread
        inbox.seeded.append(url)
    return inbox


def start_conversation(world: World, identity_id: str, count: int, now: float) -> str:
    """Add a thread to the identity's inbox with two unread messages dated now.

    Args:
        world: The world.
        identity_id: The identity.
        count: Threads to seed if the inbox is new (the ``inbox_threads`` setting).
        now: Current time (epoch seconds).

    Returns:
        The new thread's URL.
    """
    inbox = seeded_inbox(world, identity_id, count, now)
    url = thread_url(thread_id(world.seed, identity_id, f"started-{len(inbox.started)}"))
    moment = int(now * 1000)
    feed = world.feed(ACTIONS[MESSAGES], identity_id, url, now, times_ms=[moment - 1, moment])
    feed.idle, feed.read_seq = True, 0
    inbox.started.append(url)
    return url


def threads(world: World, identity_id: str, now: float) -> list[Feed]:
    """Every thread of the identity's inbox, one feed per thread id, caught up to ``now``.

    A thread named in two spellings (its URL and its bare id) is two feeds: the one with the
    most recent activity stands for it.

    Args:
        world: The world.
        identity_id: The identity.
        now: Current time (epoch seconds).
    """
    found: dict[str, Feed] = {}
    for feed in list(world.feeds.values()):
        if feed.action != MESSAGES or feed.identity_id != identity_id:
            continue
        world.catch_up(feed, now)
        thread = thread_of(feed)
        kept = found.get(thread)
        if feed.records and (kept is None or feed.times_ms[-1] > kept.times_ms[-1]):
            found[thread] = feed
    return list(found.values())


def thread_of(feed: Feed) -> str:
    """The thread id of a messages feed (from its thread URL or bare id)."""
    matched = THREAD_URL.search(feed.input_value or "")
    return matched.group(0) if matched else feed.input_value or ""


def conversation(feed: Feed) -> Record:
    """The conversation item of a thread as it is now (``linkedin-extract-conversations``).

    Args:
        feed: The thread's messages feed (not empty).
    """
    thread = thread_of(feed)
    newest = feed.record(feed.newest_seq)
    unread = feed.newest_seq - min(feed.read_mark, feed.newest_seq)
    last_message: dict[str, Any] = {name: newest.get(name) for name in LAST_MESSAGE_FIELDS}
    last_message["attachments"] = [dict(one) for one in newest.get("attachments") or []]
    return {
        "linkedin_thread_id": thread,
        "linkedin_thread_url": thread_url(thread),
        "participants": [_participant(feed.number * ID_BLOCK + k) for k in (1, 2)],
        "read": unread == 0,
        "unread_count": unread,
        "total_received_messages": str(feed.newest_seq),
        "created_at": iso_ms(feed.times_ms[0]),
        "last_activity_at": iso_ms(feed.times_ms[-1]),
        "last_message": last_message,
        "sponsored": False,
    }


def _participant(profile_id: int) -> dict[str, Any]:
    """One of the thread's other people: the two members its messages come from."""
    who = person(profile_id)
    return {
        "linkedin_profile_id": who.profile_id,
        "sales_navigator_profile_id": who.sn_id,
        "linkedin_profile_url": who.url,
        "first_name": who.first_name,
        "last_name": who.last_name,
        "job_title": TITLES[who.profile_id % len(TITLES)],
    }


def _times_up_to(world: World, url: str, newest_ms: int, size: int) -> list[int]:
    """The times of a seeded thread's messages, oldest first, the newest at ``newest_ms``."""
    rng = random.Random(f"{world.seed}|{url}|seeded")  # noqa: S311 - fake data
    times = [newest_ms]
    for _ in range(size - 1):
        times.append(times[-1] - int(MESSAGE_SPACING_MS * (0.5 + rng.random())))
    return times[::-1]
