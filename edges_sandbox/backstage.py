"""What tests reach behind the API (``sandbox.backstage``): the world and its runs.

Grow the world, read a run's ground truth, list every run, purge one as Edges does, list the
identities; the ``/_sandbox/`` control routes offer the same over HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edges_sandbox import activity, inbox
from edges_sandbox.catalog import PROFILE_URL
from edges_sandbox.identities import identity_objects, identity_type, shown
from edges_sandbox.people import iso_ms

if TYPE_CHECKING:
    from collections.abc import Callable

    from edges_sandbox.engine import Engine
    from edges_sandbox.settings import SandboxSettings


class Backstage:
    """The world and its runs, as tests see and change them."""

    __slots__ = ("_engine", "_settings")

    def __init__(self, engine: Callable[[], Engine], settings: SandboxSettings) -> None:
        """Reach the engine through ``engine`` (it opens the state file on first use).

        Args:
            engine: Returns the runs engine.
            settings: The settings in force.
        """
        self._engine = engine
        self._settings = settings

    def grow(
        self,
        n: int = 5,
        action: str | None = None,
        identity_id: str | None = None,
        input: str | dict[str, Any] | None = None,  # noqa: A002 - the documented name
        *,
        distinct: int | None = None,
    ) -> int:
        """Add ``n`` new items (newer than all existing ones) to every matching feed.

        Args:
            n: Items per feed.
            action: Only feeds of this action slug.
            identity_id: Only feeds of this identity (post feeds are shared by identities).
            input: Only feeds of this input: the post/thread URL, or an input object holding it.
                With an action and every argument its feed needs, the feed is created if new.
            distinct: For benchmarks: generate only this many new items per feed and repeat
                them (ids included) for the rest, so millions of items take seconds.

        Returns:
            Total number of items added.

        Raises:
            ValueError: If ``n`` is negative.
        """
        if n < 0:
            msg = "n must not be negative"
            raise ValueError(msg)
        value = input
        if isinstance(value, dict):
            value = next((v for k, v in value.items() if k != "custom_data"), None)
        selector = {"action": action, "identity_id": identity_id, "input": value}
        return self._engine().grow(n, selector, distinct)

    def ground_truth(self, run_uid: str) -> list[dict[str, Any]]:
        """Return what each iteration of a run delivers and drops (see the package docs).

        Args:
            run_uid: The run uid.
        """
        return self._engine().ground_truth(run_uid)

    def runs(self) -> list[dict[str, Any]]:
        """Return every run object, oldest first, as the API would."""
        return self._engine().list_runs({}, ["created_at"])

    def identities(self, *, retrieve_accounts: bool = False) -> list[dict[str, Any]]:
        """Return the identities as ``GET /v1/identities`` does.

        Args:
            retrieve_accounts: List their connected accounts, as the query parameter does.
        """
        how = shown(self._settings.variants, accounts=retrieve_accounts)
        return identity_objects(self._settings.extra_identities, how)

    def purge_run(self, run_uid: str) -> None:
        """Forget a run, as Edges does when it purges one: later requests for it answer 404.

        Args:
            run_uid: The run uid (unknown uids are ignored).
        """
        self._engine().purge(run_uid)

    def publish_post(self, author_url: str) -> str:
        """Add a post the author published now (their newest; ``people-post-activity``).

        Args:
            author_url: The author's profile URL (``https://www.linkedin.com/in/<handle>``);
                their six seeded posts are created first if the author is new.

        Returns:
            The new post's URL (the ``/posts/`` form the post actions take).

        Raises:
            ValueError: If the URL is not a ``linkedin.com/in/`` profile URL.
        """
        if not _is_profile_url(author_url):
            msg = f"not a linkedin.com/in/ profile URL: {author_url}"
            raise ValueError(msg)
        engine = self._engine()
        with engine.lock:
            url = activity.publish(engine.world, author_url, engine.clock())
            engine.save()
            return url

    def start_conversation(self, identity_id: str) -> str:
        """Add a thread to an identity's inbox, with two unread messages dated now.

        Args:
            identity_id: The identity (its inbox is seeded first if it is new).

        Returns:
            The new thread's URL (a messages run on it reads its two messages).
        """
        self._known(identity_id)
        engine = self._engine()
        with engine.lock:
            count = self._settings.inbox_threads
            url = inbox.start_conversation(engine.world, identity_id, count, engine.clock())
            engine.save()
            return url

    def inbox(self, identity_id: str) -> list[dict[str, Any]]:
        """Return an identity's threads, the most recent activity first (seeding it if new).

        Args:
            identity_id: The identity.

        Returns:
            One ``{"linkedin_thread_url", "linkedin_thread_id", "last_activity_at",
            "unread_count"}`` per thread.
        """
        self._known(identity_id)
        engine = self._engine()
        with engine.lock:
            now = engine.clock()
            inbox.seeded_inbox(engine.world, identity_id, self._settings.inbox_threads, now)
            feeds = inbox.threads(engine.world, identity_id, now)
            engine.save()
        feeds.sort(key=lambda feed: (-feed.times_ms[-1], inbox.thread_of(feed)))
        return [
            {
                "linkedin_thread_url": inbox.thread_url(inbox.thread_of(feed)),
                "linkedin_thread_id": inbox.thread_of(feed),
                "last_activity_at": iso_ms(feed.times_ms[-1]),
                "unread_count": feed.newest_seq - min(feed.read_mark, feed.newest_seq),
            }
            for feed in feeds
        ]

    def _known(self, identity_id: str) -> None:
        if identity_type(identity_id, self._settings.extra_identities) is None:
            msg = f"identity {identity_id} not found in this workspace"
            raise ValueError(msg)


def _is_profile_url(url: object) -> bool:
    return isinstance(url, str) and PROFILE_URL.search(url) is not None
