"""Contract tests of the run lifecycle: statuses, continue, incremental delivery, outputs."""

from __future__ import annotations

import time
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

RUN_SECONDS = 10.0
CONNECTIONS = "linkedin-extract-connections"
ENGAGED = ENGAGEMENT_IDENTITY_IDS[0]


class Api:
    """A tiny client of the sandbox for these tests."""

    def __init__(self, sandbox: Sandbox, clock: ManualClock) -> None:
        self.sandbox, self.clock = sandbox, clock
        self.base = sandbox.base_url
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = DEFAULT_API_KEY

    def launch(self, action: str = CONNECTIONS, identity: str = ENGAGED, **parameters: Any) -> str:
        parameters.setdefault("sync_mode", "incremental")
        body = {"inputs": [{}], "identity_ids": [identity], "parameters": parameters}
        response = self.session.post(f"{self.base}/actions/{action}/run/async", json=body)
        assert response.status_code == 201, response.text
        uid: str = response.json()["run_uid"]
        return uid

    def status(self, uid: str) -> str:
        status: str = self.session.get(f"{self.base}/runs/{uid}/status").json()["status"]
        return status

    def run(self, uid: str) -> dict[str, Any]:
        run: dict[str, Any] = self.session.get(f"{self.base}/runs/{uid}").json()
        return run

    def continue_(self, uid: str) -> requests.Response:
        return self.session.post(f"{self.base}/runs/{uid}/continue")

    def finish(self) -> None:
        self.clock.advance(RUN_SECONDS)

    def outputs(self, uid: str, limit: int = 500) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = f"{self.base}/runs/{uid}/outputs?limit={limit}"
        while url:
            response = self.session.get(url)
            assert response.status_code == 200, response.text
            items.extend(response.json())
            url = response.headers.get("X-Pagination-Next")
        return items


@pytest.fixture
def api() -> Iterator[Api]:
    clock = ManualClock()
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock) as sandbox:
        client = Api(sandbox, clock)
        yield client
        client.session.close()


def test_launch_status_progression(api: Api) -> None:
    uid = api.launch()
    seen = [api.status(uid)]
    for step in (0.1, 0.2, 0.5, 0.2):
        api.clock.advance(step * RUN_SECONDS)
        seen.append(api.status(uid))
    assert seen == ["CREATED", "QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"]
    run = api.run(uid)
    assert run["started_at"] is not None
    assert run["finished_at"] > run["started_at"]
    assert run["output_count"] == 60


def test_continue_status_progression_and_same_uid(api: Api) -> None:
    uid = api.launch()
    api.finish()
    continued = api.continue_(uid)
    assert continued.status_code == 200
    assert continued.json()["uid"] == uid
    assert continued.json()["status"] == "SCHEDULED"
    assert continued.json()["finished_at"] is None
    seen = []
    for step in (0.05, 0.1, 0.5, 0.35):
        api.clock.advance(step * RUN_SECONDS)
        seen.append(api.status(uid))
    assert seen == ["SCHEDULED", "QUEUED", "RUNNING", "SUCCEEDED"]


def test_continue_preconditions(api: Api) -> None:
    running = api.launch()
    api.clock.advance(0.5 * RUN_SECONDS)
    refused = api.continue_(running)
    assert refused.status_code == 400
    assert refused.json()["error_label"] == "BAD_PARAMETERS"
    assert "RUNNING" in refused.json()["message"]
    full = api.launch(sync_mode="full")
    standard = api.launch(identity=STANDARD_IDENTITY_ID)
    api.finish()
    assert api.status(standard) == "SUCCEEDED"
    not_incremental = api.continue_(full).json()
    assert not_incremental["error_label"] == "BAD_PARAMETERS"
    assert "incremental" in not_incremental["message"]
    not_engagement = api.continue_(standard).json()
    assert not_engagement["error_label"] == "BAD_PARAMETERS"
    assert "engagement" in not_engagement["message"]
    assert api.continue_(running).status_code == 200


