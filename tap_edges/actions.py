"""Every supported Edges action, as data.

Adding an action takes one :class:`ActionSpec` here, one schema file in ``schemas/``, the
sandbox's generator for its items (with its entry in ``edges_sandbox/catalog.py``) and one
README row.
An action with a new kind of input also takes its setting: a property in ``settings.py`` and an
``INPUT_FORMATS`` entry in ``checks.py``, then the same setting in ``meltano.yml``,
``scripts/update_readme.py`` and ``scripts/hub_definition.py`` (tests fail until each is done).
For the analytics models, its table also needs a staging model in ``transform/models/staging/``,
a branch in ``engagements.sql`` and ``transform/tests/engagements_tie_out.sql``, and its kind in
``tests/dbtkit.py``.
"""

from __future__ import annotations

import dataclasses
import typing as t


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
class FailureHint:
    """What a failed run of an action most likely means, told with the run's error.

    Attributes:
        labels: Edges error labels (``last_error.label`` of a run, ``error_label`` of an
            answer) that mean this.
        text: The explanation and the remedy; ``{identity}`` and ``{input}`` are replaced by
            the partition's identity uid and input value.
    """

    labels: frozenset[str]
    text: str


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
        failure_hints: Known meanings of this action's error labels (see
            :func:`failure_hint`).
        lists: For a listing (discovery) action, the input setting of the streams whose
            partitions it finds (``thread_urls``, ``post_urls``); its runs are full runs,
            launched anew every sync and never continued.
        default_max_results: The cap when neither ``max_results_per_stream`` names the stream
            (a paid listing is kept small); None: ``max_results``.
    """

    stream: str
    action: str
    input_setting: str | None
    input_field: str | None
    natural_keys: tuple[str, ...]
    derived_key: DerivedKey | None = None
    continue_documented: bool = True
    failure_hints: tuple[FailureHint, ...] = ()
    lists: str | None = None
    default_max_results: int | None = None

    @property
    def primary_keys(self) -> tuple[str, ...]:
        """Primary key of the stream: the identity, then the item's key."""
        return ("identity_id", *self.natural_keys)


POST_URLS = "post_urls"
THREAD_URLS = "thread_urls"
COMPANY_PAGE_URLS = "company_page_urls"
POST_AUTHORS = "post_authors"
POST_URL = "linkedin_post_url"
THREAD_URL = "linkedin_thread_url"
COMPANY_URL = "linkedin_company_url"
PROFILE_URL = "linkedin_profile_url"

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        stream="connections",
        action="linkedin-extract-connections",
        input_setting=None,
        input_field=None,
        natural_keys=("linkedin_profile_id",),
    ),
    ActionSpec(
        stream="conversations",
        action="linkedin-extract-conversations",
        input_setting=None,
        input_field=None,
        natural_keys=("linkedin_thread_id",),
        # Not documented as incremental: listed in full every sync (free with an engagement
        # identity); the conversations whose last activity moved are emitted.
        continue_documented=False,
        lists=THREAD_URLS,
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
        stream="posts",
        action="linkedin-extract-people-post-activity",
        input_setting=POST_AUTHORS,
        input_field=PROFILE_URL,
        natural_keys=("linkedin_post_id",),
        continue_documented=False,
        lists=POST_URLS,
        default_max_results=20,  # paid per result
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
    ActionSpec(
        stream="page_followers",
        action="linkedin-extract-page-followers",
        input_setting=COMPANY_PAGE_URLS,
        input_field=COMPANY_URL,
        natural_keys=(COMPANY_URL, "linkedin_profile_id"),
        # LinkedIn shows a page's followers to its admins only. The error a non-admin gets is
        # not documented; STATUS_403 (Edges' "access" label of LinkedIn errors) is the likeliest.
        failure_hints=(
            FailureHint(
                labels=frozenset({"STATUS_403"}),
                text="identity {identity} is not an admin of the LinkedIn page {input}, and "
                "LinkedIn shows a page's followers to its admins only: make the identity's "
                "LinkedIn account an admin of the page, or remove the page from "
                f"'{COMPANY_PAGE_URLS}'",
            ),
        ),
    ),
)

ACTIONS_BY_STREAM: dict[str, ActionSpec] = {spec.stream: spec for spec in ACTIONS}


class RunTarget(t.Protocol):
    """What :func:`failure_hint` needs to know of a partition (``runs.Partition`` has it)."""

    @property
    def action(self) -> str:
        """The Edges action slug."""

    @property
    def identity_id(self) -> str:
        """The identity that runs the action."""

    @property
    def input_value(self) -> str | None:
        """The run's input value, if the action takes one."""


def failure_hint(target: RunTarget, label: object) -> str:
    """What the registry knows about an error label of a partition's run, as a suffix.

    Args:
        target: The partition whose run failed.
        label: The Edges error label (anything else, e.g. None, matches nothing).

    Returns:
        ``"; <hint>"``, or an empty string when the label means nothing known.
    """
    spec = next((spec for spec in ACTIONS if spec.action == target.action), None)
    for hint in spec.failure_hints if spec else ():
        if label in hint.labels:
            return "; " + hint.text.format(identity=target.identity_id, input=target.input_value)
    return ""
