"""The sandbox workspace: its fixed API key default, user, workspace and identities.

Besides its three named identities, a sandbox may hold any number of extra engagement
identities (``Sandbox(extra_identities=N)``), for benchmarks with many partitions. Their uids
are deterministic: :func:`extra_identity_ids` lists them.

Every identity has one connected LinkedIn account. As Edges does, identities show it only when
asked (``retrieve_accounts=true``): otherwise their ``integrations`` list is empty.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from edges_sandbox.variants import IDENTITY_ACCOUNTS

DEFAULT_API_KEY = "edges-sandbox-key"
WORKSPACE_UID = "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a"
USER_UID = "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"
ENGAGEMENT_IDENTITY_IDS = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
)
STANDARD_IDENTITY_ID = "33333333-3333-4333-8333-333333333333"
EXTRA_PREFIX = "eeeeeeee-0000-4000-8000-"
EXTRA_DIGITS = 12
ACCOUNT_NAMESPACE = uuid.UUID("9d5c1f7e-2b0a-4f43-8e1d-6a7b3c2d1e0f")

_NAMES = {
    ENGAGEMENT_IDENTITY_IDS[0]: ("Ada Lovelace", "engagement"),
    ENGAGEMENT_IDENTITY_IDS[1]: ("Grace Hopper", "engagement"),
    STANDARD_IDENTITY_ID: ("Alan Turing", "standard"),
}


def extra_identity_ids(count: int) -> list[str]:
    """Return the uids of the first ``count`` extra engagement identities.

    Args:
        count: How many.

    Returns:
        ``eeeeeeee-0000-4000-8000-000000000001`` and so on, in order.
    """
    return [f"{EXTRA_PREFIX}{index:0{EXTRA_DIGITS}d}" for index in range(1, count + 1)]


def _extra_index(uid: str) -> int | None:
    """Return the 1-based number of an extra identity uid, or ``None`` for any other string."""
    digits = uid.removeprefix(EXTRA_PREFIX)
    if digits == uid or len(digits) != EXTRA_DIGITS or not digits.isdigit():
        return None
    return int(digits)


@dataclass(frozen=True)
class Shown:
    """How identities are shown.

    Attributes:
        accounts: Whether the connected accounts are listed (``retrieve_accounts=true``).
        key: Where they are listed: ``integrations`` (the docs), or ``accounts`` (Edges'
            skills repo; the ``identity_accounts`` variant), then beside an empty
            ``integrations``.
    """

    accounts: bool = False
    key: str = "integrations"


def shown(variants: frozenset[str], *, accounts: bool) -> Shown:
    """Say how identities are shown under these variants.

    Args:
        variants: The API variants in force (``identity_accounts`` moves the accounts).
        accounts: Whether the accounts were asked for (``retrieve_accounts=true``).
    """
    return Shown(accounts, "accounts" if IDENTITY_ACCOUNTS in variants else "integrations")


def _identity_object(uid: str, name: str, kind: str, shown: Shown) -> dict[str, Any]:
    found: dict[str, Any] = {
        "uid": uid,
        "name": name,
        "type": kind,
        "timezone": "Europe/Paris",
        "created_at": "2025-01-15T09:00:00.000000Z",
        "workspace_uid": WORKSPACE_UID,
        "integrations": [],
    }
    if shown.accounts:
        account_uid = str(uuid.uuid5(ACCOUNT_NAMESPACE, uid))
        found[shown.key] = [{"uid": account_uid, "type": "linkedin", "status": "connected"}]
    return found


def identity_objects(extra: int = 0, shown: Shown = Shown()) -> list[dict[str, Any]]:
    """Return the identities as ``GET /v1/identities`` serves them.

    Args:
        extra: Number of extra engagement identities the sandbox holds.
        shown: Whether and where their accounts are listed.

    Returns:
        One object per identity: the named ones (engagement identities first), then the extra
        ones in order.
    """
    named = [_identity_object(uid, name, kind, shown) for uid, (name, kind) in _NAMES.items()]
    extras = [
        _identity_object(uid, f"Engagement Identity {index}", "engagement", shown)
        for index, uid in enumerate(extra_identity_ids(extra), start=1)
    ]
    return named + extras


def identity_object(
    uid: str | None,
    extra: int = 0,
    shown: Shown = Shown(),
) -> dict[str, Any] | None:
    """Return one identity as ``GET /v1/identities/{uid}`` serves it, or ``None``.

    Args:
        uid: The identity uid.
        extra: Number of extra engagement identities the sandbox holds.
        shown: Whether and where its accounts are listed.
    """
    if uid is None:
        return None
    if uid in _NAMES:
        name, kind = _NAMES[uid]
        return _identity_object(uid, name, kind, shown)
    index = _extra_index(uid)
    if index is None or not 1 <= index <= extra:
        return None
    return _identity_object(uid, f"Engagement Identity {index}", "engagement", shown)


def identity_type(uid: str | None, extra: int = 0) -> str | None:
    """Return ``"engagement"``/``"standard"`` for a known identity uid, else ``None``.

    Args:
        uid: The identity uid (``None``: a managed run's, which has none).
        extra: Number of extra engagement identities the sandbox holds.
    """
    found = identity_object(uid, extra)
    return found["type"] if found else None


def own_profile(name: str) -> dict[str, Any]:
    """What ``linkedin-me`` answers for an identity: its LinkedIn account's profile.

    Args:
        name: The identity's name (its LinkedIn member's, in the sandbox).

    Returns:
        The profile URL (``https://www.linkedin.com/in/<first>-<last>``) and the names.
    """
    words = name.lower().split()
    first, _, last = name.partition(" ")
    return {
        "linkedin_profile_url": f"https://www.linkedin.com/in/{'-'.join(words)}",
        "first_name": first,
        "last_name": last,
    }
