"""The ``/v1`` routes: auth, request-level faults, routing to the engine."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from edges_sandbox import billing
from edges_sandbox.engine import Engine
from edges_sandbox.faults import GatewayAnswer, lost_answer
from edges_sandbox.identities import (
    Shown,
    identity_object,
    identity_objects,
    own_profile,
    shown,
)
from edges_sandbox.paging import outputs_page
from edges_sandbox.validation import parse_launch
from edges_sandbox.variants import CREDITS_LIST, NO_CREDITS
from edges_sandbox.wire import ApiError, Request, Response, int_param, not_found

if TYPE_CHECKING:
    from edges_sandbox.faults import RequestGate
    from edges_sandbox.settings import SandboxSettings

Handler = Callable[[Engine, Request, "tuple[str, ...]"], Response]
UID = r"([^/]+)"


def launch(engine: Engine, request: Request, args: tuple[str, ...]) -> Response:
    """``POST /v1/actions/{action}/run/async``."""
    body = request.json_object()
    settings = engine.settings
    validated = parse_launch(
        args[0], body, settings.max_results_limit, settings.extra_identities, settings.variants
    )
    return Response(201, engine.launch(validated))


def list_runs(engine: Engine, request: Request, _args: tuple[str, ...]) -> Response:
    """``GET /v1/runs`` with repeated-key filters, ``limit``/``offset`` paging and ``sort``."""
    limit = int_param(request, "limit", 10, 1, 100)
    offset = int_param(request, "offset", 0, 0, None)
    filters = {name: request.query.get(name, []) for name in ("uid", "status", "action_name")}
    sort = request.query.get("sort") or ["created_at"]
    return Response(200, engine.list_runs(filters, sort, offset, limit))


def get_run(engine: Engine, _request: Request, args: tuple[str, ...]) -> Response:
    """``GET /v1/runs/{uid}``."""
    return Response(200, engine.run_object(args[0]))


def run_status(engine: Engine, _request: Request, args: tuple[str, ...]) -> Response:
    """``GET /v1/runs/{uid}/status``."""
    return Response(200, engine.run_object(args[0], light=True))


def run_outputs(engine: Engine, request: Request, args: tuple[str, ...]) -> Response:
    """``GET /v1/runs/{uid}/outputs``."""
    return outputs_page(engine, request, args[0])


def run_inputs(engine: Engine, request: Request, args: tuple[str, ...]) -> Response:
    """``GET /v1/runs/{uid}/inputs`` with ``limit`` (1..100, default 100)/``offset`` paging."""
    limit = int_param(request, "limit", 100, 1, 100)
    offset = int_param(request, "offset", 0, 0, None)
    return Response(200, engine.inputs(args[0], offset, limit))


def cancel_run(engine: Engine, _request: Request, args: tuple[str, ...]) -> Response:
    """``POST /v1/runs/{uid}/cancel``."""
    return Response(200, engine.cancel(args[0]))


def continue_run(engine: Engine, _request: Request, args: tuple[str, ...]) -> Response:
    """``POST /v1/runs/{uid}/continue`` (any body is ignored)."""
    return Response(200, engine.continue_run(args[0]))


def list_identities(engine: Engine, request: Request, _args: tuple[str, ...]) -> Response:
    """``GET /v1/identities``, optionally filtered by a ``query`` name substring.

    Their accounts are listed with ``retrieve_accounts=true`` only.
    """
    query = (request.query.get("query") or [""])[-1].lower()
    every = identity_objects(engine.settings.extra_identities, _shown(engine, request))
    return Response(200, [one for one in every if query in one["name"].lower()])


def get_identity(engine: Engine, request: Request, args: tuple[str, ...]) -> Response:
    """``GET /v1/identities/{uid}`` (its accounts with ``retrieve_accounts=true`` only)."""
    found = identity_object(args[0], engine.settings.extra_identities, _shown(engine, request))
    if found is None:
        msg = f"identity {args[0]}"
        raise not_found(msg)
    return Response(200, found)


def get_workspace(engine: Engine, request: Request, _args: tuple[str, ...]) -> Response:
    """``GET /v1/workspaces``: the workspace and its credits this month.

    ``credits_list``: a list holding the workspace; ``no_credits``: 404.
    """
    variants = engine.settings.variants
    if NO_CREDITS in variants:
        raise _no_route(request)
    with engine.lock:
        runs, purged, now = engine.runs.values(), engine.purged_charges, engine.clock()
        found = billing.workspace(runs, purged, now, engine.settings.credits_max)
    return Response(200, [found] if CREDITS_LIST in variants else found)


def get_consumption(engine: Engine, request: Request, _args: tuple[str, ...]) -> Response:
    """``GET /v1/workspaces/consumption``: the credits used this month, per action.

    ``no_credits`` and ``credits_list``: 404.
    """
    if engine.settings.variants & {NO_CREDITS, CREDITS_LIST}:
        raise _no_route(request)
    with engine.lock:
        runs, purged, now = engine.runs.values(), engine.purged_charges, engine.clock()
        return Response(200, billing.consumption(runs, purged, now, engine.settings.credits_max))


def me(engine: Engine, request: Request, _args: tuple[str, ...]) -> Response:
    """``POST /v1/actions/linkedin-me/run/live``: the identity's own LinkedIn profile."""
    body = request.json_object()
    identities = body.get("identity_ids")
    uid = identities[0] if isinstance(identities, list) and len(identities) == 1 else None
    found = identity_object(uid, engine.settings.extra_identities)
    if found is None:
        msg = "identity_ids: exactly one identity of this workspace"
        raise ApiError(400, "BAD_PARAMETERS", msg)
    return Response(200, own_profile(found["name"]))