def test_continue_delivers_exactly_the_new_items(api: Api) -> None:
    uid = api.launch(max_results=100)
    api.finish()
    first = api.outputs(uid)
    assert api.sandbox.backstage.grow(7, action=CONNECTIONS, identity_id=ENGAGED) == 7
    api.continue_(uid)
    api.finish()
    second = api.outputs(uid)[len(first) :]
    assert len(second) == 7
    old_ids = {item["linkedin_profile_id"] for item in first}
    assert not old_ids & {item["linkedin_profile_id"] for item in second}
    assert min(item["extracted_at"] for item in second) > max(
        item["extracted_at"] for item in first
    )
    truth = api.sandbox.backstage.ground_truth(uid)
    assert truth[1]["delivered"] == second
    assert truth[1]["dropped"] == []
    assert api.run(uid)["output_count"] == 67


def test_continue_drops_excess_beyond_max_results(api: Api) -> None:
    uid = api.launch(max_results=10)
    api.finish()
    assert len(api.sandbox.backstage.ground_truth(uid)[0]["dropped"]) == 50
    api.sandbox.backstage.grow(15, action=CONNECTIONS, identity_id=ENGAGED)
    api.continue_(uid)
    api.finish()
    delivered = api.outputs(uid)[10:]
    truth = api.sandbox.backstage.ground_truth(uid)[1]
    assert len(delivered) == 10
    assert delivered == truth["delivered"]
    assert len(truth["dropped"]) == 5
    newest_dropped = max(item["connected_at"] for item in truth["dropped"])
    assert newest_dropped < min(item["connected_at"] for item in delivered)
    api.continue_(uid)
    api.finish()
    assert api.sandbox.backstage.ground_truth(uid)[2]["delivered"] == []


def test_outputs_modes(api: Api) -> None:
    uid = api.launch(max_results=20)
    api.finish()
    api.sandbox.backstage.grow(3)
    api.continue_(uid)
    api.clock.advance(0.5 * RUN_SECONDS)
    assert len(api.outputs(uid)) == 20
    api.sandbox.settings.outputs_mode = "latest"
    assert len(api.outputs(uid)) == 20  # the continued iteration is still running
    api.clock.advance(0.5 * RUN_SECONDS)
    latest = api.outputs(uid)
    assert len(latest) == 3
    assert latest == api.sandbox.backstage.ground_truth(uid)[1]["delivered"]
    api.sandbox.settings.outputs_mode = "cumulative"
    cumulative = api.outputs(uid)
    assert cumulative[20:] == latest
    api.sandbox.settings.outputs_mode = "cumulative-newest"
    assert api.outputs(uid) == latest + cumulative[:20]


def test_cursor_pagination_matches_ground_truth(api: Api) -> None:
    uid = api.launch(max_results=60)
    api.finish()
    first = api.session.get(f"{api.base}/runs/{uid}/outputs", params={"limit": 25})
    next_url = first.headers["X-Pagination-Next"]
    assert next_url.startswith(f"{api.base}/runs/{uid}/outputs?")
    assert "limit=25" in next_url
    assert "cursor=" in next_url
    pages = []
    url: str | None = f"{api.base}/runs/{uid}/outputs?limit=25"
    while url:
        response = api.session.get(url)
        pages.append(response.json())
        url = response.headers.get("X-Pagination-Next")
    assert [len(page) for page in pages] == [25, 25, 10]
    items = [item for page in pages for item in page]
    assert len({item["linkedin_profile_id"] for item in items}) == 60
    assert items == api.sandbox.backstage.ground_truth(uid)[0]["delivered"]


def test_outputs_limits_and_offset_paging(api: Api) -> None:
    uid = api.launch()
    api.finish()
    url = f"{api.base}/runs/{uid}/outputs"
    too_big = api.session.get(url, params={"limit": 501})
    assert too_big.status_code == 400
    assert too_big.json()["error_label"] == "BAD_PARAMETERS"
    assert api.session.get(url, params={"cursor": "garbage!"}).status_code == 400
    default = api.session.get(url)
    assert len(default.json()) == 60
    assert "X-Pagination-Next" not in default.headers
    by_offset = api.session.get(url, params={"offset": 50, "limit": 20})
    assert by_offset.json() == api.outputs(uid)[50:]
    assert "X-Pagination-Next" not in by_offset.headers


def test_outputs_are_empty_until_the_first_iteration_ends(api: Api) -> None:
    uid = api.launch()
    api.clock.advance(0.5 * RUN_SECONDS)
    assert api.outputs(uid) == []
    assert api.run(uid)["output_count"] == 0


