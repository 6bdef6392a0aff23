"""Fault injection: the knobs (:class:`Faults`) and the per-request gate that applies them."""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import typing as t
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edges_sandbox.runs import HANG
from edges_sandbox.wire import ApiError

if TYPE_CHECKING:
    from edges_sandbox.clock import Clock

WINDOW_SECONDS = 60.0
SET_FIELDS = ("partial", "hang", "invalid", "malformed_outputs")


@dataclass
class Faults:
    """Faults to inject; everything is off by default.

    Request-level faults apply to ``/v1/runs*`` requests only. The match-based faults
    (``fail``, ``partial``, ``hang``, ``invalid``, ``malformed_outputs``) apply to runs whose
    input value (post or thread URL), identity uid or action slug equals one of the keys;
    ``fail``/``partial``/``hang``/``invalid`` are decided when an iteration starts (launch or
    continue). ``garbage_every`` answers every Nth ``/v1/runs*`` request with HTTP 200 and an
    HTML page, as a misbehaving proxy would. ``lost_answer_every`` applies every Nth launch or
    continue and then loses its answer, as a gateway that times out would:
    ``lost_answer_kind`` ``"504"`` answers ``504 UNKNOWN_ERROR``; ``"reset"`` closes the
    connection without answering. ``gateway_429_every`` and ``gateway_5xx_every`` answer every
    Nth ``/v1/runs*`` request as the gateway in front of Edges would, without an Edges body:
    a 429 with an HTML page and ``Retry-After: gateway_retry_after``; a 502, 503, 504, 502, ...
    with an HTML page.
    """

    runs_budget_per_minute: int | None = None
    error_every: int | None = None
    error_rate: float = 0.0
    garbage_every: int | None = None
    gateway_429_every: int | None = None
    gateway_retry_after: int = 1
    gateway_5xx_every: int | None = None
    lost_answer_every: int | None = None
    lost_answer_kind: str = "504"
    outputs_429_every: int | None = None
    outputs_retry_after: int = 1
    latency_seconds: float = 0.0
    fail: dict[str, str] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)
    hang: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    malformed_outputs: set[str] = field(default_factory=set)

    def outcome(self, keys: list[str]) -> tuple[str, dict[str, Any] | None]:
        """Decide how an iteration of a run with these match keys ends.

        Args:
            keys: The run's input value, identity uid and action slug.

        Returns:
            The terminal status (or ``HANG``) and the ``last_error`` to show.
        """
        for key in keys:
            if key in self.fail:
                message = f"the sandbox was told to fail runs matching {key}"
                return "FAILED", {"label": self.fail[key], "message": message, "params": {}}
        if any(key in self.hang for key in keys):
            return HANG, None
        if any(key in self.invalid for key in keys):
            message = "the input is invalid (sandbox invalid fault)"
            return "INVALID", {"label": "BAD_INPUT", "message": message, "params": {}}
        if any(key in self.partial for key in keys):
            message = "some items could not be extracted (sandbox partial fault)"
            return "PARTIAL_SUCCEEDED", {
                "label": "LK_MISSING_DATA",
                "message": message,
                "params": {},
            }
        return "SUCCEEDED", None

    def to_json(self) -> dict[str, Any]:
        """Return the faults as JSON-able data (sets become sorted lists)."""
        data = dataclasses.asdict(self)
        for name in SET_FIELDS:
            data[name] = sorted(data[name])
        return data

    def replaced(self, changes: dict[str, Any]) -> Faults:
        """Return a copy with some fields replaced (lists accepted for the set fields).

        Args:
            changes: Field names and their new values.

        Raises:
            ValueError: For an unknown field name.
        """
        known = {item.name for item in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            msg = f"unknown fault fields: {', '.join(unknown)}"
            raise ValueError(msg)
        converted: dict[str, Any] = {
            name: set(value) if name in SET_FIELDS else value for name, value in changes.items()
        }
        return dataclasses.replace(self, **converted)


GATEWAY_5XX = (502, 503, 504)
GATEWAY_REASONS = {
    200: "502 Bad Gateway (sandbox fault)",
    429: "429 Too Many Requests",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


class GatewayAnswer(Exception):  # noqa: N818 - not an error of the sandbox, an answer
    """Raised by the gate when a request must get an HTML page from a gateway, not Edges.

    Attributes:
        status: The HTTP status (200 for a misbehaving proxy's page, ``garbage_every``).
        headers: Headers to send (``Retry-After`` for a 429).
    """

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Create the answer.

        Args:
            status: The HTTP status.
            headers: Headers to send.
        """
        super().__init__(status)
        self.status = status
        self.headers = headers or {}

    def page(self) -> bytes:
        """The HTML page a gateway answers with (no Edges error body)."""
        reason = GATEWAY_REASONS[self.status]
        return (
            f"<html><head><title>{reason}</title></head><body><center><h1>{reason}</h1>"
            "</center><hr><center>sandbox gateway</center></body></html>"
        ).encode()


class RequestGate:
    """Applies the request-level faults (budget, 5xx, 429 on outputs) to ``/v1/runs*`` requests."""

    def __init__(self, seed: int, clock: Clock) -> None:
        """Create the gate.

        Args:
            seed: Seed of the RNG behind ``error_rate``.
            clock: Clock for the sliding rate-limit window.
        """
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._rng = random.Random(f"{seed}|faults")  # noqa: S311 - not crypto
        self._runs_seen = 0
        self._outputs_seen = 0
        self._applied_seen = 0

    def admit(self, faults: Faults, route: str, *, is_outputs: bool) -> dict[str, str]:
        """Count one request and raise the error a fault prescribes for it, if any.

        Args:
            faults: The faults in force.
            route: The route name for ``X-RateLimit-Type`` (e.g. ``/v1/runs/outputs``).
            is_outputs: Whether it is a ``GET /v1/runs/{uid}/outputs`` request.

        Returns:
            Headers to add to the response (``X-RateLimit-Remaining`` under a budget).

        Raises:
            ApiError: 429 or 5xx when a fault applies.
            GatewayAnswer: When a gateway, not Edges, answers (an HTML page).
        """
        with self._lock:
            self._runs_seen += 1
            self._outputs_seen += int(is_outputs)
            headers = self._spend_budget(faults, route)
            every = faults.error_every
            if every and self._runs_seen % every == 0:
                raise _server_error(503, headers)
            if faults.error_rate > 0 and self._rng.random() < faults.error_rate:
                raise _server_error(self._rng.choice((500, 502, 503)), headers)
            self._gateway(faults, headers)
            every = faults.garbage_every
            if every and self._runs_seen % every == 0:
                raise GatewayAnswer(200)
            every = faults.outputs_429_every
            if is_outputs and every and self._outputs_seen % every == 0:
                retry = {"Retry-After": str(faults.outputs_retry_after), "X-RateLimit-Type": route}
                raise _too_many(headers | retry)
            return headers

    def _gateway(self, faults: Faults, headers: dict[str, str]) -> None:
        every = faults.gateway_5xx_every
        if every and self._runs_seen % every == 0:
            status = GATEWAY_5XX[(self._runs_seen // every - 1) % len(GATEWAY_5XX)]
            raise GatewayAnswer(status, headers)
        every = faults.gateway_429_every
        if every and self._runs_seen % every == 0:
            raise GatewayAnswer(429, headers | {"Retry-After": str(faults.gateway_retry_after)})

    def lose_answer(self, faults: Faults) -> bool:
        """Count one applied launch or continue; tell whether its answer must be lost.

        Args:
            faults: The faults in force.
        """
        with self._lock:
            self._applied_seen += 1
            every = faults.lost_answer_every
            return bool(every) and self._applied_seen % t.cast("int", every) == 0

    def _spend_budget(self, faults: Faults, route: str) -> dict[str, str]:
        budget = faults.runs_budget_per_minute
        if budget is None:
            return {}
        now = self._clock()
        while self._window and self._window[0] <= now - WINDOW_SECONDS:
            self._window.popleft()
        if len(self._window) >= budget:
            wait = max(1, math.ceil(self._window[0] + WINDOW_SECONDS - now)) if self._window else 1
            headers = {"Retry-After": str(wait), "X-RateLimit-Type": route}
            raise _too_many(headers | {"X-RateLimit-Remaining": "0"})
        self._window.append(now)
        return {"X-RateLimit-Remaining": str(budget - len(self._window))}


def _server_error(status: int, headers: dict[str, str]) -> ApiError:
    message = "internal error injected by the sandbox"
    return ApiError(status, "UNKNOWN_ERROR", message, scope="server", headers=headers)


def lost_answer(kind: str) -> ApiError:
    """The answer a gateway gives after it applied a request and lost the server's answer.

    Args:
        kind: ``"504"`` or ``"reset"`` (the HTTP layer closes the connection instead).
    """
    message = "gateway timeout (the sandbox applied the request, then lost its answer)"
    return ApiError(504, "UNKNOWN_ERROR", message, scope="server", headers={"X-Sandbox-Lost": kind})


def _too_many(headers: dict[str, str]) -> ApiError:
    message = "too many requests on /v1/runs; retry later"
    return ApiError(429, "STATUS_429", message, scope="rate_limit", headers=headers)
