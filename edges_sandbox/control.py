"""The ``/_sandbox/`` control routes: grow the world, read ground truth, faults, request log.

They need no API key, are not counted by budgets or faults and are not logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edges_sandbox.wire import ApiError, Request, Response

if TYPE_CHECKING:
    from edges_sandbox.emulator import Sandbox

GROW_FIELDS = ("n", "action", "identity_id", "input")


def handle_control(sandbox: Sandbox, request: Request) -> Response:
    """Answer one ``/_sandbox/...`` request.

    Args:
        sandbox: The sandbox being controlled.
        request: The request.
    """
    try:
        return _dispatch(sandbox, request)
    except (ValueError, TypeError) as exc:
        return ApiError(400, "BAD_INPUT", str(exc)).response()
    except ApiError as error:
        return error.response()


def _dispatch(sandbox: Sandbox, request: Request) -> Response:
    name = request.path.removeprefix("/_sandbox/").strip("/")
    method = request.method
    if (method, name) == ("POST", "grow"):
        return Response(200, {"added": sandbox.grow(**_grow_args(request))})
    if (method, name) == ("GET", "ground-truth"):
        uid = (request.query.get("run_uid") or [""])[-1]
        return Response(200, sandbox.ground_truth(uid))
    if (method, name) == ("GET", "requests"):
        return Response(200, sandbox.request_log())
    if (method, name) == ("DELETE", "requests"):
        sandbox.clear_request_log()
        return Response(204)
    if name == "faults" and method in ("GET", "POST"):
        if method == "POST":
            sandbox.set_faults(**request.json_object())
        return Response(200, sandbox.faults.to_json())
    if name == "outputs-mode" and method in ("GET", "POST"):
        if method == "POST":
            sandbox.outputs_mode = str(request.json_object().get("outputs_mode"))
        return Response(200, {"outputs_mode": sandbox.outputs_mode})
    raise ApiError(404, "STATUS_404", f"no sandbox control route {method} {request.path}")


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
