"""Contract tests of the sandbox's request handling: auth, validation, listing, identities."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests

from edges_sandbox import (
    DEFAULT_API_KEY,
    ENGAGEMENT_IDENTITY_IDS,
    STANDARD_IDENTITY_ID,
    Sandbox,
)
from edges_sandbox.clock import ManualClock

if TYPE_CHECKING:
    from collections.abc import Iterator

ERROR_FIELDS = {"error_label", "error_scope", "error_ref", "message", "status_code", "params"}
POST_URL = "https://www.linkedin.com/posts/jane-doe_data-activity-7212345678901234567-AbCd"
THREAD_URL = "https://www.linkedin.com/messaging/thread/2-YWJjZGVmZ2hpams==/"
COMPANY_URL = "https://www.linkedin.com/company/edges-run/"
ENGAGED = ENGAGEMENT_IDENTITY_IDS[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=1.0, clock=clock) as sb:
        yield sb


def launch_body(input_: dict[str, Any], identity: str = ENGAGED, **params: Any) -> dict[str, Any]:
    return {"inputs": [input_], "identity_ids": [identity], "parameters": params}


def launch(
    http: requests.Session, sb: Sandbox, action: str, body: dict[str, Any]
) -> requests.Response:
    return http.post(f"{sb.base_url}/actions/{action}/run/async", json=body)


def assert_error(response: requests.Response, status: int, label: str) -> dict[str, Any]:
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["error_label"] == label
    assert body["status_code"] == status
    assert body["error_ref"].startswith("ERR-")
    return body


@pytest.mark.parametrize("key", [None, "wrong-key-do-not-echo"])
def test_missing_or_wrong_key_is_401_without_echo(sandbox: Sandbox, key: str | None) -> None:
    headers = {"X-API-Key": key} if key else {}
    response = requests.get(f"{sandbox.base_url}/runs", headers=headers, timeout=5)
    body = assert_error(response, 401, "UNAUTHORIZED")
    assert body["error_scope"] == "auth"
    assert "wrong-key" not in response.text
    assert "wrong-key" not in str(sandbox.requests.entries())
    assert sandbox.requests.entries()[-1]["status"] == 401


def test_custom_key_is_required() -> None:
    with Sandbox(api_key="s3cret", clock=ManualClock()) as sb:
        default = requests.get(
            f"{sb.base_url}/identities", headers={"X-API-Key": DEFAULT_API_KEY}, timeout=5
        )
        custom = requests.get(
            f"{sb.base_url}/identities", headers={"X-API-Key": "s3cret"}, timeout=5
        )
    assert default.status_code == 401
    assert custom.status_code == 200


def test_launch_answers_201_pending(http: requests.Session, sandbox: Sandbox) -> None:
    body = launch_body({"linkedin_post_url": POST_URL}, max_results=5) | {
        "name": "my run",
        "identity_mode": "direct",
        "callback": {"url": "https://example.com/hook", "headers": {"A": "b"}, "on": "final"},
    }
    response = launch(http, sandbox, "linkedin-extract-post-likers", body)
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "pending"
    assert created["name"] == "my run"
    assert created["action_name"] == "linkedin-extract-post-likers"
    run = http.get(f"{sandbox.base_url}/runs/{created['run_uid']}").json()
    assert run["id"] == created["run_id"]
    assert run["callback"] == {"url": "https://example.com/hook"}
    assert run["parameters"] == {"max_results": 5, "sync_mode": "full"}
    assert run["execution_mode"] == "ASYNC"
    assert run["created_at"].endswith("Z")


UNKNOWN_IDENTITY = "44444444-4444-4444-8444-444444444444"
CONNECTIONS = "linkedin-extract-connections"
INVALID_LAUNCHES = {
    "bad post url": (
        "linkedin-extract-post-commenters",
        launch_body({"linkedin_post_url": "https://example.com/posts/x"}),
        ("BAD_INPUT", "linkedin_post_url"),
    ),
    "school instead of company page": (
        "linkedin-extract-page-followers",
        launch_body({"linkedin_company_url": "https://www.linkedin.com/school/edges/"}),
        ("BAD_INPUT", "linkedin_company_url"),
    ),
    "missing company url": (
        "linkedin-extract-page-followers",
        launch_body({}),
        ("BAD_INPUT", "linkedin_company_url"),
    ),
    "missing thread url": (
        "linkedin-extract-messages",
        launch_body({}),
        ("BAD_INPUT", "linkedin_thread_url"),
    ),
    "extra input key": (CONNECTIONS, launch_body({"foo": 1}), ("BAD_INPUT", "foo")),
    "unknown identity": (
        CONNECTIONS,
        launch_body({}, identity=UNKNOWN_IDENTITY),
        ("BAD_PARAMETERS", UNKNOWN_IDENTITY),
    ),
    "max_results 0": (
        CONNECTIONS,
        launch_body({}, max_results=0),
        ("BAD_PARAMETERS", "max_results"),
    ),
    "max_results 1001": (
        CONNECTIONS,
        launch_body({}, max_results=1001),
        ("BAD_PARAMETERS", "max_results"),
    ),
    "bad sync_mode": (
        CONNECTIONS,
        launch_body({}, sync_mode="delta"),
        ("BAD_PARAMETERS", "sync_mode"),
    ),
    "no input": (
        CONNECTIONS,
        {"inputs": [], "identity_ids": [ENGAGED]},
        ("BAD_PARAMETERS", "inputs must hold between 1 and 100000 inputs"),
    ),
    "too many inputs": (
        CONNECTIONS,
        {"inputs": [{}] * 100_001, "identity_ids": [ENGAGED]},
        ("BAD_PARAMETERS", "inputs must hold between 1 and 100000 inputs"),
    ),
    "first of two inputs without its url": (
        "linkedin-extract-messages",
        launch_body({"linkedin_thread_url": THREAD_URL}) | {"inputs": [{}, {"x": 1}]},
        ("BAD_INPUT", "inputs/0 must have required property 'linkedin_thread_url'"),
    ),
    "bad third input": (
        "linkedin-extract-messages",
        launch_body({}) | {"inputs": [{"linkedin_thread_url": THREAD_URL}] * 2 + [{"x": 1}]},
        ("BAD_INPUT", "inputs/2 must NOT have additional properties (x)"),
    ),
    # Edges validates the body against its schema: an unknown top-level key is refused.
    "unknown top-level key": (
        CONNECTIONS,
        launch_body({}) | {"input": {}},
        ("BAD_PARAMETERS", "body must NOT have additional properties (input)"),
    ),
    "unknown top-level keys": (
        CONNECTIONS,
        launch_body({}) | {"custom_data": {}, "webhook": "https://example.com"},
        ("BAD_PARAMETERS", "body must NOT have additional properties (custom_data, webhook)"),
    ),
}


@pytest.mark.parametrize("case", INVALID_LAUNCHES.values(), ids=INVALID_LAUNCHES.keys())
def test_launch_validation(
    http: requests.Session,
    sandbox: Sandbox,
    case: tuple[str, dict[str, Any], tuple[str, str]],
) -> None:
    action, body, (label, needle) = case
    error = assert_error(launch(http, sandbox, action, body), 400, label)
    assert error["error_scope"] == "input"
    assert needle in error["message"]
    assert sandbox.backstage.runs() == []


def test_thread_url_and_bare_thread_id_are_accepted(
    http: requests.Session, sandbox: Sandbox
) -> None:
    for value in (THREAD_URL, "2-YWJjZGVmZ2hpams=="):
        body = launch_body({"linkedin_thread_url": value, "custom_data": {"k": 1}})
        assert launch(http, sandbox, "linkedin-extract-messages", body).status_code == 201


def test_unknown_action_route_and_run_are_404(http: requests.Session, sandbox: Sandbox) -> None:
    unknown_action = launch(http, sandbox, "linkedin-extract-followers", launch_body({}))
    assert_error(unknown_action, 404, "STATUS_404")
    assert_error(http.get(f"{sandbox.base_url}/nowhere"), 404, "STATUS_404")
    for suffix in ("", "/status", "/outputs"):
        assert_error(http.get(f"{sandbox.base_url}/runs/nope{suffix}"), 404, "STATUS_404")
    assert_error(http.post(f"{sandbox.base_url}/runs/nope/continue"), 404, "STATUS_404")


def test_non_json_body_is_bad_input(http: requests.Session, sandbox: Sandbox) -> None:
    url = f"{sandbox.base_url}/actions/linkedin-extract-connections/run/async"
    assert_error(http.post(url, data=b"{not json"), 400, "BAD_INPUT")
    assert_error(http.post(url, json=[1, 2]), 400, "BAD_INPUT")


def test_list_runs_filters_paging_and_sort(http: requests.Session, sandbox: Sandbox) -> None:
    uids = [
        launch(http, sandbox, "linkedin-extract-connections", launch_body({})).json()["run_uid"]
        for _ in range(4)
    ]
    url = f"{sandbox.base_url}/runs"
    chosen = http.get(url, params=[("uid", uids[0]), ("uid", uids[2])]).json()
    assert [run["uid"] for run in chosen] == [uids[0], uids[2]]
    assert [run["uid"] for run in http.get(url, params={"limit": 2, "offset": 1}).json()] == uids[
        1:3
    ]
    assert [run["uid"] for run in http.get(url, params={"sort": "-id"}).json()] == uids[::-1]
    by_action = http.get(url, params={"action_name": "linkedin-extract-messages"}).json()
    assert by_action == []
    assert len(http.get(url, params={"status": "CREATED"}).json()) == 4
    assert_error(http.get(url, params={"limit": 101}), 400, "BAD_PARAMETERS")
    assert_error(http.get(url, params={"offset": -1}), 400, "BAD_PARAMETERS")


def test_identities(http: requests.Session, sandbox: Sandbox) -> None:
    identities = http.get(f"{sandbox.base_url}/identities").json()
    kinds = {one["uid"]: one["type"] for one in identities}
    assert kinds == {
        ENGAGEMENT_IDENTITY_IDS[0]: "engagement",
        ENGAGEMENT_IDENTITY_IDS[1]: "engagement",
        STANDARD_IDENTITY_ID: "standard",
    }
    assert identities == sandbox.backstage.identities()
    found = http.get(f"{sandbox.base_url}/identities", params={"query": "hopper"}).json()
    assert [one["uid"] for one in found] == [ENGAGEMENT_IDENTITY_IDS[1]]
    one = http.get(f"{sandbox.base_url}/identities/{STANDARD_IDENTITY_ID}").json()
    assert one["type"] == "standard"
    assert_error(http.get(f"{sandbox.base_url}/identities/unknown"), 404, "STATUS_404")


def test_identities_show_their_accounts_only_when_asked(
    http: requests.Session, sandbox: Sandbox
) -> None:
    # As Edges: `integrations` is a list, empty unless retrieve_accounts=true asks for the
    # connected accounts (slower on Edges), each with its type and status.
    plain = http.get(f"{sandbox.base_url}/identities").json()
    assert all(one["integrations"] == [] for one in plain)
    assert all("accounts" not in one for one in plain)
    asked = {"retrieve_accounts": "true"}
    full = http.get(f"{sandbox.base_url}/identities", params=asked).json()
    assert [one["uid"] for one in full] == [one["uid"] for one in plain]
    for one in full:
        assert [account["type"] for account in one["integrations"]] == ["linkedin"]
        assert one["integrations"][0]["status"] == "connected"
    assert full == sandbox.backstage.identities(retrieve_accounts=True)
    url = f"{sandbox.base_url}/identities/{ENGAGED}"
    assert http.get(url).json()["integrations"] == []
    assert http.get(url, params=asked).json()["integrations"] == full[0]["integrations"]
    off = http.get(f"{sandbox.base_url}/identities", params={"retrieve_accounts": "false"})
    assert off.json() == plain


def test_identity_accounts_variant_lists_them_as_accounts(
    http: requests.Session, sandbox: Sandbox
) -> None:
    sandbox.settings.variants = ["identity_accounts"]
    asked = {"retrieve_accounts": "true"}
    full = http.get(f"{sandbox.base_url}/identities", params=asked).json()
    for one in full:
        assert one["integrations"] == []
        assert [account["type"] for account in one["accounts"]] == ["linkedin"]
    plain = http.get(f"{sandbox.base_url}/identities").json()
    assert all("accounts" not in one and one["integrations"] == [] for one in plain)


def test_control_routes_need_no_key_and_are_not_logged(sandbox: Sandbox) -> None:
    control = sandbox.base_url.removesuffix("/v1") + "/_sandbox"
    grown = requests.post(
        f"{control}/grow",
        json={"n": 3, "action": "linkedin-extract-connections", "identity_id": ENGAGED},
        timeout=5,
    )
    assert grown.json() == {"added": 3}
    faults = requests.post(f"{control}/faults", json={"error_every": 4, "hang": ["x"]}, timeout=5)
    assert faults.json()["error_every"] == 4
    assert sandbox.settings.faults.hang == {"x"}
    mode = requests.post(f"{control}/outputs-mode", json={"outputs_mode": "latest"}, timeout=5)
    assert mode.json() == {"outputs_mode": "latest"}
    assert sandbox.settings.outputs_mode == "latest"
    bad = requests.post(f"{control}/faults", json={"nope": 1}, timeout=5)
    assert bad.status_code == 400
    assert requests.get(f"{control}/requests", timeout=5).json() == []
    assert sandbox.requests.entries() == []


def test_concurrent_launches_get_distinct_runs(sandbox: Sandbox) -> None:
    def one(_: int) -> int:
        with requests.Session() as session:
            session.headers["X-API-Key"] = DEFAULT_API_KEY
            response = launch(session, sandbox, CONNECTIONS, launch_body({}))
            assert response.status_code == 201
            run_id: int = response.json()["run_id"]
            return run_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(24)))
    assert sorted(ids) == list(range(1, 25))
    assert len(sandbox.backstage.runs()) == 24


POST_ACTIONS = (
    "linkedin-extract-post-commenters",
    "linkedin-extract-post-likers",
    "linkedin-extract-post-reposters",
)


@pytest.mark.parametrize("action", POST_ACTIONS)
@pytest.mark.parametrize("identity_ids", ["absent", None, []])
def test_post_actions_run_in_managed_mode_without_an_identity(
    http: requests.Session,
    sandbox: Sandbox,
    clock: ManualClock,
    action: str,
    identity_ids: object,
) -> None:
    body: dict[str, Any] = {
        "inputs": [{"linkedin_post_url": POST_URL}],
        "identity_mode": "managed",
        "parameters": {"max_results": 5},
    }
    if identity_ids != "absent":
        body["identity_ids"] = identity_ids
    created = launch(http, sandbox, action, body)
    assert created.status_code == 201, created.text
    uid = created.json()["run_uid"]
    clock.advance(2.0)
    run = http.get(f"{sandbox.base_url}/runs/{uid}").json()
    assert run["status"] == "SUCCEEDED"
    assert len(http.get(f"{sandbox.base_url}/runs/{uid}/outputs").json()) == 5


def test_managed_mode_is_refused_for_an_identity_s_own_data(
    http: requests.Session, sandbox: Sandbox
) -> None:
    for action, input_ in (
        (CONNECTIONS, {}),
        ("linkedin-extract-messages", {"linkedin_thread_url": THREAD_URL}),
        ("linkedin-extract-profile-viewers", {}),
        ("linkedin-extract-page-followers", {"linkedin_company_url": COMPANY_URL}),
    ):
        body = {"inputs": [input_], "identity_mode": "managed"}
        error = assert_error(launch(http, sandbox, action, body), 400, "BAD_PARAMETERS")
        assert "identity_mode managed" in error["message"]
        assert action in error["message"]
    assert sandbox.backstage.runs() == []


def test_identity_mode_values(http: requests.Session, sandbox: Sandbox) -> None:
    likers = "linkedin-extract-post-likers"
    unknown = launch_body({"linkedin_post_url": POST_URL}) | {"identity_mode": "borrowed"}
    error = assert_error(launch(http, sandbox, likers, unknown), 400, "BAD_PARAMETERS")
    assert "identity_mode" in error["message"]
    managed_with_one = launch_body({"linkedin_post_url": POST_URL}) | {"identity_mode": "managed"}
    error = assert_error(launch(http, sandbox, likers, managed_with_one), 400, "BAD_PARAMETERS")
    assert "identity_ids" in error["message"]
    for mode in ("direct", "auto", None):
        body = launch_body({"linkedin_post_url": POST_URL}) | {"identity_mode": mode}
        assert launch(http, sandbox, likers, body).status_code == 201
    direct_without = {"inputs": [{"linkedin_post_url": POST_URL}], "identity_mode": "direct"}
    error = assert_error(launch(http, sandbox, likers, direct_without), 400, "BAD_PARAMETERS")
    assert "identity_ids" in error["message"]


def test_a_managed_run_cannot_be_continued(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    body = {
        "inputs": [{"linkedin_post_url": POST_URL}],
        "identity_mode": "managed",
        "parameters": {"sync_mode": "incremental"},
    }
    uid = launch(http, sandbox, "linkedin-extract-post-likers", body).json()["run_uid"]
    clock.advance(2.0)
    refused = http.post(f"{sandbox.base_url}/runs/{uid}/continue")
    error = assert_error(refused, 400, "BAD_PARAMETERS")
    assert "engagement identity" in error["message"]
