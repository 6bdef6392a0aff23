"""The actions the sandbox knows, as data: adding an action means adding one entry here.

Each :class:`ActionKind` says which input field the action takes (and the pattern it must
match), whether its feed is scoped per identity, how big a fresh feed is, how far apart its
initial items are in time, and which generator builds its items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_edges.sandbox import generators

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_edges.sandbox.generators import ItemContext, Record

POST_URL = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/(posts|feed)/[\w%-]+")
THREAD_URL = generators.THREAD_ID


@dataclass(frozen=True)
class ActionKind:
    """One action of the simulated API.

    Attributes:
        slug: The action slug used in ``/v1/actions/{slug}/run/async``.
        action_id: The integer ``action_id`` shown on runs.
        input_field: The required input field, or ``None`` for actions taking ``{}``.
        input_pattern: Pattern the input value must contain (searched), when there is a field.
        per_identity: Whether each identity has its own feed (else feeds are shared).
        initial_size: Number of items in a freshly created feed.
        spacing_seconds: Average time between two initial items.
        generate: Builds one item.
    """

    slug: str
    action_id: int
    input_field: str | None
    input_pattern: re.Pattern[str] | None
    per_identity: bool
    initial_size: int
    spacing_seconds: float
    generate: Callable[[ItemContext], Record]

    def feed_key(self, identity_id: str | None, input_value: str | None) -> str:
        """Return the key of the feed a run of this action reads.

        Args:
            identity_id: The identity running the action.
            input_value: The input field's value, if the action has one.
        """
        parts = [self.slug]
        if self.per_identity:
            parts.append(identity_id or "")
        if self.input_field:
            parts.append(input_value or "")
        return "|".join(parts)


_HOUR = 3600.0
ACTIONS: dict[str, ActionKind] = {
    kind.slug: kind
    for kind in (
        ActionKind(
            slug="linkedin-extract-connections",
            action_id=101,
            input_field=None,
            input_pattern=None,
            per_identity=True,
            initial_size=60,
            spacing_seconds=24 * _HOUR,
            generate=generators.connection,
        ),
        ActionKind(
            slug="linkedin-extract-messages",
            action_id=102,
            input_field="linkedin_thread_url",
            input_pattern=THREAD_URL,
            per_identity=True,
            initial_size=30,
            spacing_seconds=2 * _HOUR,
            generate=generators.message,
        ),
        ActionKind(
            slug="linkedin-extract-profile-viewers",
            action_id=103,
            input_field=None,
            input_pattern=None,
            per_identity=True,
            initial_size=25,
            spacing_seconds=6 * _HOUR,
            generate=generators.profile_viewer,
        ),
        ActionKind(
            slug="linkedin-extract-post-commenters",
            action_id=104,
            input_field="linkedin_post_url",
            input_pattern=POST_URL,
            per_identity=False,
            initial_size=40,
            spacing_seconds=_HOUR / 2,
            generate=generators.post_commenter,
        ),
        ActionKind(
            slug="linkedin-extract-post-likers",
            action_id=105,
            input_field="linkedin_post_url",
            input_pattern=POST_URL,
            per_identity=False,
            initial_size=70,
            spacing_seconds=_HOUR / 5,
            generate=generators.post_liker,
        ),
        ActionKind(
            slug="linkedin-extract-post-reposters",
            action_id=106,
            input_field="linkedin_post_url",
            input_pattern=POST_URL,
            per_identity=False,
            initial_size=12,
            spacing_seconds=_HOUR,
            generate=generators.post_reposter,
        ),
    )
}
