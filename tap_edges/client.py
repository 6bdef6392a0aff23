"""EdgesClient: every HTTP call to the Edges API, and nothing of Singer.

It owns the auth header, timeouts, retries (429, 5xx, connection errors and timeouts, with
exponential backoff and jitter that honours ``Retry-After``), the use of the client-side budget
that keeps ``/v1/runs/*`` under the plan's requests per minute (:mod:`tap_edges.pacing`), and
the mapping of error answers to the typed errors of :mod:`tap_edges.errors`. It never logs the
API key, request headers or bodies.
"""

from __future__ import annotations

import random
import time
import typing as t
import urllib.parse

import msgspec
import requests
import urllib3

from tap_edges import errors
from tap_edges.pacing import retry_after_seconds

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator

    from tap_edges.pacing import RateBudget

TOO_MANY = 429  # refused before anything was done: safe to send again, whatever the call
RETRYABLE_STATUSES = frozenset({TOO_MANY, 500, 502, 503, 504})
OUTPUTS_PAGE_SIZE = 500  # the largest page Edges serves
LIST_RUNS_MAX = 100  # GET /v1/runs accepts at most 100 results per page
FIND_EXTRA_PAGES = 2  # pages read beyond the runs looked for (others may have launched since)
USER_AGENT = "tap-edges"


class Answer(t.NamedTuple):
    """A successful response and its parsed JSON body."""

    response: requests.Response
    data: t.Any


