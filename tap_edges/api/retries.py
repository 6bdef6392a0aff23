"""The retry policy's decisions: what one try's outcome means, how long to wait, what ends it.

:class:`tap_edges.api.transport.Transport` drives the tries with ``backoff``; the decisions are
here, as plain functions of a call and its outcome:

* a 2xx answer with a JSON body is the :class:`Answer`; a 4xx answer (but 429) is its typed
  error (:func:`api_error`), never retried;
* 429 and 5xx (500, 502, 503, 504), connection errors and timeouts, and a 2xx answer that is
  not JSON (a proxy's error page) raise :class:`RetryableError`;
* such a failure is *resendable* when the call is idempotent, or when Edges cannot have applied
  it (a 429, a failure to connect that never reached the server); a launch or a continue
  (``idempotent=False``) is never sent again blindly: it ends in :class:`errors.AmbiguousError`;
* the wait before a retry is the server's ``Retry-After`` (on 429 and 5xx), or exponential
  backoff with jitter; when no try is left, the last failure's typed error is raised.
"""

from __future__ import annotations

import dataclasses
import functools
import typing as t

import backoff
import msgspec
import requests
import urllib3

from tap_edges import errors
from tap_edges.api.pacing import retry_after_seconds

if t.TYPE_CHECKING:
    from collections.abc import Callable