def test_cancel_stops_and_next_continue_gets_the_items(api: Api) -> None:
    uid = api.launch(max_results=100)
    api.clock.advance(0.5 * RUN_SECONDS)
    stopped = api.session.post(f"{api.base}/runs/{uid}/cancel").json()
    assert stopped["status"] == "STOPPED"
    api.finish()
    assert api.status(uid) == "STOPPED"
    assert api.outputs(uid) == []
    api.continue_(uid)
    api.finish()
    assert len(api.outputs(uid)) == 60


@pytest.mark.parametrize(
    ("action", "field", "key"),
    [
        ("linkedin-extract-post-commenters", "linkedin_post_url", "linkedin_comment_id"),
        ("linkedin-extract-post-likers", "linkedin_post_url", "reaction_urn"),
        ("linkedin-extract-post-reposters", "linkedin_post_url", "linkedin_repost_id"),
        ("linkedin-extract-messages", "linkedin_thread_url", "message_id"),
        ("linkedin-extract-profile-viewers", None, "view_timestamp"),
        ("linkedin-extract-page-followers", "linkedin_company_url", "linkedin_profile_id"),
    ],
)
def test_every_action_serves_unique_natural_keys(
    api: Api, action: str, field: str | None, key: str
) -> None:
    value = {
        "linkedin_post_url": "https://www.linkedin.com/feed/update-7212345678901234567",
        "linkedin_thread_url": "2-T2hIaQ==",
        "linkedin_company_url": "https://www.linkedin.com/company/edges-run/",
    }
    body = {
        "inputs": [{field: value[field]} if field else {}],
        "identity_ids": [ENGAGED],
        "parameters": {"max_results": 1000},
    }
    uid = api.session.post(f"{api.base}/actions/{action}/run/async", json=body).json()["run_uid"]
    api.finish()
    items = api.outputs(uid)
    keys = [item[key] for item in items]
    assert len(keys) == len(set(keys)) > 10
    assert all(isinstance(item["extracted_at"], str) for item in items)


def test_real_clock_run_reaches_succeeded() -> None:
    order = ["CREATED", "QUEUED", "RUNNING", "SUCCEEDED"]
    with Sandbox(run_seconds=0.3) as sandbox, requests.Session() as session:
        session.headers["X-API-Key"] = DEFAULT_API_KEY
        body = {"inputs": [{}], "identity_ids": [ENGAGED]}
        url = f"{sandbox.base_url}/actions/{CONNECTIONS}/run/async"
        uid = session.post(url, json=body).json()["run_uid"]
        seen: list[str] = []
        for _ in range(200):
            status = session.get(f"{sandbox.base_url}/runs/{uid}/status").json()["status"]
            seen.append(status)
            if status == "SUCCEEDED":
                break
            time.sleep(0.02)
    assert seen[-1] == "SUCCEEDED"
    assert [order.index(status) for status in seen] == sorted(order.index(s) for s in seen)


def test_run_seconds_can_change_at_runtime(api: Api) -> None:
    assert api.sandbox.settings.run_seconds == RUN_SECONDS
    assert api.sandbox.api_key == DEFAULT_API_KEY
    api.sandbox.settings.run_seconds = 2 * RUN_SECONDS
    uid = api.launch()
    api.finish()
    assert api.status(uid) == "RUNNING"
    api.finish()
    assert api.status(uid) == "SUCCEEDED"


def test_page_followers_of_a_page_the_identity_does_not_administer_fail(api: Api) -> None:
    page = "https://www.linkedin.com/company/not-admin-globex/"
    body = {
        "inputs": [{"linkedin_company_url": page}],
        "identity_ids": [ENGAGED],
        "parameters": {"sync_mode": "incremental"},
    }
    url = f"{api.base}/actions/linkedin-extract-page-followers/run/async"
    uid = api.session.post(url, json=body).json()["run_uid"]
    api.finish()
    run = api.run(uid)
    assert run["status"] == "FAILED"
    assert run["last_error"]["label"] == "STATUS_403"
    assert page in run["last_error"]["message"]
    assert api.outputs(uid) == []
    assert api.continue_(uid).status_code == 200  # FAILED runs may be continued: same answer
    api.finish()
    assert api.run(uid)["last_error"]["label"] == "STATUS_403"
    admin = {**body, "inputs": [{"linkedin_company_url": page.replace("not-admin-", "")}]}
    fine = api.session.post(url, json=admin).json()["run_uid"]
    api.finish()
    assert api.status(fine) == "SUCCEEDED"
    assert api.outputs(fine)