def _shown(engine: Engine, request: Request) -> Shown:
    asked = (request.query.get("retrieve_accounts") or [""])[-1].lower() == "true"
    return shown(engine.settings.variants, accounts=asked)


ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = tuple(
    (method, re.compile(f"^/v1{pattern}/?$"), handler)
    for method, pattern, handler in (
        ("POST", rf"/actions/{UID}/run/async", launch),
        ("POST", "/actions/linkedin-me/run/live", me),
        ("GET", "/runs", list_runs),
        ("GET", rf"/runs/{UID}", get_run),
        ("GET", rf"/runs/{UID}/status", run_status),
        ("GET", rf"/runs/{UID}/outputs", run_outputs),
        ("GET", rf"/runs/{UID}/inputs", run_inputs),
        ("POST", rf"/runs/{UID}/cancel", cancel_run),
        ("POST", rf"/runs/{UID}/continue", continue_run),
        ("GET", "/identities", list_identities),
        ("GET", rf"/identities/{UID}", get_identity),
        ("GET", "/workspaces", get_workspace),
        ("GET", "/workspaces/consumption", get_consumption),
    )
)


def rate_limit_route(path: str) -> str:
    """Name a ``/v1/runs*`` path the way ``X-RateLimit-Type`` does (uid left out).

    Args:
        path: The request path, e.g. ``/v1/runs/<uid>/outputs``.

    Returns:
        E.g. ``/v1/runs/outputs``.
    """
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[:2] + parts[3:4])


def handle_api(
    engine: Engine, settings: SandboxSettings, gate: RequestGate, request: Request
) -> Response:
    """Answer one ``/v1`` request, turning every :class:`ApiError` into the error body.

    Args:
        engine: The engine.
        settings: Current settings (key, faults).
        gate: The request-level fault gate.
        request: The request.
    """
    headers: dict[str, str] = {}
    try:
        _authenticate(request, settings)
        if request.path == "/v1/runs" or request.path.startswith("/v1/runs/"):
            route, outputs = rate_limit_route(request.path), request.path.endswith("/outputs")
            headers = gate.admit(settings.faults, route, is_outputs=outputs)
        response = _dispatch(engine, request)
        if _applied(request, response) and gate.lose_answer(settings.faults):
            raise lost_answer(settings.faults.lost_answer_kind)
    except ApiError as error:
        response = error.response()
    except GatewayAnswer as gateway:
        response = Response(gateway.status, gateway.page(), gateway.headers)
    response.headers = headers | response.headers
    return response


def _applied(request: Request, response: Response) -> bool:
    """Whether a run was launched or continued (what a lost answer makes ambiguous)."""
    launched_or_continued = request.path.endswith(("/run/async", "/continue"))
    return request.method == "POST" and launched_or_continued and response.status in {200, 201}


def _authenticate(request: Request, settings: SandboxSettings) -> None:
    # Constant-time comparison; the received key is never echoed, logged or stored.
    if not hmac.compare_digest((request.api_key or "").encode(), settings.api_key.encode()):
        msg = "missing or invalid API key (X-API-Key header)"
        raise ApiError(401, "UNAUTHORIZED", msg)


def _dispatch(engine: Engine, request: Request) -> Response:
    for method, pattern, handler in ROUTES:
        found = pattern.match(request.path)
        if found and method == request.method:
            return handler(engine, request, found.groups())
    raise _no_route(request)


def _no_route(request: Request) -> ApiError:
    return ApiError(404, "STATUS_404", f"no route for {request.method} {request.path}")
