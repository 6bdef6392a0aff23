"""The log of the API requests served (``sandbox.requests``), and a test's observer of each."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from edges_sandbox.wire import Request, Response

    # Called with every API request once it is applied, before its answer is sent (tests: to
    # look at what the client had written before it sent the request, or to kill the client).
    Observer = Callable[[Request, Response], None]


class RequestLog:
    """The ``/v1`` requests served so far (method, path, query, status, time; no headers).

    Attributes:
        observer: Called with every API request and its answer once the request is applied,
            before the answer is sent (``None``: nobody looks). A test may kill the client
            there: the answer is then lost.
    """

    __slots__ = ("_entries", "_lock", "observer")

    def __init__(self) -> None:
        """Start empty, with no observer."""
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.observer: Observer | None = None

    def record(self, request: Request, response: Response, now: float) -> None:
        """Log an answered API request, then show it to the observer (if any).

        Args:
            request: The request.
            response: Its answer, not sent yet.
            now: The sandbox clock's time.
        """
        entry = {
            "time": now,
            "method": request.method,
            "path": request.path,
            "query": {name: list(values) for name, values in request.query.items()},
            "status": response.status,
        }
        with self._lock:
            self._entries.append(entry)
        if self.observer is not None:  # a test's look at each request, once it is applied
            self.observer(request, response)

    def entries(self) -> list[dict[str, Any]]:
        """Return a copy of the requests logged so far, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self._entries.clear()
