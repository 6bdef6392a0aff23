"""Validation of ``POST /v1/actions/{action}/run/async`` bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edges_sandbox.catalog import ACTIONS, CONVERSATIONS, ActionKind
from edges_sandbox.identities import identity_type
from edges_sandbox.variants import (
    CONVERSATIONS_INCREMENTAL,
    NO_NAME,
    NOT_INCREMENTAL_ACTIONS,
    POSTS_NOT_INCREMENTAL,
)
from edges_sandbox.variants import max_results as run_max_results
from edges_sandbox.wire import ApiError

MAX_RESULTS_DEFAULT = 100
MAX_RESULTS_LIMIT = 1000
NAME_LIMIT = 255
INPUTS_LIMIT = 100_000  # inputs per async run (edges-api.md section 2)
SYNC_MODES = ("full", "incremental")
IDENTITY_MODES = ("direct", "auto", "managed")
# The properties of the async launch body (edges-api.md section 2.1); Edges refuses any other.
BODY_PROPERTIES = frozenset(
    {"inputs", "parameters", "identity_ids", "identity_mode", "name", "callback"},
)


@dataclass(frozen=True)
class Launch:
    """A validated launch request."""

    kind: ActionKind
    identity_id: str | None
    inputs: list[dict[str, Any]]
    parameters: dict[str, Any]
    callback: dict[str, Any] | None
    name: str | None

    @property
    def input(self) -> dict[str, Any]:
        """The first input."""
        return self.inputs[0]

    @property
    def input_value(self) -> str | None:
        """The first input's value, if the action takes one."""
        field = self.kind.input_field
        return self.input.get(field) if field else None


def bad_input(message: str) -> ApiError:
    """Build a 400 ``BAD_INPUT`` error (scope ``input``).

    Args:
        message: What is wrong, naming the field.
    """
    return ApiError(400, "BAD_INPUT", message, scope="input")


def bad_parameters(message: str) -> ApiError:
    """Build a 400 ``BAD_PARAMETERS`` error (scope ``input``).

    Args:
        message: What is wrong, naming the parameter.
    """
    return ApiError(400, "BAD_PARAMETERS", message, scope="input")


def parse_launch(
    slug: str,
    body: dict[str, Any],
    max_results_limit: int = MAX_RESULTS_LIMIT,
    extra_identities: int = 0,
    variants: frozenset[str] = frozenset(),
) -> Launch:
    """Validate a launch body for an action.

    Args:
        slug: The action slug from the URL.
        body: The decoded JSON body.
        max_results_limit: Largest ``parameters.max_results`` accepted.
        extra_identities: Number of extra engagement identities the sandbox holds.
        variants: The API variants in force (``no_name``, ``clamp_max_results`` and
            ``posts_not_incremental`` change what is accepted or stored).

    Returns:
        The validated launch.

    Raises:
        ApiError: 404 for an unknown action, 400 for any invalid part of the body.
    """
    kind = ACTIONS.get(slug)
    if kind is None:
        raise ApiError(404, "STATUS_404", f"action {slug} not found")
    # The no_name reading: the launch body schema has no name property at all.
    allowed = BODY_PROPERTIES - {"name"} if NO_NAME in variants else BODY_PROPERTIES
    extra = sorted(set(body) - allowed)
    if extra:
        msg = f"body must NOT have additional properties ({', '.join(extra)})"
        raise bad_parameters(msg)
    inputs = _inputs(kind, body.get("inputs"))  # an action taking none may leave them out
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > NAME_LIMIT):
        msg = "name must be a string of at most 255 characters"
        raise bad_input(msg)
    identity_id = _identity(kind, body, extra_identities)
    parameters = _parameters(kind, body.get("parameters"), max_results_limit)
    if parameters["sync_mode"] == "incremental":
        check_incremental(slug, variants)
    if POSTS_NOT_INCREMENTAL in variants and parameters["sync_mode"] == "incremental":
        refuse_incremental(slug)
    parameters["max_results"] = run_max_results(parameters["max_results"], variants)
    return Launch(
        kind=kind,
        identity_id=identity_id,
        inputs=inputs,
        parameters=parameters,
        callback=_callback(body.get("callback")),
        name=name,
    )


def refuse_incremental(slug: str) -> None:
    """Refuse incremental sync for an action a newer docs page does not list as continuable.

    Only the ``posts_not_incremental`` variant calls this.

    Args:
        slug: The action slug.

    Raises:
        ApiError: 400 ``BAD_PARAMETERS`` for the post actions.
    """
    if slug in NOT_INCREMENTAL_ACTIONS:
        msg = f"parameters/sync_mode: incremental sync is not supported for action {slug}"
        raise bad_parameters(msg)


