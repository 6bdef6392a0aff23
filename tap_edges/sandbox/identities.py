"""The sandbox workspace: its fixed API key default, user, workspace and identities."""

from __future__ import annotations

from typing import Any

DEFAULT_API_KEY = "edges-sandbox-key"
WORKSPACE_UID = "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a"
USER_UID = "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"
ENGAGEMENT_IDENTITY_IDS = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
)
STANDARD_IDENTITY_ID = "33333333-3333-4333-8333-333333333333"

_NAMES = {
    ENGAGEMENT_IDENTITY_IDS[0]: ("Ada Lovelace", "engagement"),
    ENGAGEMENT_IDENTITY_IDS[1]: ("Grace Hopper", "engagement"),
    STANDARD_IDENTITY_ID: ("Alan Turing", "standard"),
}


def identity_objects() -> list[dict[str, Any]]:
    """Return the identities as ``GET /v1/identities`` serves them.

    Returns:
        One object per identity, engagement identities first.
    """
    return [
        {
            "uid": uid,
            "name": name,
            "type": kind,
            "timezone": "Europe/Paris",
            "created_at": "2025-01-15T09:00:00.000000Z",
            "workspace_uid": WORKSPACE_UID,
            "integrations": [{"type": "linkedin", "status": "connected"}],
        }
        for uid, (name, kind) in _NAMES.items()
    ]


def identity_type(uid: str) -> str | None:
    """Return ``"engagement"``/``"standard"`` for a known identity uid, else ``None``.

    Args:
        uid: The identity uid.
    """
    entry = _NAMES.get(uid)
    return entry[1] if entry else None
