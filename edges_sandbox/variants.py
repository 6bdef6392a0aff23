"""API variants: the other ways the real Edges may answer what its documentation leaves open.

By default the sandbox is one reading of the docs. Each variant switches one open point to
another reading, so the tap can be tested in every world. Variants combine freely (a set of
names), and they combine with the three outputs modes. See the package docstring for what each
one does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

NO_NAME = "no_name"
CLAMP_MAX_RESULTS = "clamp_max_results"
POSTS_NOT_INCREMENTAL = "posts_not_incremental"

VARIANTS: dict[str, str] = {
    NO_NAME: "launch bodies are validated strictly without `name` (400 BAD_PARAMETERS)",
    CLAMP_MAX_RESULTS: "max_results above the action's maximum is clamped, and echoed clamped",
    POSTS_NOT_INCREMENTAL: "post actions refuse sync_mode incremental (400 BAD_PARAMETERS)",
}

# clamp_max_results: the largest max_results each action runs with (the docs say each action
# has one, "0 <= x <= max_value", without listing them). The same for every action.
MAX_RESULTS_MAXIMUM = 80
# posts_not_incremental: the actions a newer continue page leaves out.
NOT_INCREMENTAL_ACTIONS = frozenset(
    {
        "linkedin-extract-post-commenters",
        "linkedin-extract-post-likers",
        "linkedin-extract-post-reposters",
    },
)


def parse_variants(names: Iterable[str]) -> frozenset[str]:
    """Check a collection of variant names.

    Args:
        names: Variant names (any iterable of strings, not a single string).

    Returns:
        The names as a frozen set.

    Raises:
        TypeError: For a single string or a name that is not a string.
        ValueError: For an unknown name.
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
    return chosen


def max_results(asked: int, variants: frozenset[str]) -> int:
    """Return the ``max_results`` a run works with.

    Args:
        asked: The validated ``parameters.max_results`` of the launch.
        variants: The variants in force.
    """
    return min(asked, MAX_RESULTS_MAXIMUM) if CLAMP_MAX_RESULTS in variants else asked
