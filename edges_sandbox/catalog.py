"""The actions the sandbox knows, as data: adding an action means adding one entry here.

Each :class:`ActionKind` says which input field the action takes (and the pattern it must
match), whether its feed is scoped per identity, how big a fresh feed is, how far apart its
initial items are in time, which generator builds its items and, for actions LinkedIn allows
only some identities to run, which runs it refuses; whether it runs in managed mode, accepts
incremental sync and costs credits. The two discovery actions (conversations, people post
activity) list a snapshot of the world instead (:mod:`edges_sandbox.discovery`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edges_sandbox import generators

if TYPE_CHECKING:
    from collections.abc import Callable

    from edges_sandbox.generators import ItemContext, Record

POST_URL = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/(posts|feed)/[\w%-]+")
THREAD_URL = generators.THREAD_ID
COMPANY_URL = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/company/([\w%-]+)")
PROFILE_URL = re.compile(r"linkedin\.com/in/([^/?#\s]+)")
CONVERSATIONS = "linkedin-extract-conversations"
POST_ACTIVITY = "linkedin-extract-people-post-activity"
# No sandbox identity is an admin of a company page whose slug starts with this.
NOT_ADMIN_PREFIX = "not-admin"


def page_admin_refusal(identity_id: str, input_value: str | None) -> dict[str, Any] | None:
    """The ``last_error`` of a page followers run whose identity is not an admin of the page.

    Args:
        identity_id: The identity running the action.
        input_value: The company page URL.

    Returns:
        None when the identity may read the page's followers.
    """
    found = COMPANY_URL.search(input_value or "")
    if found is None or not found.group(2).startswith(NOT_ADMIN_PREFIX):
        return None
    # Worded as LinkedIn's bare refusal: the tap, not the sandbox, must say what it means.
    message = f"LinkedIn answered 403 Forbidden for the followers of {input_value}"
    return {"label": "STATUS_403", "message": message, "params": {"identity_id": identity_id}}


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
        refusal: For an (identity, input value), the ``last_error`` of a run LinkedIn refuses
            (the run ends FAILED), or None; absent when every identity may run the action.
        managed: Whether the action runs without an identity with ``identity_mode: managed``
            (Edges' own accounts): the cookieless post actions, not those reading an
            identity's own data.
        discovery: Whether a run lists a snapshot of the world (an inbox, an author's posts)
            instead of reading a feed of the action's own; such an action has no generated
            items (``initial_size`` 0), and its feed keeps what each listing delivered.
        incremental: Whether ``sync_mode: incremental`` is accepted (a variant may allow it).
        credits: Credits used per delivered result (1.5 times that in managed mode); 0 for
            the actions free with an engagement identity.
        inputs_optional: Whether a launch may leave ``inputs`` out (then one ``{}`` input).
    """

    slug: str
    action_id: int
    input_field: str | None
    input_pattern: re.Pattern[str] | None
    per_identity: bool
    initial_size: int
    spacing_seconds: float
    generate: Callable[[ItemContext], Record]
    refusal: Callable[[str, str | None], dict[str, Any] | None] | None = None
    managed: bool = False
    discovery: bool = False
    incremental: bool = True
    credits: float = 0.0
    inputs_optional: bool = False

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
            managed=True,
            credits=1.0,
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
            managed=True,
            credits=1.0,
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
            managed=True,
            credits=1.0,
        ),
        ActionKind(
            slug="linkedin-extract-page-followers",
            action_id=107,
            input_field="linkedin_company_url",
            input_pattern=COMPANY_URL,
            per_identity=False,
            initial_size=45,
            spacing_seconds=3 * _HOUR,
            generate=generators.page_follower,
            refusal=page_admin_refusal,
        ),
        ActionKind(
            slug=CONVERSATIONS,
            action_id=108,
            input_field=None,
            input_pattern=None,
            per_identity=True,
            initial_size=0,
            spacing_seconds=0.0,
            generate=generators.listed,
            discovery=True,
            incremental=False,
            inputs_optional=True,
        ),
        ActionKind(
            slug=POST_ACTIVITY,
            action_id=109,
            input_field="linkedin_profile_url",
            input_pattern=PROFILE_URL,
            per_identity=False,
            initial_size=0,
            spacing_seconds=0.0,
            generate=generators.listed,
            managed=True,
            discovery=True,
            incremental=False,
            credits=1.0,
        ),
    )
}