TOO_MANY = 429  # refused before anything was done: safe to send again, whatever the call
RETRYABLE_STATUSES = frozenset({TOO_MANY, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 60.0
NOT_JSON = "an answer that is not JSON"


class Answer(t.NamedTuple):
    """A successful response, its parsed JSON body, and the path it answered (``/v1/...``)."""

    response: requests.Response
    data: t.Any
    path: str


@dataclasses.dataclass(slots=True)
class Call:
    """One request: what is sent, when its first try started, how many tries were sent."""

    method: str
    url: str
    path: str
    params: dict[str, t.Any] | None
    json: dict[str, t.Any] | None
    idempotent: bool
    started: float
    tries: int = 0


@dataclasses.dataclass(eq=False)
class RetryableError(Exception):
    """A try failed in a way the policy may retry; raised to ``backoff``, never to callers.

    Attributes:
        what: The failure as logged (``HTTP 503``, ``ReadTimeout``, ...).
        resendable: Whether sending again is safe: Edges cannot have applied the call, or
            applying it twice does no harm.
        gave_up: The error to raise when no try is left, given the number of tries.
        retry_after: The server's ``Retry-After`` in seconds, when it gave one.
    """

    what: str
    resendable: bool
    gave_up: Callable[[int], errors.EdgesError]
    retry_after: float | None = None


def read_answer(call: Call, response: requests.Response) -> Answer:
    """What an answer means: the parsed answer, or raise its error.

    Args:
        call: The call answered.
        response: Its answer.

    Returns:
        The answer and its JSON body.

    Raises:
        RetryableError: A 429 or 5xx, or a 2xx answer that is not JSON.
        APIError: Any other error status (its typed subclass).
    """
    status = response.status_code
    if status in RETRYABLE_STATUSES:
        resendable = call.idempotent or status == TOO_MANY
        gave_up = functools.partial(exhausted, call, response)
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        what = f"HTTP {status}"
        raise RetryableError(what, resendable, gave_up, retry_after=wait)
    if status >= 400:  # noqa: PLR2004
        raise api_error(call.method, call.path, response)
    try:  # msgspec parses an output page several times faster than json
        return Answer(response, msgspec.json.decode(response.content), call.path)
    except ValueError:
        error = not_json(call, response)
        raise RetryableError(NOT_JSON, call.idempotent, lambda _: error) from None


# What requests raises when no whole answer came back: no connection, a timeout, or an answer
# cut off in its body (a connection dropped after the headers: ChunkedEncodingError, or a
# compressed body cut short: ContentDecodingError). Each may follow a request Edges applied.
UNANSWERED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def unanswered(call: Call, exc: requests.RequestException) -> RetryableError:
    """What an answer that never came whole means: a failure, resendable if never sent.

    Args:
        call: The call that got no answer.
        exc: What requests raised.

    Returns:
        The failure, for backoff.
    """
    resendable = call.idempotent or _never_sent(exc)
    return RetryableError(type(exc).__name__, resendable, functools.partial(unreachable, call, exc))


def not_resendable(exc: Exception) -> bool:
    """The ``giveup`` of backoff: no blind resend of a call that Edges may have applied."""
    return not (isinstance(exc, RetryableError) and exc.resendable)


def final_error(call: Call, failure: RetryableError) -> errors.EdgesError:
    """The error raised when the retries end on a failure.

    Args:
        call: The call, with the number of tries sent.
        failure: The last try's failure.

    Returns:
        :class:`errors.AmbiguousError` when the call may not be sent again, else the last
        failure's own error.
    """
    if failure.resendable:
        return failure.gave_up(call.tries)
    return errors.AmbiguousError(
        f"{call.method} {call.path}: no clear answer ({failure.what}); Edges may or may not "
        "have applied it"
    )


def retry_delay(tries: int, retry_after: float | None, base: float) -> float:
    """Seconds to wait after a failed try.

    Args:
        tries: Tries sent so far (the first retry waits after 1).
        retry_after: The server's ``Retry-After`` in seconds, if any: honoured, plus a little
            jitter so that clients told the same do not return at once.
        base: The first backoff delay; it doubles with each try, up to a minute.

    Returns:
        The wait: from half the backoff delay to all of it ("equal jitter").
    """
    if retry_after is not None:
        return retry_after + backoff.full_jitter(0.1 * base)
    ceiling = min(MAX_BACKOFF_SECONDS, base * 2.0 ** (tries - 1))
    return ceiling / 2 + backoff.full_jitter(ceiling / 2)


def api_error(
    method: str, path: str, response: requests.Response, *, retried: bool = False
) -> errors.APIError:
    """Map an error answer to a typed error (the body itself is never logged).

    Args:
        method: HTTP method.
        path: URL path.
        response: The error answer.
        retried: Whether the status persisted through every try.

    Returns:
        The error, with the Edges error label, reference and message when the body has them.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    fields = body if isinstance(body, dict) else {}

    def text(key: str) -> str | None:
        value = fields.get(key)
        return str(value)[:300] if value is not None else None

    status = response.status_code
    cls: type[errors.APIError] = errors.APIError
    if retried:
        cls = errors.RetriesExhaustedError
    elif status in {401, 403}:
        cls = errors.AuthError
    elif status == 404:  # noqa: PLR2004
        cls = errors.NotFoundError
    return cls(
        method=method,
        path=path,
        status=status,
        label=text("error_label"),
        ref=text("error_ref"),
        detail=text("message"),
    )


def exhausted(call: Call, response: requests.Response, tries: int) -> errors.APIError:
    """The error when a retryable status lasted through every try."""
    error = api_error(call.method, call.path, response, retried=True)
    error.args = (f"{error.args[0]} after {tries} attempts",)
    return error


def unreachable(call: Call, exc: Exception, tries: int) -> errors.TransportError:
    """The error when no try reached the API."""
    return errors.TransportError(
        f"{call.method} {call.path}: the Edges API could not be reached ({type(exc).__name__}) "
        f"after {tries} attempt(s); check api_url and the network",
    )


def not_json(call: Call, response: requests.Response) -> errors.ResponseError:
    """The error for a 2xx answer that is not JSON."""
    ctype = response.headers.get("Content-Type", "?")
    return errors.ResponseError(
        f"{call.method} {call.path}: the answer is not JSON (HTTP {response.status_code}, "
        f"Content-Type {ctype})"
    )


def _never_sent(exc: Exception) -> bool:
    """Whether a transport error happened before the request could reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
