"""Request/response values passed between the HTTP layer and the route handlers, and errors."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request.

    Attributes:
        method: HTTP method, upper case.
        path: URL path without the query string.
        query: Query parameters, each name with all of its values (repeated keys kept).
        body: Raw request body.
        origin: ``http://127.0.0.1:<port>``, to build absolute URLs such as ``X-Pagination-Next``.
        api_key: The ``X-API-Key`` header received (kept out of ``repr``; never logged).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes = b""
    origin: str = ""
    api_key: str | None = field(default=None, repr=False)

    def json(self) -> Any:  # noqa: ANN401 - any JSON value
        """Decode the body as JSON.

        Returns:
            The decoded value.

        Raises:
            ApiError: ``BAD_INPUT`` when the body is not valid JSON.
        """
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "BAD_INPUT", "body must be valid JSON") from exc

    def json_object(self, *, allow_empty: bool = False) -> dict[str, Any]:
        """Decode the body as a JSON object.

        Args:
            allow_empty: Treat an empty body as ``{}``.

        Returns:
            The decoded object.

        Raises:
            ApiError: ``BAD_INPUT`` when the body is not a JSON object.
        """
        if allow_empty and not self.body.strip():
            return {}
        value = self.json()
        if not isinstance(value, dict):
            raise ApiError(400, "BAD_INPUT", "body must be a JSON object")
        return value


@dataclass
class Response:
    """One response: a status, a JSON-able body (or ``None`` for no body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """Return the body as UTF-8 JSON bytes (empty when there is no body; raw bytes as is)."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        # msgspec (a dependency of the tap) encodes pages ten times faster than json.dumps, so
        # the sandbox does not bound the throughput the benchmarks measure.
        return msgspec.json.encode(self.body)


SERVER_ERROR = 500
_SCOPES = {401: "auth", 403: "auth", 404: "input", 429: "rate_limit"}


class ApiError(Exception):
    """An Edges error answer: raised by handlers, rendered with the six-field error body."""

    def __init__(  # noqa: PLR0913 - mirrors the error body
        self,
        status: int,
        label: str,
        message: str,
        *,
        scope: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Create the error.

        Args:
            status: HTTP status (also ``status_code`` in the body).
            label: The ``error_label``.
            message: Human readable text. Never put secrets here.
            scope: The ``error_scope``; derived from the status when omitted.
            headers: Extra response headers.
            params: The body's ``params`` object.
        """
        super().__init__(message)
        self.status = status
        self.label = label
        self.message = message
        self.scope = scope or ("server" if status >= SERVER_ERROR else _SCOPES.get(status, "input"))
        self.headers = headers or {}
        self.params = params or {}

    def response(self) -> Response:
        """Render the error as a :class:`Response` with the Edges error body."""
        body = {
            "error_label": self.label,
            "error_scope": self.scope,
            "error_ref": f"ERR-{uuid.uuid4().hex[:10].upper()}",
            "message": self.message,
            "status_code": self.status,
            "params": self.params,
        }
        return Response(self.status, body, dict(self.headers))


def not_found(what: str) -> ApiError:
    """Build the 404 ``STATUS_404`` error.

    Args:
        what: Description of the missing resource.

    Returns:
        The error, ready to raise.
    """
    return ApiError(404, "STATUS_404", f"{what} not found")


def int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    """Read one integer query parameter within bounds.

    Args:
        request: The request.
        name: Parameter name.
        default: Value when absent.
        low: Smallest allowed value.
        high: Largest allowed value, or ``None`` for no maximum.

    Returns:
        The value.

    Raises:
        ApiError: ``BAD_PARAMETERS`` naming the parameter when invalid.
    """
    values = request.query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        msg = f"query parameter {name} must be an integer {bound}"
        raise ApiError(400, "BAD_PARAMETERS", msg)
    return value