def check_incremental(slug: str, variants: frozenset[str]) -> None:
    """Refuse incremental sync for an action that does not support it.

    The discovery actions do not (their docs pages lack the "Incremental Sync supported" tip);
    the ``conversations_incremental`` variant lets conversations be incremental.

    Args:
        slug: The action slug.
        variants: The API variants in force.

    Raises:
        ApiError: 400 ``INCREMENTAL_NOT_SUPPORTED`` naming the action.
    """
    if ACTIONS[slug].incremental:
        return
    if slug == CONVERSATIONS and CONVERSATIONS_INCREMENTAL in variants:
        return
    msg = f"parameters/sync_mode: incremental sync is not supported for action {slug}"
    label = "INCREMENTAL_NOT_SUPPORTED"
    raise ApiError(400, label, msg, scope="input", params={"action_name": slug})


def _inputs(kind: ActionKind, inputs: object) -> list[dict[str, Any]]:
    if inputs is None and kind.inputs_optional:
        return [{}]
    if not isinstance(inputs, list) or not all(isinstance(one, dict) for one in inputs):
        msg = "inputs must be an array of objects"
        raise bad_input(msg)
    if not 1 <= len(inputs) <= INPUTS_LIMIT:
        msg = f"inputs must hold between 1 and {INPUTS_LIMIT} inputs"
        raise bad_parameters(msg)
    for index, the_input in enumerate(inputs):
        _check_input(kind, the_input, f"inputs/{index}")
    return inputs


def _check_input(kind: ActionKind, the_input: dict[str, Any], where: str) -> None:
    allowed = {"custom_data", *([kind.input_field] if kind.input_field else [])}
    extra = sorted(set(the_input) - allowed)
    if extra:
        msg = f"{where} must NOT have additional properties ({', '.join(extra)})"
        raise bad_input(msg)
    if "custom_data" in the_input and not isinstance(the_input["custom_data"], dict):
        msg = f"{where}/custom_data must be an object"
        raise bad_input(msg)
    if kind.input_field and kind.input_pattern:
        value = the_input.get(kind.input_field)
        if not isinstance(value, str):
            msg = f"{where} must have required property '{kind.input_field}'"
            raise bad_input(msg)
        if not kind.input_pattern.search(value):
            msg = f"{where}/{kind.input_field} does not match the expected format"
            raise bad_input(msg)


def _identity(kind: ActionKind, body: dict[str, Any], extra: int) -> str | None:
    """The identity a run uses: one known identity, or none in managed mode."""
    mode, identity_ids = body.get("identity_mode"), body.get("identity_ids")
    if mode is not None and mode not in IDENTITY_MODES:
        msg = f"identity_mode must be one of: {', '.join(IDENTITY_MODES)}"
        raise bad_parameters(msg)
    if mode == "managed":
        if not kind.managed:
            msg = f"identity_mode managed is not supported for action {kind.slug}"
            raise bad_parameters(msg)
        if identity_ids:
            msg = "identity_ids must be empty with identity_mode managed (Edges' own accounts)"
            raise bad_parameters(msg)
        return None
    if not isinstance(identity_ids, list) or len(identity_ids) != 1:
        msg = "identity_ids must hold exactly one identity uid"
        raise bad_parameters(msg)
    uid = identity_ids[0]
    if not isinstance(uid, str) or identity_type(uid, extra) is None:
        msg = f"identity {uid} not found in this workspace"
        raise bad_parameters(msg)
    return uid


def _parameters(kind: ActionKind, parameters: object, limit: int) -> dict[str, Any]:
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        msg = "parameters must be an object"
        raise bad_input(msg)
    if kind.slug == CONVERSATIONS and not isinstance(parameters.get("read", True), bool):
        msg = "parameters/read must be a boolean"
        raise bad_parameters(msg)
    sync_mode = parameters.get("sync_mode", "full")
    if sync_mode not in SYNC_MODES:
        msg = "parameters/sync_mode must be one of: full, incremental"
        raise bad_parameters(msg)
    max_results = parameters.get("max_results", MAX_RESULTS_DEFAULT)
    valid = isinstance(max_results, int) and not isinstance(max_results, bool)
    if not valid or not 1 <= max_results <= limit:
        msg = f"parameters/max_results must be an integer between 1 and {limit}"
        raise bad_parameters(msg)
    return {**parameters, "sync_mode": sync_mode, "max_results": max_results}


def _callback(callback: object) -> dict[str, Any] | None:
    if callback is None:
        return None
    if not isinstance(callback, dict) or not isinstance(callback.get("url"), str):
        msg = "callback must be an object with a url"
        raise bad_input(msg)
    return {"url": callback["url"]}
