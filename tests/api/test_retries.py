"""tap_edges/api/retries.py: the retry policy's decisions, as case tables over its functions.

What one try's outcome means (an answer, a typed error, a failure worth a retry, resendable or
not), what the retries end in, and how long to wait. The outcomes of a lost answer and of a
timeout are the exceptions requests really raises, got over real HTTP from the sandbox: the
policy must read those, not hand-built look-alikes. (tests/api/test_transport.py drives the
same policy through the transport with a fake session.)
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import typing as t

import backoff
import pytest
import requests
from runskit import answer_held

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from tap_edges import errors
from tap_edges.api.client import EdgesClient
from tap_edges.api.pacing import RateBudget
from tap_edges.api.retries import (
    NOT_JSON,
    Answer,
    Call,
    RetryableError,
    api_error,
    final_error,
    not_resendable,
    read_answer,
    retry_delay,
    unanswered,
)
from tap_edges.api.transport import Transport

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

LAUNCH = "/v1/actions/linkedin-extract-connections/run/async"
LAUNCH_BODY = {
    "identity_ids": [ENGAGEMENT_IDENTITY_IDS[0]],
    "inputs": [{}],
    "parameters": {"sync_mode": "incremental", "max_results": 10},
}


def call(idempotent: bool = True, tries: int = 1) -> Call:
    method, path = ("GET", "/v1/runs/r1") if idempotent else ("POST", "/v1/runs/r1/continue")
    url = "https://api.example.test" + path
    return Call(method, url, path, None, None, idempotent, started=0.0, tries=tries)


def response(status: int, body: bytes = b"{}", **headers: str) -> requests.Response:
    found = requests.Response()
    found.status_code = status
    found._content = body
    found.headers["Content-Type"] = "application/json"
    found.headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return found


def edges_error(status: int, message: str = "refused", **headers: str) -> requests.Response:
    body = {"error_label": "BAD_PARAMETERS", "error_ref": "ref-1", "message": message}
    return response(status, json.dumps(body).encode(), **headers)


def html(status: int = 200) -> requests.Response:
    found = response(status, b"<html><h1>502 Bad Gateway</h1></html>")
    found.headers["Content-Type"] = "text/html"
    return found


# -- what one answer means -------------------------------------------------------------------

RETRIED = [
    # (answer, resendable for a GET, resendable for a launch or continue)
    pytest.param(lambda: response(429), True, True, id="429: refused before anything was done"),
    pytest.param(lambda: response(500), True, False, id="500"),
    pytest.param(lambda: response(502), True, False, id="502"),
    pytest.param(lambda: response(503), True, False, id="503"),
    pytest.param(lambda: edges_error(504), True, False, id="504: an answer lost past a gateway"),
    pytest.param(html, True, False, id="2xx not JSON: a proxy's page"),
    pytest.param(lambda: response(201, b""), True, False, id="2xx empty"),
]


@pytest.mark.parametrize(("answer", "get", "send"), RETRIED)
@pytest.mark.parametrize("idempotent", [True, False], ids=["get", "launch"])
def test_a_failed_answer_is_a_retryable_failure_resendable_only_when_safe(
    answer: Callable[[], requests.Response], get: bool, send: bool, idempotent: bool
) -> None:
    with pytest.raises(RetryableError) as raised:
        read_answer(call(idempotent), answer())
    assert raised.value.resendable is (get if idempotent else send)
    assert not_resendable(raised.value) is not raised.value.resendable


REFUSED = [
    pytest.param(400, errors.APIError, id="400"),
    pytest.param(401, errors.AuthError, id="401"),
    pytest.param(403, errors.AuthError, id="403"),
    pytest.param(404, errors.NotFoundError, id="404"),
    pytest.param(409, errors.APIError, id="409"),
    pytest.param(422, errors.APIError, id="422"),
    pytest.param(501, errors.APIError, id="501: not a status worth a retry"),
]


@pytest.mark.parametrize(("status", "kind"), REFUSED)
@pytest.mark.parametrize("idempotent", [True, False], ids=["get", "launch"])
def test_a_refusal_is_its_typed_error_at_once_never_retried(
    status: int, kind: type[errors.APIError], idempotent: bool
) -> None:
    with pytest.raises(errors.APIError) as raised:
        read_answer(call(idempotent), edges_error(status))
    assert type(raised.value) is kind
    assert (raised.value.status, raised.value.label, raised.value.ref) == (
        status,
        "BAD_PARAMETERS",
        "ref-1",
    )


@pytest.mark.parametrize(
    ("body", "data"),
    [(b'{"run_uid": "r1"}', {"run_uid": "r1"}), (b"[]", []), (b'[{"uid": "a"}]', [{"uid": "a"}])],
)
def test_a_2xx_json_answer_is_parsed_once(body: bytes, data: t.Any) -> None:
    found = read_answer(call(), response(200, body))
    assert isinstance(found, Answer)
    assert found.data == data


@pytest.mark.parametrize(
    ("header", "wait"),
    [("7", 7.0), ("0", 0.0), ("soon", None), (None, None)],
)
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_read_from_429_and_5xx(
    status: int, header: str | None, wait: float | None
) -> None:
    answer = response(status) if header is None else response(status, Retry_After=header)
    with pytest.raises(RetryableError) as raised:
        read_answer(call(), answer)
    assert raised.value.retry_after == wait


# -- what the tries end in -------------------------------------------------------------------


def failure_of(answer: requests.Response, idempotent: bool) -> RetryableError:
    try:
        read_answer(call(idempotent), answer)
    except RetryableError as failure:
        return failure
    raise AssertionError  # pragma: no cover


@pytest.mark.parametrize(
    ("answer", "idempotent", "kind", "words"),
    [
        pytest.param(
            edges_error(503),
            True,
            errors.RetriesExhaustedError,
            "GET /v1/runs/r1 -> HTTP 503: BAD_PARAMETERS (refused) (ref ref-1) after 3 attempts",
            id="5xx to the last try",
        ),
        pytest.param(
            response(429),
            False,
            errors.RetriesExhaustedError,
            "POST /v1/runs/r1/continue -> HTTP 429 after 3 attempts",
            id="429 on a continue",
        ),
        pytest.param(
            html(),
            True,
            errors.ResponseError,
            "GET /v1/runs/r1: the answer is not JSON (HTTP 200, Content-Type text/html)",
            id="not JSON",
        ),
        pytest.param(
            edges_error(504),
            False,
            errors.AmbiguousError,
            "POST /v1/runs/r1/continue: no clear answer (HTTP 504); Edges may or may not have "
            "applied it",
            id="a lost continue answer",
        ),
        pytest.param(
            html(),
            False,
            errors.AmbiguousError,
            f"POST /v1/runs/r1/continue: no clear answer ({NOT_JSON}); Edges may or may not "
            "have applied it",
            id="a continue answered by a proxy's page",
        ),
    ],
)
def test_the_retries_end_in_the_last_failures_error_or_an_ambiguous_one(
    answer: requests.Response, idempotent: bool, kind: type[errors.EdgesError], words: str
) -> None:
    error = final_error(call(idempotent, tries=3), failure_of(answer, idempotent))
    assert type(error) is kind
    assert str(error) == words


def test_not_resendable_gives_up_on_anything_but_a_resendable_failure() -> None:
    resendable = RetryableError("HTTP 503", True, lambda _: errors.EdgesError())
    blind = RetryableError("HTTP 503", False, lambda _: errors.EdgesError())
    assert not not_resendable(resendable)
    assert not_resendable(blind)
    assert not_resendable(ValueError("a bug, not a failure"))


# -- how long to wait ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tries", "retry_after", "base", "low", "high"),
    [
        (1, None, 1.0, 0.5, 1.0),
        (2, None, 1.0, 1.0, 2.0),
        (4, None, 1.0, 4.0, 8.0),
        (7, None, 1.0, 30.0, 60.0),  # 64 s capped at a minute
        (30, None, 1.0, 30.0, 60.0),
        (1, None, 40.0, 20.0, 40.0),
        (2, None, 40.0, 30.0, 60.0),
        (1, 7.0, 1.0, 7.0, 7.1),  # the server's word, and a little jitter
        (5, 7.0, 1.0, 7.0, 7.1),  # whatever the try
        (1, 0.0, 2.0, 0.0, 0.2),
        (1, 120.0, 1.0, 120.0, 120.1),  # honoured past the backoff cap
    ],
)
def test_the_wait_is_retry_after_else_equal_jitter_backoff(  # noqa: PLR0913, PLR0917
    monkeypatch: pytest.MonkeyPatch,
    tries: int,
    retry_after: float | None,
    base: float,
    low: float,
    high: float,
) -> None:
    monkeypatch.setattr(backoff, "full_jitter", lambda value: 0.0)
    assert retry_delay(tries, retry_after, base) == pytest.approx(low)
    monkeypatch.setattr(backoff, "full_jitter", lambda value: value)
    assert retry_delay(tries, retry_after, base) == pytest.approx(high)


# -- the error of an answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "retried", "kind", "fields"),
    [
        (edges_error(400), False, errors.APIError, ("BAD_PARAMETERS", "ref-1", "refused")),
        (
            edges_error(503),
            True,
            errors.RetriesExhaustedError,
            ("BAD_PARAMETERS", "ref-1", "refused"),
        ),
        (
            edges_error(401),
            True,
            errors.RetriesExhaustedError,
            ("BAD_PARAMETERS", "ref-1", "refused"),
        ),
        (html(502), False, errors.APIError, (None, None, None)),
        (response(400, b'["not", "an", "object"]'), False, errors.APIError, (None, None, None)),
        (response(400, b'{"error_label": 42}'), False, errors.APIError, ("42", None, None)),
    ],
)
def test_an_error_answer_is_typed_and_keeps_edges_words_only(
    answer: requests.Response,
    retried: bool,
    kind: type[errors.APIError],
    fields: tuple[str | None, str | None, str | None],
) -> None:
    error = api_error("GET", "/v1/runs", answer, retried=retried)
    assert type(error) is kind
    assert (error.label, error.ref, error.detail) == fields
    assert "<html" not in str(error)


def test_an_error_message_is_cut_to_300_characters() -> None:
    error = api_error("GET", "/v1/runs", edges_error(400, message="x" * 5000))
    assert error.detail == "x" * 300


# -- real failures over real HTTP: a lost answer, a timeout, a refused connection ------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=1.0) as sb:
        yield sb


def raised(send: Callable[[], requests.Response]) -> requests.ConnectionError | requests.Timeout:
    try:
        send()
    except (requests.ConnectionError, requests.Timeout) as exc:
        return exc
    raise AssertionError  # pragma: no cover


def launch(sandbox: Sandbox, timeout: float = 10.0) -> requests.Response:
    url = sandbox.base_url.removesuffix("/v1") + LAUNCH
    headers = {"X-API-Key": sandbox.api_key}
    return requests.post(url, json=LAUNCH_BODY, headers=headers, timeout=(5.0, timeout))


@pytest.mark.parametrize("idempotent", [True, False], ids=["get", "launch"])
def test_a_connection_reset_after_edges_applied_the_launch_is_never_resent_blindly(
    sandbox: Sandbox, idempotent: bool
) -> None:
    sandbox.settings.faults = Faults(lost_answer_every=1, lost_answer_kind="reset")
    exc = raised(lambda: launch(sandbox))
    assert len(sandbox.backstage.runs()) == 1  # applied: a second send would pay for a second run
    failure = unanswered(call(idempotent), exc)
    assert failure.resendable is idempotent
    if not idempotent:
        assert isinstance(final_error(call(idempotent), failure), errors.AmbiguousError)


@pytest.mark.parametrize("idempotent", [True, False], ids=["get", "launch"])
def test_a_read_timeout_after_edges_applied_the_launch_is_never_resent_blindly(
    sandbox: Sandbox, idempotent: bool
) -> None:
    with answer_held(sandbox, "POST", "/run/async"):
        exc = raised(lambda: launch(sandbox, timeout=0.3))
    assert isinstance(exc, requests.ReadTimeout)
    assert len(sandbox.backstage.runs()) == 1
    failure = unanswered(call(idempotent), exc)
    assert failure.resendable is idempotent
    assert failure.what == "ReadTimeout"


@pytest.mark.parametrize("idempotent", [True, False], ids=["get", "launch"])
def test_a_refused_connection_never_reached_edges_and_is_resent(idempotent: bool) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exc = raised(lambda: requests.post(f"http://127.0.0.1:{port}/v1{LAUNCH}", timeout=5.0))
    failure = unanswered(call(idempotent), exc)
    assert failure.resendable  # even a launch: nothing was sent
    gave_up = final_error(call(idempotent, tries=4), failure)
    assert isinstance(gave_up, errors.TransportError)
    assert "could not be reached (ConnectionError) after 4 attempt(s)" in str(gave_up)


class CutOff:
    """A real HTTP server whose first answer breaks off mid-body (the connection drops after
    the headers and a few bytes); every later answer is whole."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.answered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            with conn:
                request = conn.recv(65536)
                body = b"[]" if request.startswith(b"GET") else b'{"run_uid": "r1"}'
                self.answered += 1
                length = len(body) + (50 if self.answered == 1 else 0)
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
                )
                conn.sendall(head.encode() + (body[:1] if self.answered == 1 else body))


