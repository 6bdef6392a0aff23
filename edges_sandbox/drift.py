"""The ``type_drift`` variant: output value types drift as real scraped data does.

LinkedIn's answers pass through Edges' scrapers, and the JSON types of a field are not
guaranteed from one item or one page to the next. Under ``type_drift`` each served item is
changed by :func:`drifted`, deterministically from its position in its iteration (0 = the
newest item it delivered; its dropped items come after its delivered ones) and from the page
of ``DRIFT_PAGE`` items that position falls in, never at random:

* integers become strings of digits (``42`` → ``"42"``) at positions 1, 4, 7, ... (``p % 3 ==
  1``), except the item's flip field;
* strings of digits that fit a 64-bit integer become numbers (``"7123"`` → ``7123``) at
  positions 2, 5, 8, ... (``p % 3 == 2``);
* the flip field (the first integer of :data:`FLIP_PREFERENCE` the item has, else
  ``linkedin_profile_id``) is an integer on even pages and a string of digits on odd ones;
* the optional fields of :data:`OPTIONAL_FIELDS` the item has are ``null`` at ``p % 5 == 3``
  and missing at ``p % 5 == 4``;
* unknown fields appear: a nested object ``edges_meta`` (``{"source": "linkedin", "page":
  <page>, "depth": {"n": 1 + p % 3}}``) at even positions, an array of objects ``edges_tags``
  at ``p % 4 == 1``;
* a string changes shape for good at ``p % 6 == 4``: the first field of
  :data:`RESHAPED_FIELDS` the item has becomes an object (``"Ada"`` → ``{"text": "Ada"}``),
  a value no client can turn back into the string it declared.

Keys stay stable: an id may drift between a number and a string, but its value does not
change, and no field that a key is built from is ever nulled or removed. ``extracted_at`` is
not touched (it is added after, by the ``extracted_at`` variants' rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edges_sandbox.generators import Record

DRIFT_PAGE = 10  # items per page for the flip field (Edges pages LinkedIn by 10 to 40)
# Count-like integers first. So the flip field is position for messages, view_timestamp for
# profile viewers, comment_like_count for commenters, linkedin_repost_id for reposters and
# linkedin_profile_id for the other actions.
FLIP_PREFERENCE = (
    "comment_like_count",
    "position",
    "view_timestamp",
    "linkedin_repost_id",
    "linkedin_profile_id",
)
# Optional fields that no stream's key is built from (profile viewers' key falls back on
# headline for private viewers, so headline is not one of them).
OPTIONAL_FIELDS = (
    "job_title",
    "summary",
    "profile_image_url",
    "linkedin_profile_picture",
    "sales_navigator_profile_url",
    "repost_text",
)
# Strings no key is built from, one of which every action has.
# (The listings' items have no name at the top: a post's text, a conversation's message count,
# which Edges sends as a string of digits.)
RESHAPED_FIELDS = ("first_name", "connection_degree", "content_text", "total_received_messages")
INT64_MAX = 2**63 - 1
TAGS = ({"tag": "sandbox", "rank": 1}, {"tag": "drift", "rank": 2, "note": None})


def drifted(record: Record, position: int) -> Record:
    """Return the item as ``type_drift`` serves it at this position of its iteration.

    Args:
        record: The action's output record (not changed).
        position: The item's 0-based position in its iteration.
    """
    page = position // DRIFT_PAGE
    flip = flip_field(record)
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name == flip:
            out[name] = str(value) if page % 2 else value
        elif _is_int(value) and position % 3 == 1:
            out[name] = str(value)
        elif _numeric(value) and position % 3 == 2:  # noqa: PLR2004 - the third position
            out[name] = int(value)
        else:
            out[name] = value
    _thin(out, position)
    if position % 2 == 0:
        out["edges_meta"] = {"source": "linkedin", "page": page, "depth": {"n": 1 + position % 3}}
    if position % 4 == 1:
        out["edges_tags"] = [dict(tag) for tag in TAGS]
    return out


def _thin(out: dict[str, Any], position: int) -> None:
    """Optional fields null or missing; the first of ``RESHAPED_FIELDS`` made an object."""
    for name in OPTIONAL_FIELDS:
        if name in out and position % 5 == 3:  # noqa: PLR2004
            out[name] = None
        elif name in out and position % 5 == 4:  # noqa: PLR2004
            del out[name]
    reshaped = next((name for name in RESHAPED_FIELDS if isinstance(out.get(name), str)), None)
    if reshaped is not None and position % 6 == 4:  # noqa: PLR2004 - the fifth of six
        out[reshaped] = {"text": out[reshaped]}


def flip_field(record: Record) -> str | None:
    """The field whose type flips between pages: the first integer of ``FLIP_PREFERENCE``.

    Args:
        record: The action's output record.
    """
    return next((name for name in FLIP_PREFERENCE if _is_int(record.get(name))), None)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numeric(value: object) -> bool:
    """A string of digits without a leading zero that fits a 64-bit integer."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return False
    return not value.startswith("0") and int(value) <= INT64_MAX
