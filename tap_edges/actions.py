"""Every supported Edges action, as data.

Adding an action takes one :class:`ActionSpec` here, one schema file in ``schemas/``, the
sandbox's generator for its items and one README row.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DerivedKey:
    """A stable key computed from record fields, for actions whose items have no id.

    Attributes:
        name: Name of the derived field added to each record.
        parts: One tuple of candidate fields per key component; each component takes the
            first candidate that is present and not null in the record.
    """

    name: str
    parts: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True)
class ActionSpec:
    """One Edges action mapped to one Singer stream.

    Attributes:
        stream: Singer stream name (also the schema file's stem).
        action: Edges action slug.
        input_setting: Config setting listing this action's inputs, or None when the action
            takes no input (one partition per identity).
        input_field: Name of the input field sent to Edges and added to each record.
        natural_keys: Output fields that identify an item, with `identity_id` before them.
        derived_key: Key computed from the record when Edges gives no id.
        continue_documented: Whether the Edges docs list the action among those whose runs
            can be continued (the post actions are not listed; the tap tries anyway and
            names this when Edges refuses).
    """

    stream: str
    action: str
    input_setting: str | None
    input_field: str | None
    natural_keys: tuple[str, ...]
    derived_key: DerivedKey | None = None
    continue_documented: bool = True

    @property
    def primary_keys(self) -> tuple[str, ...]:
        """Primary key of the stream: the identity, then the item's key."""
        return ("identity_id", *self.natural_keys)


POST_URLS = "post_urls"
THREAD_URLS = "thread_urls"
POST_URL = "linkedin_post_url"
THREAD_URL = "linkedin_thread_url"

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        stream="connections",
        action="linkedin-extract-connections",
        input_setting=None,
        input_field=None,
        natural_keys=("linkedin_profile_id",),
    ),
    ActionSpec(
        stream="messages",
        action="linkedin-extract-messages",
        input_setting=THREAD_URLS,
        input_field=THREAD_URL,
        natural_keys=("message_id",),
    ),
    ActionSpec(
        stream="profile_viewers",
        action="linkedin-extract-profile-viewers",
        input_setting=None,
        input_field=None,
        natural_keys=("view_id",),
        # A view has no id: the view time plus whatever identifies the viewer (private
        # viewers come without a profile id or URL).
        derived_key=DerivedKey(
            name="view_id",
            parts=(
                ("view_timestamp", "view_date"),
                (
                    "linkedin_profile_id",
                    "linkedin_profile_handle",
                    "linkedin_profile_url",
                    "headline",
                ),
            ),
        ),
    ),
    ActionSpec(
        stream="post_commenters",
        action="linkedin-extract-post-commenters",
        input_setting=POST_URLS,
        input_field=POST_URL,
        natural_keys=("linkedin_comment_id",),
        continue_documented=False,
    ),
    ActionSpec(
        stream="post_likers",
        action="linkedin-extract-post-likers",
        input_setting=POST_URLS,
        input_field=POST_URL,
        natural_keys=("like_id",),
        # A reaction has no documented id: one per (post, person); the reaction type is left
        # out so a changed reaction updates the same row.
        derived_key=DerivedKey(
            name="like_id",
            parts=(
                (POST_URL,),
                ("linkedin_profile_id", "linkedin_profile_url", "reaction_urn"),
            ),
        ),
        continue_documented=False,
    ),
    ActionSpec(
        stream="post_reposters",
        action="linkedin-extract-post-reposters",
        input_setting=POST_URLS,
        input_field=POST_URL,
        natural_keys=("linkedin_repost_id",),
        continue_documented=False,
    ),
)

ACTIONS_BY_STREAM: dict[str, ActionSpec] = {spec.stream: spec for spec in ACTIONS}
