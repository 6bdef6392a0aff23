"""``GET /v1/runs``: filtering, sorting and slicing the runs, building only the objects asked for.

Only the runs a request asks for are turned into run objects: ``uid`` and ``action_name``
filters apply to the runs themselves, and a sort on fields that never change (``created_at``,
``id``, ...) is applied before the page is cut out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edges_sandbox.clock import iso
from edges_sandbox.validation import bad_parameters

if TYPE_CHECKING:
    from collections.abc import Callable

    from edges_sandbox.runs import Run

SORTABLE = frozenset(
    {"id", "uid", "name", "action_name", "action_id", "status", "output_count"}
    | {"created_at", "updated_at", "started_at", "finished_at"},
)
STATIC_FIELDS = frozenset({"id", "uid", "name", "action_name", "action_id", "created_at"})


def run_objects(  # noqa: PLR0913, PLR0917 - the request's parts
    runs: dict[str, Run],
    filters: dict[str, list[str]],
    sort: list[str],
    offset: int,
    limit: int | None,
    build: Callable[[Run], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Return run objects filtered (any of the values per key), sorted and sliced.

    Args:
        runs: Every run, by uid.
        filters: ``uid``, ``status`` and/or ``action_name`` values.
        sort: Field names, ``-`` prefixed for descending; applied left to right.
        offset: Number of matching runs to skip.
        limit: Largest number of runs to return (``None``: all).
        build: Builds the run object of a run.

    Raises:
        ApiError: 400 ``BAD_PARAMETERS`` for a field that cannot be sorted on.
    """
    fields = [spec.removeprefix("-") for spec in sort]
    for field in fields:
        if field not in SORTABLE:
            msg = f"sort field {field} is not supported"
            raise bad_parameters(msg)
    end = None if limit is None else offset + limit
    chosen = _matching_runs(runs, filters)
    if not filters.get("status") and STATIC_FIELDS.issuperset(fields):
        for spec in reversed(sort):
            field = spec.removeprefix("-")
            chosen.sort(
                key=lambda run: _sort_key(_static(run, field)), reverse=spec.startswith("-")
            )
        return [build(run) for run in chosen[offset:end]]
    objects = [build(run) for run in chosen]
    wanted = filters.get("status")
    if wanted:
        objects = [obj for obj in objects if obj["status"] in wanted]
    for spec in reversed(sort):
        field = spec.removeprefix("-")
        objects.sort(key=lambda obj: _sort_key(obj[field]), reverse=spec.startswith("-"))
    return objects[offset:end]


def _matching_runs(runs: dict[str, Run], filters: dict[str, list[str]]) -> list[Run]:
    """The runs passing the ``uid`` and ``action_name`` filters, in creation order."""
    uids = filters.get("uid")
    if uids:
        chosen = {uid: runs[uid] for uid in uids if uid in runs}
        found = sorted(chosen.values(), key=lambda run: run.id)
    else:
        found = list(runs.values())
    actions = filters.get("action_name")
    if actions:
        found = [run for run in found if run.action_name in actions]
    return found


def _static(run: Run, field: str) -> Any:  # noqa: ANN401 - any JSON scalar
    """A field of the run object that never changes, read without building the object."""
    if field == "created_at":
        return iso(run.created_at)
    return getattr(run, field)


def _sort_key(value: Any) -> tuple[bool, Any]:  # noqa: ANN401 - any JSON scalar
    return (value is None, value if value is not None else 0)
