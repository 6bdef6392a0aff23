"""``GET /v1/runs/{uid}/outputs``: cursor pagination (and the deprecated offset paging).

The cursor is opaque to clients: URL-safe base64 of the offset of the next item and a snapshot
marker (the number of finished iterations when the first page was read), so that an iteration
finishing mid-pagination does not shift pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from edges_sandbox.validation import bad_parameters
from edges_sandbox.variants import OFFSET_REFUSED, REFUSE_OFFSET
from edges_sandbox.wire import Request, Response, int_param

if TYPE_CHECKING:
    from edges_sandbox.engine import Engine
    from edges_sandbox.items import OutputView

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MALFORMED_ITEM = "<<malformed output item injected by the sandbox>>"


def encode_cursor(offset: int, marker: int) -> str:
    """Build an opaque cursor.

    Args:
        offset: Index of the next item.
        marker: Snapshot marker (finished iterations).
    """
    raw = json.dumps({"o": offset, "m": marker}, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Read a cursor built by :func:`encode_cursor`.

    Args:
        cursor: The cursor.

    Returns:
        The offset and the snapshot marker.

    Raises:
        ApiError: ``BAD_PARAMETERS`` for a cursor this server did not issue.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset, marker = int(data["o"]), int(data["m"])
    except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error) as exc:
        msg = "cursor is invalid or expired"
        raise bad_parameters(msg) from exc
    if offset < 0 or marker < 0:
        msg = "cursor is invalid or expired"
        raise bad_parameters(msg)
    return offset, marker


def outputs_page(engine: Engine, request: Request, uid: str) -> Response:
    """Serve one page of a run's outputs.

    Args:
        engine: The engine.
        request: The request (``limit``, ``cursor`` or the deprecated ``offset``).
        uid: The run uid.

    Raises:
        ApiError: 400 ``BAD_PARAMETERS`` for an invalid parameter or cursor, or for any
            ``offset`` under the ``refuse_offset`` variant.
    """
    limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if "offset" in request.query:
        if REFUSE_OFFSET in engine.settings.variants:
            raise bad_parameters(OFFSET_REFUSED)
        # Deprecated offset paging: no cursor, no X-Pagination-Next header.
        offset = int_param(request, "offset", 0, 0, None)
        view = engine.outputs(uid, None)
        return Response(200, _body(engine, view, offset, limit))
    cursors = request.query.get("cursor")
    offset, marker = decode_cursor(cursors[-1]) if cursors and cursors[-1] else (0, None)
    view = engine.outputs(uid, marker)
    headers: dict[str, str] = {}
    if offset + limit < len(view.items):
        cursor = encode_cursor(offset + limit, view.marker)
        headers["X-Pagination-Next"] = (
            f"{request.origin}{request.path}?limit={limit}&cursor={cursor}"
        )
    return Response(200, _body(engine, view, offset, limit), headers)


def _body(engine: Engine, view: OutputView, offset: int, limit: int) -> list[Any] | bytes:
    # Drifted records are new objects per page: the encoder would keep every one of them.
    if engine.settings.preencode_outputs and not view.malformed and not view.items.drifting:
        return engine.encoder.page(view.items, offset, limit)
    page: list[Any] = list(view.items[offset : offset + limit])
    if view.malformed and page:
        page.insert(len(page) // 2, MALFORMED_ITEM)
    return page
