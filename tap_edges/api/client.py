"""EdgesClient: the Edges endpoints the tap uses, and nothing of Singer or of HTTP retries.

Each method is one endpoint (or its pages) over :class:`tap_edges.api.transport.Transport`, which
owns the session, timeouts, retries, the runs budget and error mapping. Answers are checked for the
JSON shape each endpoint promises. :func:`check_identities` reads, and never launches.
"""

from __future__ import annotations

import typing as t

from tap_edges import errors

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_edges.api.retries import Answer
    from tap_edges.api.transport import Transport

OUTPUTS_PAGE_SIZE = 500  # the largest page Edges serves
LIST_RUNS_MAX = 100  # GET /v1/runs accepts at most 100 results per page
FIND_EXTRA_PAGES = 2  # pages read beyond the runs looked for (others may have launched since)


class EdgesClient:
    """The Edges endpoints the tap uses."""

    def __init__(self, http: Transport) -> None:
        """Speak to Edges through ``http``, which owns every concern of the wire."""
        self.http = http

    def list_identities(self, *, retrieve_accounts: bool = False) -> list[dict[str, t.Any]]:
        """``GET /identities``: the workspace's identities.

        Args:
            retrieve_accounts: Ask for each identity's connected accounts (slower, Edges
                says; without it an identity shows no account).

        Returns:
            The identity objects (anything that is not an object left out).
        """
        params = {"retrieve_accounts": "true"} if retrieve_accounts else None
        found = _json_list(self.http.request("GET", "/identities", params=params))
        return [identity for identity in found if isinstance(identity, dict)]

    def get_identity(
        self, identity_id: str, *, retrieve_accounts: bool = False
    ) -> dict[str, t.Any]:
        """``GET /identities/{uid}``: one identity (its ``type`` tells engagement or not).

        Args:
            identity_id: The identity uid.
            retrieve_accounts: Ask for its connected accounts too.
        """
        path = f"/identities/{identity_id}"
        params = {"retrieve_accounts": "true"} if retrieve_accounts else None
        return _json_object(self.http.request("GET", path, params=params))

    def me(self, identity_id: str) -> t.Any:  # noqa: ANN401 - an object, or a list of one
        """``POST /actions/linkedin-me/run/live``: the identity's own LinkedIn profile."""
        body = {"identity_ids": [identity_id], "input": {}}
        path = "/actions/linkedin-me/run/live"
        return self.http.request("POST", path, json=body).data

    def workspace(self) -> t.Any:  # noqa: ANN401 - an object, or (seen) a list of them
        """``GET /workspaces``: the workspace's credits and plan, as Edges shapes them."""
        return self.http.request("GET", "/workspaces").data

    def consumption(self) -> t.Any:  # noqa: ANN401 - shape read by tap_edges.api.credits
        """``GET /workspaces/consumption``: credits used this month, per action."""
        return self.http.request("GET", "/workspaces/consumption").data

    def launch(self, action: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """``POST /actions/{action}/run/async``: start a run.

        Args:
            action: Edges action slug.
            body: Launch body (inputs, parameters, identity_ids, ...).

        Returns:
            The launch answer, which holds ``run_uid``.
        """
        path = f"/actions/{action}/run/async"
        answer = _json_object(self.http.request("POST", path, json=body, idempotent=False))
        if not isinstance(answer.get("run_uid"), str):
            msg = f"POST {self.http.base_path}{path}: the answer has no run_uid"
            raise errors.ResponseError(msg)
        return answer

    def get_run(self, run_uid: str) -> dict[str, t.Any]:
        """``GET /runs/{uid}``: one run object."""
        path = f"/runs/{run_uid}"
        return _json_object(self.http.request("GET", path))

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
            answer = self.http.request("GET", "/runs", params=params)
            runs.extend(r for r in _json_list(answer) if isinstance(r, dict))
        return runs

    def continue_run(self, run_uid: str) -> dict[str, t.Any]:
        """``POST /runs/{uid}/continue``: fetch the items new since the last iteration.

        Not repeated after an ambiguous failure (:class:`errors.AmbiguousError`): a continue
        that Edges applied and whose answer was lost would skip an iteration if sent again.
        """
        path = f"/runs/{run_uid}/continue"
        return _json_object(self.http.request("POST", path, idempotent=False))

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
            runs = self.recent_runs(action, page)
            for run in runs:
                key = wanted(str(run.get("name") or ""))
                if key is not None:
                    found.setdefault(key, run)
            if len(found) >= count or len(runs) < LIST_RUNS_MAX:
                break
        return found

    def recent_runs(self, action: str, page: int = 0) -> list[dict[str, t.Any]]:
        """``GET /runs?action_name=...&sort=-created_at``: a page of the action's newest runs.

        Args:
            action: The action slug.
            page: Which page of 100 runs (0: the newest).

        Returns:
            The run objects of the page (anything that is not an object left out).
        """
        params = {
            "action_name": action,
            "sort": "-created_at",
            "limit": str(LIST_RUNS_MAX),
            "offset": str(page * LIST_RUNS_MAX),
        }
        runs = _json_list(self.http.request("GET", "/runs", params=params))
        return [run for run in runs if isinstance(run, dict)]

    def run_inputs(self, run_uid: str) -> list[dict[str, t.Any]]:
        """``GET /runs/{uid}/inputs``: the run's inputs (their ``input_data``)."""
        path = f"/runs/{run_uid}/inputs"
        params = {"limit": str(LIST_RUNS_MAX)}
        inputs = _json_list(self.http.request("GET", path, params=params))
        return [entry for entry in inputs if isinstance(entry, dict)]

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
            answer = self.http.request("GET", url, params=params)
            yield _json_list(answer)
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
            page = _json_list(self.http.request("GET", path, params=params))
            yield page
            if len(page) < OUTPUTS_PAGE_SIZE:
                return
            offset += len(page)


def _json_object(answer: Answer) -> dict[str, t.Any]:
    if not isinstance(answer.data, dict):
        msg = f"{answer.path}: expected a JSON object, got {type(answer.data).__name__}"
        raise errors.ResponseError(msg)
    return answer.data


def _json_list(answer: Answer) -> list[t.Any]:
    if not isinstance(answer.data, list):
        msg = f"{answer.path}: expected a JSON array, got {type(answer.data).__name__}"
        raise errors.ResponseError(msg)
    return answer.data


def check_identities(client: EdgesClient, identity_ids: Iterable[str]) -> None:
    """Check, with read-only calls, that every identity exists and is an engagement identity.

    One listing with the accounts (``GET /identities?retrieve_accounts=true``) answers for
    every identity it holds; an identity it lacks (the listing may be paged) is read on its
    own. An identity the answer shows without any connected account is logged as a WARNING:
    its runs will fail, but the shape of accounts is not documented well enough to refuse.

    Args:
        client: The API client.
        identity_ids: The configured identities.

    Raises:
        IdentityError: An identity is unknown or cannot run incremental extractions.
    """
    listed = {
        str(identity.get("uid")): identity
        for identity in client.list_identities(retrieve_accounts=True)
    }
    for identity_id in identity_ids:
        identity = listed.get(identity_id) or _one_identity(client, identity_id)
        kind = identity.get("type")
        if kind is not None and kind != "engagement":
            msg = (
                f"identity {identity_id} is a {kind!s} identity; incremental runs need an "
                "engagement identity (Edges developer settings)"
            )
            raise errors.IdentityError(msg)
        if linked_accounts(identity) == []:
            client.http.logger.warning(
                "identity %s: Edges shows no connected LinkedIn account for it, so its runs "
                "will fail (NO_VALID_ACCOUNT_CONFIGURED); connect its LinkedIn account in Edges",
                identity_id,
            )


def linked_accounts(identity: dict[str, t.Any]) -> list[t.Any] | None:
    """The accounts an identity object lists, wherever it lists them.

    The docs show ``integrations`` (a list) on identities; Edges' skills repo reads the
    connected accounts from ``accounts``. Either may hold them.

    Args:
        identity: An identity object asked with ``retrieve_accounts=true``.

    Returns:
        The accounts (empty when every list is empty), or None when the object has neither
        list, so says nothing of its accounts.
    """
    lists = [identity.get(key) for key in ("accounts", "integrations")]
    found = [value for value in lists if isinstance(value, list)]
    if not found:
        return None
    return [account for value in found for account in value if account]


def _one_identity(client: EdgesClient, identity_id: str) -> dict[str, t.Any]:
    try:
        return client.get_identity(identity_id, retrieve_accounts=True)
    except errors.NotFoundError:
        msg = f"identity {identity_id} is not known to Edges (check the uid)"
        raise errors.IdentityError(msg) from None
