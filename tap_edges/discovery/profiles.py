"""The identities' own LinkedIn profiles: the post authors when ``post_authors`` is empty.

Edges' ``linkedin-me`` (a live action) answers an identity's profile URL. It is asked once per
identity and kept in the state with what the tap learned of the workspace, so later syncs ask
nothing; an identity Edges cannot tell about lists no posts, said once.
"""

from __future__ import annotations

import typing as t

from tap_edges import errors
from tap_edges.checks import PROFILE_URL_PATTERN

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Mapping

    from tap_edges.api.client import EdgesClient


def profile_url(answer: object) -> str | None:
    """The profile URL in a ``linkedin-me`` answer (an object, or a list holding one)."""
    found = answer[0] if isinstance(answer, list) and answer else answer
    url = found.get("linkedin_profile_url") if isinstance(found, dict) else None
    return url if isinstance(url, str) and PROFILE_URL_PATTERN.match(url) else None


def own_profiles(
    client: EdgesClient,
    identity_ids: Iterable[str],
    known: Mapping[str, str],
    logger: logging.Logger,
) -> dict[str, str]:
    """Each identity's own profile URL, from ``known`` (the state) or from Edges.

    Args:
        client: The API client.
        identity_ids: The identities.
        known: The profile URLs earlier syncs learned, by identity.
        logger: Where an identity without one is said.

    Returns:
        The profile URL of every identity Edges told about.

    Raises:
        AuthError: The key was refused.
    """
    found: dict[str, str] = {}
    for identity in identity_ids:
        url = known.get(identity)
        if url is None:
            try:
                url = profile_url(client.me(identity))
            except errors.AuthError:
                raise
            except errors.EdgesError as exc:
                logger.warning(
                    "identity %s: Edges did not tell its LinkedIn profile (%s): its posts are "
                    "not listed; name the profiles in 'post_authors'.",
                    identity,
                    exc,
                )
                continue
        if url is None:
            logger.warning(
                "identity %s: linkedin-me gave no profile URL: its posts are not listed; name "
                "the profiles in 'post_authors'.",
                identity,
            )
            continue
        found[identity] = url
    return found
