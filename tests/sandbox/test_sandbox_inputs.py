"""Contract tests of ``GET /v1/runs/{uid}/inputs`` (edges-api §3.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.clock import ManualClock

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

RUN_SECONDS = 10.0
MESSAGES = "linkedin-extract-messages"
VIEWERS = "linkedin-extract-profile-viewers"
CONNECTIONS = "linkedin-extract-connections"
THREAD_URL = "https://www.linkedin.com/messaging/thread/2-YWJjZGVmZ2hpams==/"
ENGAGED, OTHER = ENGAGEMENT_IDENTITY_IDS


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock) as sb:
        yield sb


def launch(
    http: requests.Session, sb: Sandbox, action: str, the_input: dict[str, Any], identity: str
) -> str:
    body = {"inputs": [the_input], "identity_ids": [identity]}
    response = http.post(f"{sb.base_url}/actions/{action}/run/async", json=body)
    assert response.status_code == 201, response.text
    uid: str = response.json()["run_uid"]
    return uid


def test_a_run_lists_its_one_input(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    custom = {"partition": "messages/abc", "token": "t-1"}
    the_input = {"linkedin_thread_url": THREAD_URL, "custom_data": custom}
    uid = launch(http, sandbox, MESSAGES, the_input, ENGAGED)
    url = f"{sandbox.base_url}/runs/{uid}/inputs"
    listed = http.get(url).json()
    assert len(listed) == 1
    item = listed[0]
    assert item["status"] == "CREATED"
    assert item["input_data"] == {"linkedin_thread_url": THREAD_URL}
    assert item["custom_data"] == custom
    assert (item["last_error"], item["output_count"], item["retry_count"]) == (None, 0, 0)
    assert item["created_at"].endswith("Z")
    clock.advance(RUN_SECONDS)
    done = http.get(url, params={"limit": 100, "offset": 0}).json()[0]
    assert (done["uid"], done["status"], done["output_count"]) == (item["uid"], "SUCCEEDED", 30)
    run = http.get(f"{sandbox.base_url}/runs/{uid}").json()
    assert (done["started_at"], done["finished_at"]) == (run["started_at"], run["finished_at"])
    assert http.get(url, params={"offset": 1}).json() == []


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
def test_bad_paging_is_refused(
    http: requests.Session, sandbox: Sandbox, query: dict[str, int]
) -> None:
    uid = launch(http, sandbox, CONNECTIONS, {}, ENGAGED)
    response = http.get(f"{sandbox.base_url}/runs/{uid}/inputs", params=query)
    assert response.status_code == 400
    assert response.json()["error_label"] == "BAD_PARAMETERS"


def test_unknown_run_is_404(http: requests.Session, sandbox: Sandbox) -> None:
    response = http.get(f"{sandbox.base_url}/runs/no-such-run/inputs")
    assert response.status_code == 404
    assert response.json()["error_label"] == "STATUS_404"


def test_failed_and_invalid_runs_show_in_their_input(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    sandbox.settings.faults = Faults(fail={VIEWERS: "STATUS_424"}, invalid={OTHER})
    failed = launch(http, sandbox, VIEWERS, {}, ENGAGED)
    invalid = launch(http, sandbox, CONNECTIONS, {}, OTHER)
    clock.advance(RUN_SECONDS)
    failed_input = http.get(f"{sandbox.base_url}/runs/{failed}/inputs").json()[0]
    assert failed_input["status"] == "FAILED"
    assert (failed_input["input_data"], failed_input["custom_data"]) == ({}, {})
    error = failed_input["last_error"]
    assert (error["has_failed"], error["label"], error["scope"]) == (True, "STATUS_424", "input")
    assert error["message"]
    invalid_input = http.get(f"{sandbox.base_url}/runs/{invalid}/inputs").json()[0]
    assert http.get(f"{sandbox.base_url}/runs/{invalid}").json()["status"] == "INVALID"
    assert invalid_input["status"] == "BLOCKED"  # the input status enum has no INVALID
    assert invalid_input["last_error"]["has_failed"] is True


THREADS = [
    "https://www.linkedin.com/messaging/thread/2-YWJjZGVmZ2hpams==/",
    "https://www.linkedin.com/messaging/thread/2-b3RoZXItdGhyZWFk==/",
    "2-dGhpcmQtdGhyZWFk==",
]


def test_a_launch_with_several_inputs_runs_each_of_them(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    # The docs allow 1 to 100,000 inputs per async run; the tap sends one.
    inputs = [
        {"linkedin_thread_url": thread, "custom_data": {"n": index}}
        for index, thread in enumerate(THREADS)
    ]
    body = {
        "inputs": inputs,
        "identity_ids": [ENGAGED],
        "parameters": {"sync_mode": "incremental", "max_results": 20},
    }
    created = http.post(f"{sandbox.base_url}/actions/{MESSAGES}/run/async", json=body)
    assert created.status_code == 201, created.text
    uid = created.json()["run_uid"]
    clock.advance(RUN_SECONDS)
    run = http.get(f"{sandbox.base_url}/runs/{uid}").json()
    assert (run["status"], run["output_count"]) == ("SUCCEEDED", 3 * 20)  # max_results per input
    items = http.get(f"{sandbox.base_url}/runs/{uid}/outputs", params={"limit": 500}).json()
    truth = sandbox.backstage.ground_truth(uid)
    assert items == truth[0]["delivered"]
    assert len(truth[0]["dropped"]) == 3 * 10
    thread_ids = [item["linkedin_thread_id"] for item in items]
    assert thread_ids == [thread_ids[0]] * 20 + [thread_ids[20]] * 20 + [thread_ids[40]] * 20
    assert len(set(thread_ids)) == 3
    listed = http.get(f"{sandbox.base_url}/runs/{uid}/inputs").json()
    assert [one["input_data"] for one in listed] == [{"linkedin_thread_url": t} for t in THREADS]
    assert [one["custom_data"] for one in listed] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [one["output_count"] for one in listed] == [20, 20, 20]
    assert len({one["uid"] for one in listed}) == 3
    paged = http.get(f"{sandbox.base_url}/runs/{uid}/inputs", params={"limit": 2, "offset": 1})
    assert paged.json() == listed[1:3]

    sandbox.backstage.grow(4, action=MESSAGES, identity_id=ENGAGED, input=THREADS[1])
    assert http.post(f"{sandbox.base_url}/runs/{uid}/continue").status_code == 200
    clock.advance(RUN_SECONDS)
    truth = sandbox.backstage.ground_truth(uid)
    assert [len(it["delivered"]) for it in truth] == [60, 4]  # each input has its own cursor
    assert {item["linkedin_thread_id"] for item in truth[1]["delivered"]} == {thread_ids[20]}
    listed = http.get(f"{sandbox.base_url}/runs/{uid}/inputs").json()
    assert [one["output_count"] for one in listed] == [20, 24, 20]


def test_a_run_with_several_inputs_survives_a_restart(
    http: requests.Session, clock: ManualClock, tmp_path: Any
) -> None:
    state = tmp_path / "sandbox.json"
    body = {"inputs": [{"linkedin_thread_url": t} for t in THREADS], "identity_ids": [ENGAGED]}
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as first:
        uid = http.post(f"{first.base_url}/actions/{MESSAGES}/run/async", json=body).json()
        clock.advance(RUN_SECONDS)
        before = first.backstage.ground_truth(uid["run_uid"])
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as again:
        assert again.backstage.ground_truth(uid["run_uid"]) == before
        listed = http.get(f"{again.base_url}/runs/{uid['run_uid']}/inputs").json()
        assert [one["output_count"] for one in listed] == [30, 30, 30]
