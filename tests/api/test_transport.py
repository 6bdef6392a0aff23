"""The transport's retry policy, driven through a fake session with an injected clock and sleep.

Each table row is one outcome of a try (a status, an answer that is not JSON, a transport
error) and what the policy does with it for an idempotent call (a GET) and for one that is not
(a launch or a continue: no blind resend after an ambiguous failure).
"""

from __future__ import annotations

import email.utils
import functools
import logging
import re
import time
import typing as t

import pytest
import requests
import urllib3
from runskit import FakeTime

from tap_edges import errors
from tap_edges.api.pacing import RateBudget
from tap_edges.api.transport import Transport

if t.TYPE_CHECKING:
    from collections.abc import Callable

API_KEY = "sk-live-NEVER-LOGGED-0042"  # a fake key, to detect leaks
LOGGER = logging.getLogger("test-http")
JSON = {"Content-Type": "application/json"}


def answer(status: int, body: bytes = b"{}", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update({**JSON, **{k.replace("_", "-"): v for k, v in headers.items()}})
    return response


def error_body(status: int, **headers: str) -> requests.Response:
    body = b'{"error_label": "SOME_LABEL", "error_ref": "ref-1", "message": "refused"}'
    return answer(status, body, **headers)


def html() -> requests.Response:
    response = answer(200, b"<html>502 Bad Gateway</html>")
    response.headers["Content-Type"] = "text/html"
    return response


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request never left the machine."""
    reason = urllib3.exceptions.NewConnectionError(
        urllib3.connection.HTTPConnection("127.0.0.1", 9), "Connection refused"
    )
    pool = urllib3.HTTPConnectionPool("127.0.0.1", 9)
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(pool, "/v1", reason))


def reset() -> requests.ConnectionError:
    """A connection dropped after the request was sent: the server may have acted on it."""
    cause = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())
    return requests.ConnectionError(cause)


Outcome = requests.Response | Exception


class FakeSession(requests.Session):
    """Answers each request with the next scripted outcome (the last one repeats)."""

    def __init__(self, *outcomes: Callable[[], Outcome]) -> None:
        super().__init__()
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, **kwargs: t.Any) -> t.Any:  # type: ignore[override]
        self.sent.append((str(method), str(url)))
        outcome = (self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0])()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def transport(session: FakeSession, fake: FakeTime, **options: t.Any) -> Transport:
    """A transport over the fake session, on fake time; options are the Transport's."""
    options.setdefault("budget", RateBudget(10_000, clock=fake.clock, sleep=fake.sleep))
    return Transport(
        "https://api.example.test/v1",
        API_KEY,
        logger=LOGGER,
        clock=fake.clock,
        sleep=fake.sleep,
        session=session,
        **options,
    )


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.sleep, as backoff calls it: only ever for 0 s (the injected sleep waits)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


RETRIED = "retried"


def row(first: Callable[[], Outcome], get: t.Any, launch: t.Any, name: str) -> t.Any:
    """The first try's outcome; then, for a GET and for a launch: retried, or what is raised."""
    return pytest.param(first, (get, launch), id=name)


def ambiguous(what: str) -> tuple[type[errors.EdgesError], str]:
    return errors.AmbiguousError, rf"no clear answer \({what}\); Edges may or may not"


FAILURES = [
    row(lambda: answer(429), RETRIED, RETRIED, "429"),
    row(lambda: answer(500), RETRIED, ambiguous("HTTP 500"), "500"),
    row(lambda: answer(502), RETRIED, ambiguous("HTTP 502"), "502"),
    row(lambda: answer(503), RETRIED, ambiguous("HTTP 503"), "503"),
    row(lambda: answer(504), RETRIED, ambiguous("HTTP 504"), "504"),
    row(html, RETRIED, ambiguous("an answer that is not JSON"), "2xx not JSON"),
    row(requests.ConnectTimeout, RETRIED, RETRIED, "connect timeout"),
    row(refused, RETRIED, RETRIED, "connection refused"),
    row(requests.ReadTimeout, RETRIED, ambiguous("ReadTimeout"), "read timeout"),
    row(reset, RETRIED, ambiguous("ConnectionError"), "connection reset"),
    *(
        row(functools.partial(error_body, status), error, error, str(status))
        for status, error in [
            (400, (errors.APIError, "HTTP 400: SOME_LABEL")),
            (401, (errors.AuthError, "rejected the API key")),
            (403, (errors.AuthError, "not allowed to do this")),
            (404, (errors.NotFoundError, "HTTP 404")),
            (501, (errors.APIError, "HTTP 501")),
        ]
    ),
]


@pytest.mark.parametrize(("first", "expected"), FAILURES)
@pytest.mark.parametrize("idempotent", [True, False], ids=["get", "launch"])
def test_one_failed_try_is_retried_or_raised(
    first: Callable[[], Outcome],
    expected: tuple[t.Any, t.Any],
    idempotent: bool,
    no_real_sleep: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome = expected[0] if idempotent else expected[1]
    fake, session = FakeTime(), FakeSession(first, lambda: answer(200, b'{"run_uid": "r1"}'))
    http = transport(session, fake)
    method = "GET" if idempotent else "POST"
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        if outcome == RETRIED:
            assert http.request(method, "/runs/r1", idempotent=idempotent).data == {"run_uid": "r1"}
            assert len(session.sent) == 2
            assert len(fake.slept) == 1
        else:
            kind, words = outcome
            with pytest.raises(kind, match=words) as raised:
                http.request(method, "/runs/r1", idempotent=idempotent)
            assert type(raised.value) is kind
            assert len(session.sent) == 1
            assert fake.slept == []
            assert API_KEY not in str(raised.value)
    assert all(seconds == 0 for seconds in no_real_sleep)
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("outcome", "idempotent", "kind", "message"),
    [
        pytest.param(
            lambda: error_body(503),
            True,
            errors.RetriesExhaustedError,
            "GET /v1/runs/r1 -> HTTP 503: SOME_LABEL (refused) (ref ref-1) after 3 attempts",
            id="503",
        ),
        pytest.param(
            lambda: error_body(429),
            False,
            errors.RetriesExhaustedError,
            "POST /v1/runs/r1 -> HTTP 429: SOME_LABEL (refused) (ref ref-1) after 3 attempts",
            id="429 on a launch",
        ),
        pytest.param(
            requests.ReadTimeout,
            True,
            errors.TransportError,
            "GET /v1/runs/r1: the Edges API could not be reached (ReadTimeout) after 3 "
            "attempt(s); check api_url and the network",
            id="read timeout",
        ),
        pytest.param(
            refused,
            False,
            errors.TransportError,
            "POST /v1/runs/r1: the Edges API could not be reached (ConnectionError) after 3 "
            "attempt(s); check api_url and the network",
            id="refused launch",
        ),
        pytest.param(
            html,
            True,
            errors.ResponseError,
            "GET /v1/runs/r1: the answer is not JSON (HTTP 200, Content-Type text/html)",
            id="not JSON",
        ),
    ],
)
def test_a_lasting_failure_gives_up_after_max_tries(
    outcome: Callable[[], Outcome],
    idempotent: bool,
    kind: type[errors.EdgesError],
    message: str,
) -> None:
    fake, session = FakeTime(), FakeSession(outcome)
    http = transport(session, fake, max_tries=3)
    method = "GET" if idempotent else "POST"
    with pytest.raises(kind) as raised:
        http.request(method, "/runs/r1", idempotent=idempotent)
    assert type(raised.value) is kind
    assert str(raised.value) == message
    assert len(session.sent) == 3
    assert len(fake.slept) == 2


@pytest.mark.parametrize(
    ("outcome", "backoff_base", "waits"),
    [
        pytest.param(lambda: answer(503), 1.0, [(0.5, 1), (1, 2), (2, 4), (4, 8)], id="backoff"),
        pytest.param(lambda: answer(503), 40.0, [(20, 40), (30, 60), (30, 60)], id="capped"),
        pytest.param(requests.ReadTimeout, 2.0, [(1, 2), (2, 4)], id="timeout"),
        pytest.param(html, 1.0, [(0.5, 1), (1, 2)], id="not JSON"),
        pytest.param(
            lambda: answer(503, Retry_After="7"), 1.0, [(7, 7.1), (7, 7.1)], id="503 Retry-After"
        ),
        pytest.param(
            lambda: answer(429, Retry_After="0"), 1.0, [(0, 0.1), (0, 0.1)], id="429 Retry-After"
        ),
        pytest.param(
            lambda: answer(429, Retry_After=email.utils.formatdate(time.time() + 30, usegmt=True)),
            1.0,
            [(28, 30.2)],
            id="429 Retry-After HTTP date",
        ),
        pytest.param(
            lambda: answer(503, Retry_After="soon"), 1.0, [(0.5, 1), (1, 2)], id="unreadable"
        ),
    ],
)
def test_waits_honour_retry_after_else_back_off_with_jitter(
    outcome: Callable[[], Outcome],
    backoff_base: float,
    waits: list[tuple[float, float]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, session = FakeTime(), FakeSession(outcome)
    http = transport(session, fake, max_tries=len(waits) + 1, backoff_base=backoff_base)
    with caplog.at_level(logging.INFO, logger=LOGGER.name), pytest.raises(errors.EdgesError):
        http.request("GET", "/identities")
    assert len(fake.slept) == len(waits)
    assert all(low <= slept <= high for slept, (low, high) in zip(fake.slept, waits, strict=True))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(waits)
    pattern = r"GET /v1/identities -> (HTTP \d+|ReadTimeout|an answer that is not JSON); retry "
    for tries, (line, slept) in enumerate(zip(lines, fake.slept, strict=True), start=1):
        assert re.fullmatch(pattern + rf"{tries}/{len(waits)} in {slept:.1f}s", line), line


@pytest.mark.parametrize(
    ("retry_after", "tries", "slept"),
    [
        pytest.param("30", 1, 0, id="the first wait would pass max_elapsed"),
        pytest.param("4", 3, 2, id="the third wait would"),
        pytest.param("2", 5, 4, id="max_tries comes first"),
    ],
)
def test_no_wait_ends_past_max_elapsed(retry_after: str, tries: int, slept: int) -> None:
    fake, session = FakeTime(), FakeSession(lambda: answer(503, Retry_After=retry_after))
    http = transport(session, fake, max_tries=5, max_elapsed=10.0)
    with pytest.raises(errors.RetriesExhaustedError, match=rf"after {tries} attempts$"):
        http.request("GET", "/runs")
    assert len(session.sent) == tries
    assert len(fake.slept) == slept
    assert fake.now - 1000.0 <= 10.0


def test_budget_counts_only_runs_requests() -> None:
    fake = FakeTime()
    budget = RateBudget(1, clock=fake.clock, sleep=fake.sleep)
    http = transport(FakeSession(lambda: answer(200, b"[]")), fake, budget=budget)
    http.request("GET", "/identities")
    http.request("GET", "/identities")
    http.request("GET", "/runs")
    assert fake.slept == []
    http.request("GET", "/runs")
    assert fake.slept == [61.0]


def test_remaining_zero_spaces_the_next_runs_request() -> None:
    fake = FakeTime()
    budget = RateBudget(30, clock=fake.clock, sleep=fake.sleep)
    spent = lambda: answer(200, b"[]", X_RateLimit_Remaining="0")  # noqa: E731
    http = transport(FakeSession(spent), fake, budget=budget)
    http.request("GET", "/runs")
    http.request("GET", "/runs")
    assert fake.slept == [2.0]  # a minute over the plan's 30 requests


def test_a_429_holds_every_runs_request_for_its_retry_after() -> None:
    fake = FakeTime()
    budget = RateBudget(10_000, clock=fake.clock, sleep=fake.sleep)
    session = FakeSession(lambda: answer(429, Retry_After="5"), lambda: answer(200, b"[]"))
    http = transport(session, fake, budget=budget, max_tries=1)
    with pytest.raises(errors.RetriesExhaustedError, match=r"after 1 attempts$"):
        http.request("GET", "/identities")
    http.request("GET", "/runs")
    assert fake.slept == [5.0]


def test_the_api_key_is_sent_but_never_logged_nor_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, session = FakeTime(), FakeSession(lambda: error_body(503))
    http = transport(session, fake)
    assert session.headers["X-API-Key"] == API_KEY
    with caplog.at_level(logging.DEBUG), pytest.raises(errors.RetriesExhaustedError) as raised:
        http.request("GET", "/identities")
    assert caplog.records
    assert API_KEY not in caplog.text + str(raised.value) + repr(raised.value)