@pytest.fixture
def cut_off() -> Iterator[CutOff]:
    server = CutOff()
    yield server
    server.listener.close()


def cut_off_client(server: CutOff, slept: list[float]) -> EdgesClient:
    budget = RateBudget(10_000, clock=lambda: 0.0, sleep=slept.append)
    http = Transport(
        server.url,
        "k",
        budget=budget,
        logger=logging.getLogger("test-retries"),
        max_tries=3,
        clock=lambda: 0.0,
        sleep=slept.append,
    )
    return EdgesClient(http)


def test_an_answer_cut_off_mid_body_is_retried_for_a_get(cut_off: CutOff) -> None:
    # "Connection broken: IncompleteRead": a connection error like a reset, found as the body
    # is read. requests raises ChunkedEncodingError, which is neither ConnectionError nor
    # Timeout: it must still be a failure the policy retries, not an error escaping the client.
    slept: list[float] = []
    assert cut_off_client(cut_off, slept).list_runs(["r1"]) == []
    assert cut_off.answered == 2
    assert len(slept) == 1


def test_an_answer_cut_off_mid_body_is_ambiguous_for_a_launch(cut_off: CutOff) -> None:
    # Edges answered, so it applied the launch: the sender must look before sending it again,
    # which it does on AmbiguousError only; any other exception ends the sync.
    with pytest.raises(errors.AmbiguousError, match="no clear answer"):
        cut_off_client(cut_off, []).launch("linkedin-extract-connections", LAUNCH_BODY)
    assert cut_off.answered == 1
