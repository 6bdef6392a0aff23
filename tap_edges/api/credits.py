"""The workspace's credits before and after a sync, for the summary (both endpoints optional).

``GET /v1/workspaces`` (``credits_left``, ``credits_used``, ``credits_max``, ``plan_name``; one
client copes with a list of workspaces as well as an object) and, where it answers,
``GET /v1/workspaces/consumption`` (``consumptions[]`` of ``{action_slug, credits_used,
runs_count}``). A refusal or a shape the tap does not know is noted once and never fails the
sync: the credits are information, not data.
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_edges import errors

if t.TYPE_CHECKING:
    import logging

    from tap_edges.api.client import EdgesClient


@dataclasses.dataclass(frozen=True)
class Credits:
    """The workspace's credits at one moment, and what each action used this month."""

    left: float | None = None
    used: float | None = None
    most: float | None = None
    plan: str | None = None
    by_action: dict[str, float] | None = None  # None: consumption not answered


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _workspace(data: object) -> dict[str, t.Any] | None:
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return data if isinstance(data, dict) else None


def _by_action(data: object) -> dict[str, float] | None:
    rows = data.get("consumptions") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return None
    used: dict[str, float] = {}
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("action_slug"), str):
            used[row["action_slug"]] = used.get(row["action_slug"], 0.0) + (
                _number(row.get("credits_used")) or 0.0
            )
    return used


def read_credits(client: EdgesClient, logger: logging.Logger, noted: set[str]) -> Credits | None:
    """The workspace's credits now; None when Edges does not tell (noted once per sync).

    Args:
        client: The API client.
        logger: Where a refusal or an unknown shape is noted (INFO, once per endpoint).
        noted: The endpoints already noted this sync (updated).

    Returns:
        The credits, or None.
    """
    workspace = _answer(client.workspace, "/v1/workspaces", logger, noted)
    found = _workspace(workspace)
    if found is None:
        if workspace is not None:
            _note(logger, noted, "/v1/workspaces", "an answer of a shape the tap does not know")
        return None
    consumption = _answer(client.consumption, "/v1/workspaces/consumption", logger, noted)
    by_action = _by_action(consumption) if consumption is not None else None
    plan = found.get("plan_name")
    return Credits(
        left=_number(found.get("credits_left")),
        used=_number(found.get("credits_used")),
        most=_number(found.get("credits_max")),
        plan=plan if isinstance(plan, str) else None,
        by_action=by_action,
    )


def _answer(
    call: t.Callable[[], t.Any], path: str, logger: logging.Logger, noted: set[str]
) -> t.Any:  # noqa: ANN401
    try:
        return call()
    except errors.EdgesError as exc:  # a 403 too: the key may not see the workspace's billing
        _note(logger, noted, path, f"no answer ({exc})")
        return None


def _note(logger: logging.Logger, noted: set[str], path: str, what: str) -> None:
    if path not in noted:
        noted.add(path)
        logger.info("Credits: GET %s gave %s; the summary goes without it.", path, what)


def credits_line(before: Credits | None, after: Credits | None) -> str:
    """The summary's credits part: used this sync, left, and per action where told."""
    if before is None or after is None:
        return "credits: not told by Edges"
    parts = []
    if before.used is not None and after.used is not None:
        parts.append(f"used this sync {after.used - before.used:g}")
    elif before.left is not None and after.left is not None:
        parts.append(f"used this sync {before.left - after.left:g}")
    if after.left is not None:
        most = f" of {after.most:g}" if after.most is not None else ""
        parts.append(f"left {after.left:g}{most}")
    if after.plan:
        parts.append(f"plan {after.plan}")
    if before.by_action is not None and after.by_action is not None:
        spent = {
            action: used - before.by_action.get(action, 0.0)
            for action, used in sorted(after.by_action.items())
        }
        spent = {action: used for action, used in spent.items() if used}
        parts.append("by action: " + (", ".join(f"{a} {u:g}" for a, u in spent.items()) or "none"))
    return "credits: " + (", ".join(parts) or "not told by Edges")