class EdgesClient:
    """The one HTTP client of the tap."""

    def __init__(  # noqa: PLR0913
        self,
        base_url: str,
        api_key: str,
        *,
        budget: RateBudget,
        logger: logging.Logger,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_tries: int = 8,
        max_elapsed: float = 600.0,
        backoff_base: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        """Create the client.

        Args:
            base_url: API root, e.g. ``https://api.edges.run/v1``.
            api_key: The Edges API key (sent as ``X-API-Key``, never logged).
            budget: The budget for ``/v1/runs/*`` requests.
            logger: Where to log retries and failures.
            timeout: Connect and read timeouts in seconds.
            max_tries: Attempts per request, the first included.
            max_elapsed: Give up retrying once this many seconds have passed.
            backoff_base: First backoff delay in seconds (doubles on each retry).
            clock: Monotonic clock in seconds.
            sleep: Sleep function.
            session: A requests session (a new one by default).
        """
        self.base_url = base_url.rstrip("/")
        self._base_path = urllib.parse.urlsplit(self.base_url).path
        self._session = session or requests.Session()
        self._session.headers.update(
            {"X-API-Key": api_key, "Accept": "application/json", "User-Agent": USER_AGENT},
        )
        self.budget, self.logger, self.timeout = budget, logger, timeout
        self.max_tries, self.max_elapsed, self.backoff_base = max_tries, max_elapsed, backoff_base
        self._clock, self._sleep = clock, sleep
        self._random = random.Random()  # noqa: S311 (jitter, not cryptography)
        self._last_transport_error: Exception = TimeoutError("no answer")

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- the Edges endpoints the tap uses ------------------------------------------------

    def list_identities(self) -> list[dict[str, t.Any]]:
        """``GET /identities``: the workspace's identities."""
        return self._json_list(self.request("GET", "/identities"), "/identities")

    def get_identity(self, identity_id: str) -> dict[str, t.Any]:
        """``GET /identities/{uid}``: one identity (its ``type`` tells engagement or not)."""
        path = f"/identities/{identity_id}"
        return self._json_object(self.request("GET", path), path)

    def launch(self, action: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """``POST /actions/{action}/run/async``: start a run.

        Args:
            action: Edges action slug.
            body: Launch body (inputs, parameters, identity_ids, ...).

        Returns:
            The launch answer, which holds ``run_uid``.
        """
        path = f"/actions/{action}/run/async"
        answer = self._json_object(self.request("POST", path, json=body, idempotent=False), path)
        if not isinstance(answer.get("run_uid"), str):
            msg = f"POST {self._path(path)}: the answer has no run_uid"
            raise errors.ResponseError(msg)
        return answer

    def get_run(self, run_uid: str) -> dict[str, t.Any]:
        """``GET /runs/{uid}``: one run object."""
        path = f"/runs/{run_uid}"
        return self._json_object(self.request("GET", path), path)

    def list_runs(self, run_uids: list[str]) -> list[dict[str, t.Any]]:
        """``GET /runs?uid=...``: many runs, at most 100 per request.

        Args:
            run_uids: Runs to read.

        Returns:
            The run objects the API knows of (unknown uids are simply absent).
        """
        runs: list[dict[str, t.Any]] = []
        for start in range(0, len(run_uids), LIST_RUNS_MAX):
            chunk = run_uids[start : start + LIST_RUNS_MAX]
            params = {"uid": chunk, "limit": str(LIST_RUNS_MAX)}
            answer = self.request("GET", "/runs", params=params)
            runs.extend(r for r in self._json_list(answer, "/runs") if isinstance(r, dict))
        return runs

    def continue_run(self, run_uid: str) -> dict[str, t.Any]:
        """``POST /runs/{uid}/continue``: fetch the items new since the last iteration.

        Not repeated after an ambiguous failure (:class:`errors.AmbiguousError`): a continue
        that Edges applied and whose answer was lost would skip an iteration if sent again.
        """
        path = f"/runs/{run_uid}/continue"
        return self._json_object(self.request("POST", path, idempotent=False), path)

    def find_named_runs(
        self, action: str, wanted: t.Callable[[str], str | None], count: int
    ) -> dict[str, dict[str, t.Any]]:
        """``GET /runs?action_name=...&sort=-created_at``: the newest runs, found by their name.

        Args:
            action: The action slug.
            wanted: Maps a run's name to the key it is wanted under, or None.
            count: How many runs are looked for; paging stops once all are found, or after
                a few pages beyond that many runs.

        Returns:
            The run objects found, by key.
        """
        found: dict[str, dict[str, t.Any]] = {}
        pages = count // LIST_RUNS_MAX + FIND_EXTRA_PAGES
        for page in range(pages):
            params = {
                "action_name": action,
                "sort": "-created_at",
                "limit": str(LIST_RUNS_MAX),
                "offset": str(page * LIST_RUNS_MAX),
            }
            runs = self._json_list(self.request("GET", "/runs", params=params), "/runs")
            for run in runs:
                key = wanted(str(run.get("name") or "")) if isinstance(run, dict) else None
                if key is not None:
                    found.setdefault(key, run)
            if len(found) >= count or len(runs) < LIST_RUNS_MAX:
                break
        return found

    def output_pages(self, run_uid: str) -> Iterator[list[t.Any]]:
        """``GET /runs/{uid}/outputs``, page after page, following ``X-Pagination-Next``.

        Args:
            run_uid: The run.

        Yields:
            Each page's items, as the API gave them (validated by the caller).
        """
        url: str | None = f"/runs/{run_uid}/outputs"
        params: dict[str, t.Any] | None = {"limit": str(OUTPUTS_PAGE_SIZE)}
        while url:
            answer = self.request("GET", url, params=params)
            yield self._json_list(answer, f"/runs/{run_uid}/outputs")
            url, params = answer.response.headers.get("X-Pagination-Next"), None

    def output_pages_from(self, run_uid: str, offset: int) -> Iterator[list[t.Any]]:
        """``GET /runs/{uid}/outputs?offset=...``: the pages from one position to the end.

        Edges still documents ``offset`` (it switches the endpoint to offset paging); the next
        page starts where this one ends, until a page is not full.

        Args:
            run_uid: The run.
            offset: Position of the first item wanted.

        Yields:
            Each page's items, as the API gave them.
        """
        path = f"/runs/{run_uid}/outputs"
        while True:
            params = {"limit": str(OUTPUTS_PAGE_SIZE), "offset": str(offset)}
            page = self._json_list(self.request("GET", path, params=params), path)
            yield page
            if len(page) < OUTPUTS_PAGE_SIZE:
                return
            offset += len(page)

    # -- transport -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, t.Any] | None = None,
        json: dict[str, t.Any] | None = None,
        idempotent: bool = True,
    ) -> Answer:
        """Send one request with retries, budget and error mapping; parse its JSON once.

        Args:
            method: HTTP method.
            path_or_url: A path under the base URL, or a full URL given by the API.
            params: Query parameters.
            json: JSON body.
            idempotent: False for calls that must not be repeated blindly (a launch, a
                continue): they are sent again only after a 429 or a failure to connect;
                any other failure raises :class:`errors.AmbiguousError`.

        Returns:
            The successful response and its parsed JSON body. A 2xx answer that is not JSON
            (a proxy's error page) is retried like a 5xx when the call is idempotent.
        """
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        path = urllib.parse.urlsplit(url).path
        started = self._clock()
        for attempt in range(1, self.max_tries + 1):
            response = self._attempt(method, url, path, params, json, idempotent=idempotent)
            if response is not None and response.status_code not in RETRYABLE_STATUSES:
                if response.status_code >= 400:  # noqa: PLR2004
                    raise self._error(method, path, response)
                try:  # msgspec parses an output page several times faster than json
                    return Answer(response, msgspec.json.decode(response.content))
                except ValueError:
                    self._last_transport_error = self._not_json(method, path, response)
                    if not idempotent:
                        raise self._ambiguous(method, path, "an answer that is not JSON") from None
                    response = None
            if response is not None and not idempotent and response.status_code != TOO_MANY:
                raise self._ambiguous(method, path, f"HTTP {response.status_code}")
            delay = self._delay(attempt, response)
            if attempt == self.max_tries or self._clock() - started + delay > self.max_elapsed:
                raise self._gave_up(method, path, response, attempt)
            self._log_retry(method, path, response, attempt, delay)
            self._sleep(delay)
        raise AssertionError  # pragma: no cover (the loop always returns or raises)

    def _attempt(  # noqa: PLR0913
        self,
        method: str,
        url: str,
        path: str,
        params: dict[str, t.Any] | None,
        json: dict[str, t.Any] | None,
        *,
        idempotent: bool,
    ) -> requests.Response | None:
        """Send once; None means a retryable transport failure."""
        if path.startswith(self._base_path + "/runs"):
            self.budget.acquire()
        try:
            response = self._session.request(
                method, url, params=params, json=json, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not idempotent and not _never_sent(exc):
                raise self._ambiguous(method, path, type(exc).__name__) from None
            self._last_transport_error = exc
            return None
        self._note_budget(response)
        return response

    def _note_budget(self, response: requests.Response) -> None:
        """Slow down when the server says the runs budget is spent."""
        if response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            self.budget.hold(60.0 / max(self.budget.limit, 1))
        if response.status_code == 429:  # noqa: PLR2004
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                self.budget.hold(wait)

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        """Seconds before the next try: ``Retry-After`` when given, else backoff with jitter."""
        if response is not None:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                return wait + self._random.uniform(0, 0.1 * self.backoff_base)
        ceiling = min(60.0, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _log_retry(
        self,
        method: str,
        path: str,
        response: requests.Response | None,
        attempt: int,
        delay: float,
    ) -> None:
        if response is not None:
            what = f"HTTP {response.status_code}"
        elif isinstance(self._last_transport_error, errors.ResponseError):
            what = "an answer that is not JSON"
        else:
            what = type(self._last_transport_error).__name__
        self.logger.info(
            "%s %s -> %s; retry %d/%d in %.1fs",
            method,
            path,
            what,
            attempt,
            self.max_tries - 1,
            delay,
        )

    def _gave_up(
        self,
        method: str,
        path: str,
        response: requests.Response | None,
        attempts: int,
    ) -> errors.EdgesError:
        if response is None and isinstance(self._last_transport_error, errors.ResponseError):
            return self._last_transport_error
        if response is None:
            return self._transport(method, path, self._last_transport_error, attempts)
        error = self._error(method, path, response, retried=True)
        error.args = (f"{error.args[0]} after {attempts} attempts",)
        return error

    def _transport(
        self,
        method: str,
        path: str,
        exc: Exception,
        attempts: int = 1,
    ) -> errors.TransportError:
        kind = type(exc).__name__
        return errors.TransportError(
            f"{method} {path}: the Edges API could not be reached ({kind}) after "
            f"{attempts} attempt(s); check api_url and the network",
        )

    def _error(
        self,
        method: str,
        path: str,
        response: requests.Response,
        *,
        retried: bool = False,
    ) -> errors.APIError:
        """Map an error answer to a typed error (the body itself is never logged)."""
        body: t.Any = None
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

    def _ambiguous(self, method: str, path: str, what: str) -> errors.AmbiguousError:
        return errors.AmbiguousError(
            f"{method} {path}: no clear answer ({what}); Edges may or may not have applied it"
        )

    def _path(self, path: str) -> str:
        return self._base_path + path

    def _not_json(
        self, method: str, path: str, response: requests.Response
    ) -> errors.ResponseError:
        ctype = response.headers.get("Content-Type", "?")
        return errors.ResponseError(
            f"{method} {path}: the answer is not JSON (HTTP {response.status_code}, "
            f"Content-Type {ctype})"
        )

    def _json_object(self, answer: Answer, what: str) -> dict[str, t.Any]:
        if not isinstance(answer.data, dict):
            msg = f"{self._path(what)}: expected a JSON object, got {type(answer.data).__name__}"
            raise errors.ResponseError(msg)
        return answer.data

    def _json_list(self, answer: Answer, what: str) -> list[t.Any]:
        if not isinstance(answer.data, list):
            msg = f"{self._path(what)}: expected a JSON array, got {type(answer.data).__name__}"
            raise errors.ResponseError(msg)
        return answer.data


def _never_sent(exc: Exception) -> bool:
    """Whether a transport error happened before the request could reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
