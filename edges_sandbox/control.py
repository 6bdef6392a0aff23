"""The ``/_sandbox/`` control routes: the world (grow, posts, conversations), settings, requests.

They need no API key, are not counted by budgets or faults and are not logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edges_sandbox.wire import ApiError, Request, Response

if TYPE_CHECKING:
    from edges_sandbox.backstage import Backstage
    from edges_sandbox.requestlog import RequestLog
    from edges_sandbox.settings import SandboxSettings

GROW_FIELDS = ("n", "action", "identity_id", "input")
SETTINGS = ("faults", "outputs-mode", "variants")
WORLD_ROUTES = ("publish-post", "start-conversation")


@dataclass(frozen=True)
class Controlled:
    """What the control routes reach: the world and its runs, the settings, the request log."""

    backstage: Backstage
    settings: SandboxSettings
    requests: RequestLog


def handle_control(sandbox: Controlled, request: Request) -> Response:
    """Answer one ``/_sandbox/...`` request.

    Args:
        sandbox: What is being controlled.
        request: The request.
    """
    try:
        return _dispatch(sandbox, request)
    except (ValueError, TypeError) as exc:
        return ApiError(400, "BAD_INPUT", str(exc)).response()
    except ApiError as error:
        return error.response()


def _dispatch(sandbox: Controlled, request: Request) -> Response:
    name = request.path.removeprefix("/_sandbox/").strip("/")
    method = request.method
    if (method, name) == ("POST", "grow"):
        return Response(200, {"added": sandbox.backstage.grow(**_grow_args(request))})
    if method == "POST" and name in WORLD_ROUTES:
        return _world_change(sandbox, name, request)
    if (method, name) == ("GET", "ground-truth"):
        uid = (request.query.get("run_uid") or [""])[-1]
        return Response(200, sandbox.backstage.ground_truth(uid))
    if (method, name) == ("GET", "requests"):
        return Response(200, sandbox.requests.entries())
    if (method, name) == ("DELETE", "requests"):
        sandbox.requests.clear()
        return Response(204)
    if name in SETTINGS and method in ("GET", "POST"):
        return _setting(sandbox, name, request)
    raise ApiError(404, "STATUS_404", f"no sandbox control route {method} {request.path}")


def _setting(sandbox: Controlled, name: str, request: Request) -> Response:
    """``GET`` reads a setting, ``POST`` changes it and answers the new value."""
    post = request.method == "POST"
    if name == "faults":
        if post:
            sandbox.settings.set_faults(**request.json_object())
        return Response(200, sandbox.settings.faults.to_json())
    if name == "outputs-mode":
        if post:
            sandbox.settings.outputs_mode = str(request.json_object().get("outputs_mode"))
        return Response(200, {"outputs_mode": sandbox.settings.outputs_mode})
    if post:
        sandbox.settings.variants = _variants_arg(request)
    return Response(200, {"variants": sorted(sandbox.settings.variants)})


def _variants_arg(request: Request) -> list[str]:
    body = request.json_object()
    names = body.get("variants")
    if set(body) != {"variants"} or not isinstance(names, list):
        msg = 'the body must be {"variants": [names]}'
        raise TypeError(msg)
    return names


def _world_change(sandbox: Controlled, name: str, request: Request) -> Response:
    """``POST publish-post`` (``{"author_url"}``), ``POST start-conversation``
    (``{"identity_id"}``): what the backstage method answers, under the key it names.
    """  # noqa: D205 - the two routes
    if name == "publish-post":
        url = sandbox.backstage.publish_post(_field(request, "author_url"))
        return Response(200, {"linkedin_post_url": url})
    url = sandbox.backstage.start_conversation(_field(request, "identity_id"))
    return Response(200, {"linkedin_thread_url": url})


def _field(request: Request, name: str) -> str:
    """The one string field of a body such as ``{"author_url": ...}``."""
    body = request.json_object()
    if set(body) != {name} or not isinstance(body[name], str):
        msg = f'the body must be {{"{name}": "<string>"}}'
        raise TypeError(msg)
    value: str = body[name]
    return value


def _grow_args(request: Request) -> dict[str, Any]:
    body = request.json_object(allow_empty=True)
    unknown = sorted(set(body) - set(GROW_FIELDS))
    if unknown:
        msg = f"unknown grow fields: {', '.join(unknown)}"
        raise ValueError(msg)
    if not isinstance(body.get("n", 5), int):
        msg = "n must be an integer"
        raise TypeError(msg)
    return body
