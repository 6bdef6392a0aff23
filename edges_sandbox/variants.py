"""API variants: the other ways the real Edges may answer what its documentation leaves open.

By default the sandbox is one reading of the docs. Each variant switches one open point to
another reading, so the tap can be tested in every world. Variants combine freely (a set of
names), except that at most one of the ``extracted_at`` variants applies at a time, and they
combine with the three outputs modes. See the package docstring for what each one does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from edges_sandbox.clock import iso_from_us

if TYPE_CHECKING:
    from collections.abc import Iterable

NO_NAME = "no_name"
CLAMP_MAX_RESULTS = "clamp_max_results"
NO_MAX_RESULTS_ECHO = "no_max_results_echo"
NO_EXTRACTED_AT = "no_extracted_at"
EPOCH_MS_EXTRACTED_AT = "epoch_ms_extracted_at"
EPOCH_S_EXTRACTED_AT = "epoch_s_extracted_at"
NAIVE_EXTRACTED_AT = "naive_extracted_at"
REFUSE_OFFSET = "refuse_offset"
QUEUE = "queue"
NO_DATA_FAILED = "no_data_failed"
POSTS_NOT_INCREMENTAL = "posts_not_incremental"
IDENTITY_ACCOUNTS = "identity_accounts"
TYPE_DRIFT = "type_drift"
CONVERSATIONS_INCREMENTAL = "conversations_incremental"
CONVERSATIONS_UNORDERED = "conversations_unordered"
ACTIVITY_URLS_UNCHECKED = "activity_urls_unchecked"
NO_CREDITS = "no_credits"
CREDITS_LIST = "credits_list"

VARIANTS: dict[str, str] = {
    NO_NAME: "launch bodies are validated strictly without `name` (400 BAD_PARAMETERS)",
    CLAMP_MAX_RESULTS: "max_results above the action's maximum is clamped, and echoed clamped",
    NO_MAX_RESULTS_ECHO: "run objects' parameters omit max_results",
    NO_EXTRACTED_AT: "output items carry no extracted_at",
    EPOCH_MS_EXTRACTED_AT: "extracted_at is an integer of epoch milliseconds",
    EPOCH_S_EXTRACTED_AT: "extracted_at is a number of epoch seconds (microsecond fraction)",
    NAIVE_EXTRACTED_AT: "extracted_at is 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, no zone)",
    REFUSE_OFFSET: "outputs refuse the deprecated offset parameter (400 BAD_PARAMETERS)",
    QUEUE: "the workspace runs at most 2 runs at a time; the others stay QUEUED",
    NO_DATA_FAILED: "an iteration with no new item ends FAILED with NO_DATA_AVAILABLE",
    POSTS_NOT_INCREMENTAL: "post actions refuse sync_mode incremental (400 BAD_PARAMETERS)",
    IDENTITY_ACCOUNTS: "identities list their connected accounts as accounts[], not integrations",
    TYPE_DRIFT: "output value types drift by item and page (ids as strings or numbers, ...)",
    CONVERSATIONS_INCREMENTAL: "conversations accept sync_mode incremental and continue",
    CONVERSATIONS_UNORDERED: "conversations are listed oldest thread first, not by activity",
    ACTIVITY_URLS_UNCHECKED: "every other post's URL is the author's recent-activity page",
    NO_CREDITS: "the workspace and consumption endpoints answer 404",
    CREDITS_LIST: "the workspace endpoint answers a list of workspaces; consumption 404",
}
EXTRACTED_AT_VARIANTS = (
    NO_EXTRACTED_AT,
    EPOCH_MS_EXTRACTED_AT,
    EPOCH_S_EXTRACTED_AT,
    NAIVE_EXTRACTED_AT,
)

# clamp_max_results: the largest max_results each action runs with (the docs say each action
# has one, "0 <= x <= max_value", without listing them). The same for every action.
MAX_RESULTS_MAXIMUM = 80
# queue: runs a Trial or Bronze workspace executes at a time ("2 concurrent runs").
QUEUE_SLOTS = 2
# posts_not_incremental: the actions a newer continue page leaves out.
NOT_INCREMENTAL_ACTIONS = frozenset(
    {
        "linkedin-extract-post-commenters",
        "linkedin-extract-post-likers",
        "linkedin-extract-post-reposters",
    },
)
OFFSET_REFUSED = "offset is no longer supported; use the cursor in X-Pagination-Next"

Stamp = str | int | float | None  # an item's extracted_at value; None: no such key


def parse_variants(names: Iterable[str]) -> frozenset[str]:
    """Check a collection of variant names.

    Args:
        names: Variant names (any iterable of strings, not a single string).

    Returns:
        The names as a frozen set.

    Raises:
        TypeError: For a single string or a name that is not a string.
        ValueError: For an unknown name, or more than one ``extracted_at`` variant.
    """
    if isinstance(names, (str, bytes)):
        msg = "variants must be a collection of names, not one string"
        raise TypeError(msg)
    chosen = frozenset(names)
    if not all(isinstance(name, str) for name in chosen):
        msg = "variants must be strings"
        raise TypeError(msg)
    unknown = sorted(chosen - set(VARIANTS))
    if unknown:
        msg = f"unknown variants: {', '.join(unknown)} (known: {', '.join(VARIANTS)})"
        raise ValueError(msg)
    formats = sorted(chosen.intersection(EXTRACTED_AT_VARIANTS))
    if len(formats) > 1:
        msg = f"at most one extracted_at variant at a time, not {', '.join(formats)}"
        raise ValueError(msg)
    return chosen


def stamp(finish_us: int, variants: frozenset[str]) -> Stamp:
    """Return the ``extracted_at`` of the items of an iteration finishing at ``finish_us``.

    Args:
        finish_us: The iteration's finish time in epoch microseconds.
        variants: The variants in force.

    Returns:
        ISO-8601 UTC with ``Z`` by default, or what an ``extracted_at`` variant says (``None``:
        the items have no ``extracted_at``).
    """
    if not variants.intersection(EXTRACTED_AT_VARIANTS):
        return iso_from_us(finish_us)
    if NO_EXTRACTED_AT in variants:
        return None
    if EPOCH_MS_EXTRACTED_AT in variants:
        return finish_us // 1000
    if EPOCH_S_EXTRACTED_AT in variants:
        return finish_us / 1_000_000
    seconds, rest = divmod(finish_us, 1_000_000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).replace(microsecond=rest)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def stamped(record: dict[str, Any], value: Stamp) -> dict[str, Any]:
    """Return an output item: the record plus its ``extracted_at`` (unless ``value`` is None).

    Args:
        record: The action's output record.
        value: The ``extracted_at`` value from :func:`stamp`.
    """
    return dict(record) if value is None else {**record, "extracted_at": value}


def max_results(asked: int, variants: frozenset[str]) -> int:
    """Return the ``max_results`` a run works with.

    Args:
        asked: The validated ``parameters.max_results`` of the launch.
        variants: The variants in force.
    """
    return min(asked, MAX_RESULTS_MAXIMUM) if CLAMP_MAX_RESULTS in variants else asked
