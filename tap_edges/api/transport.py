"""The transport to the Edges API: session, timeouts, the runs budget, retries with ``backoff``.

Nothing here knows an Edges endpoint (that is :mod:`tap_edges.api.client`). Each try is sent with
the auth header and timeouts, after the budget for ``/v1/runs/*`` allows it
(:mod:`tap_edges.api.pacing`); what its outcome means (an answer, a typed error, a failure worth a
retry) and how long to wait are the policy's decisions (:mod:`tap_edges.api.retries`); ``backoff``
drives the tries: it retries :class:`RetryableError`, gives up on a failure that is not
resendable (no blind resend of a launch or a continue) and after ``max_tries``, and calls
:meth:`Transport._pause` before each retry. The API key, request headers and bodies are never
logged.
"""

from __future__ import annotations

import time
import typing as t
import urllib.parse

import backoff
import requests

from tap_edges.api.pacing import retry_after_seconds
from tap_edges.api.retries import (
    TOO_MANY,
    UNANSWERED,
    Answer,
    Call,
    RetryableError,
    final_error,
    not_resendable,
    read_answer,
    retry_delay,
    unanswered,
)

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from backoff.types import Details

    from tap_edges.api.pacing import RateBudget

USER_AGENT = "tap-edges"


class Transport:
    """Sends requests to the Edges API: auth, timeouts, budget, retries, error mapping."""

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
        """Create the transport.

        Args:
            base_url: API root, e.g. ``https://api.edges.run/v1``.
            api_key: The Edges API key (sent as ``X-API-Key``, never logged).
            budget: The budget for ``/v1/runs/*`` requests.
            logger: Where to log retries.
            timeout: Connect and read timeouts in seconds.
            max_tries: Tries per request, the first included.
            max_elapsed: No wait may end past this many seconds after the first try.
            backoff_base: First backoff delay in seconds (doubles on each retry).
            clock: Monotonic clock in seconds.
            sleep: Sleep function.
            session: A requests session (a new one by default).
        """
        self.base_url = base_url.rstrip("/")
        self.base_path = urllib.parse.urlsplit(self.base_url).path
        self._session = session or requests.Session()
        self._session.headers.update(
            {"X-API-Key": api_key, "Accept": "application/json", "User-Agent": USER_AGENT},
        )
        self.budget, self.logger, self.timeout = budget, logger, timeout
        self.max_tries, self.max_elapsed, self.backoff_base = max_tries, max_elapsed, backoff_base
        self._clock, self._sleep = clock, sleep
        # Built once, not per request: the outputs are read a request per page. backoff's own
        # wait is 0 because _pause waits (see there why).
        self._send = backoff.on_exception(
            backoff.constant,
            RetryableError,
            interval=0,
            jitter=None,
            max_tries=lambda: self.max_tries,
            giveup=not_resendable,
            on_backoff=self._pause,
            logger=None,
        )(self._send_once)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

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

        Raises:
            EdgesError: The typed error of the answer, or of the last failed try.
        """
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        path = urllib.parse.urlsplit(url).path
        call = Call(method, url, path, params, json, idempotent, started=self._clock())
        try:
            return self._send(call)
        except RetryableError as failure:
            raise final_error(call, failure) from None

    def _send_once(self, call: Call) -> Answer:
        """One try: the answer, a typed error, or a :class:`RetryableError` for backoff."""
        call.tries += 1
        if call.path.startswith(self.base_path + "/runs"):
            self.budget.acquire()
        try:
            response = self._session.request(
                call.method, call.url, params=call.params, json=call.json, timeout=self.timeout
            )
        except UNANSWERED as exc:
            raise unanswered(call, exc) from None
        self._note_budget(response)
        return read_answer(call, response)

    def _pause(self, details: Details) -> None:
        """The ``on_backoff`` of backoff: log the retry and wait for it, or give up.

        Two rules of the policy that backoff cannot express live here. Time is injected (the
        tests' clock and sleep), while backoff sleeps with ``time.sleep`` and times with
        ``time.monotonic``: so backoff waits 0 and this waits. And the policy gives up rather
        than start a wait that would end past ``max_elapsed``, where backoff's ``max_time``
        would shorten that wait and try once more.
        """
        call: Call = details["args"][0]
        failure = t.cast("RetryableError", details["exception"])
        delay = retry_delay(details["tries"], failure.retry_after, self.backoff_base)
        if self._clock() - call.started + delay > self.max_elapsed:
            raise failure  # request() raises the error of this last try
        self.logger.info(
            "%s %s -> %s; retry %d/%d in %.1fs",
            call.method,
            call.path,
            failure.what,
            details["tries"],
            self.max_tries - 1,
            delay,
        )
        self._sleep(delay)

    def _note_budget(self, response: requests.Response) -> None:
        """Slow down when the server says the runs budget is spent."""
        if response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            self.budget.hold(60.0 / max(self.budget.limit, 1))
        if response.status_code == TOO_MANY:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                self.budget.hold(wait)
