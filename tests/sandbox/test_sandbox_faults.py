"""Contract tests of the sandbox's fault injection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.clock import ManualClock

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

RUN_SECONDS = 10.0
POST_URL = "https://www.linkedin.com/posts/someone_activity-7212345678901234567-xyz"
OTHER_POST_URL = "https://fr.linkedin.com/posts/other_activity-7299999999999999999-abc"
LIKERS = "linkedin-extract-post-likers"
ENGAGED = ENGAGEMENT_IDENTITY_IDS[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock) as sb:
        yield sb


def launch(http: requests.Session, sb: Sandbox, post_url: str = POST_URL, **params: Any) -> str:
    body = {
        "inputs": [{"linkedin_post_url": post_url}],
        "identity_ids": [ENGAGED],
        "parameters": {"sync_mode": "incremental", **params},
    }
    response = http.post(f"{sb.base_url}/actions/{LIKERS}/run/async", json=body)
    assert response.status_code == 201
    uid: str = response.json()["run_uid"]
    return uid


def test_budget_answers_429_with_headers(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    sandbox.settings.set_faults(runs_budget_per_minute=3)
    url = f"{sandbox.base_url}/runs"
    remaining = []
    for _ in range(3):
        response = http.get(url)
        assert response.status_code == 200
        remaining.append(response.headers["X-RateLimit-Remaining"])
        clock.advance(10)
    assert remaining == ["2", "1", "0"]
    limited = http.get(f"{sandbox.base_url}/runs/some-uid/outputs")
    assert limited.status_code == 429
    assert limited.json()["error_label"] == "STATUS_429"
    assert limited.headers["Retry-After"] == "30"
    assert limited.headers["X-RateLimit-Type"] == "/v1/runs/outputs"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert http.get(f"{sandbox.base_url}/identities").status_code == 200  # not a /v1/runs route
    clock.advance(30)
    assert http.get(url).headers["X-RateLimit-Remaining"] == "0"


def test_error_every_nth_runs_request_is_503(http: requests.Session, sandbox: Sandbox) -> None:
    sandbox.settings.faults = Faults(error_every=3)
    statuses = [http.get(f"{sandbox.base_url}/runs").status_code for _ in range(9)]
    assert statuses == [200, 200, 503] * 3
    log = [entry["status"] for entry in sandbox.requests.entries()]
    assert log == statuses
    failed = [http.get(f"{sandbox.base_url}/runs") for _ in range(3)][-1]
    assert failed.status_code == 503
    assert failed.json()["error_label"] == "UNKNOWN_ERROR"
    assert failed.json()["error_scope"] == "server"


def test_error_rate_is_seeded(http: requests.Session) -> None:
    def statuses(seed: int) -> list[int]:
        with Sandbox(seed=seed, clock=ManualClock()) as sb:
            sb.settings.set_faults(error_rate=0.5)
            return [http.get(f"{sb.base_url}/runs").status_code for _ in range(30)]

    first = statuses(1)
    assert first == statuses(1)
    assert set(first) - {200} <= {500, 502, 503}
    assert 0 < first.count(200) < 30


def test_outputs_429_every(http: requests.Session, sandbox: Sandbox) -> None:
    sandbox.settings.set_faults(outputs_429_every=2, outputs_retry_after=7)
    uid = launch(http, sandbox)
    url = f"{sandbox.base_url}/runs/{uid}/outputs"
    answers = [http.get(url) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 429, 200, 429]
    assert answers[1].headers["Retry-After"] == "7"
    assert http.get(f"{sandbox.base_url}/runs/{uid}").status_code == 200


def test_fail_fault_keeps_the_cursor(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    uid = launch(http, sandbox, max_results=1000)
    clock.advance(RUN_SECONDS)
    sandbox.backstage.grow(4, action=LIKERS, input=POST_URL)
    sandbox.settings.set_faults(fail={POST_URL: "LK_ERROR"})
    http.post(f"{sandbox.base_url}/runs/{uid}/continue")
    clock.advance(RUN_SECONDS)
    run = http.get(f"{sandbox.base_url}/runs/{uid}").json()
    assert run["status"] == "FAILED"
    assert run["last_error"]["label"] == "LK_ERROR"
    assert run["output_count"] == 70
    sandbox.settings.set_faults(fail={})
    http.post(f"{sandbox.base_url}/runs/{uid}/continue")
    clock.advance(RUN_SECONDS)
    truth = sandbox.backstage.ground_truth(uid)
    assert [len(one["delivered"]) for one in truth] == [70, 0, 4]
    assert http.get(f"{sandbox.base_url}/runs/{uid}").json()["last_error"] is None


def test_partial_and_hang_faults(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    sandbox.settings.set_faults(partial={POST_URL}, hang={OTHER_POST_URL})
    partial = launch(http, sandbox)
    hanging = launch(http, sandbox, OTHER_POST_URL)
    clock.advance(100 * RUN_SECONDS)
    partial_run = http.get(f"{sandbox.base_url}/runs/{partial}").json()
    assert partial_run["status"] == "PARTIAL_SUCCEEDED"
    assert partial_run["last_error"] is not None
    assert len(http.get(f"{sandbox.base_url}/runs/{partial}/outputs").json()) == 70
    status = http.get(f"{sandbox.base_url}/runs/{hanging}/status").json()
    assert status["status"] == "RUNNING"
    assert status["finished_at"] is None


def test_identity_and_action_keys_match(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    sandbox.settings.set_faults(fail={ENGAGED: "NO_VALID_ACCOUNT_CONFIGURED"})
    by_identity = launch(http, sandbox)
    sandbox.settings.set_faults(fail={LIKERS: "GENERIC_ERROR"})
    by_action = launch(http, sandbox, OTHER_POST_URL)
    clock.advance(RUN_SECONDS)
    labels = [
        http.get(f"{sandbox.base_url}/runs/{uid}").json()["last_error"]["label"]
        for uid in (by_identity, by_action)
    ]
    assert labels == ["NO_VALID_ACCOUNT_CONFIGURED", "GENERIC_ERROR"]


def test_malformed_outputs(http: requests.Session, sandbox: Sandbox, clock: ManualClock) -> None:
    uid = launch(http, sandbox)
    clock.advance(RUN_SECONDS)
    sandbox.settings.set_faults(malformed_outputs={POST_URL})
    items = http.get(f"{sandbox.base_url}/runs/{uid}/outputs").json()
    assert sum(not isinstance(item, dict) for item in items) == 1
    assert len(items) == 71


def test_latency_still_answers(http: requests.Session, sandbox: Sandbox) -> None:
    sandbox.settings.set_faults(latency_seconds=0.05)
    assert http.get(f"{sandbox.base_url}/runs").status_code == 200


def test_garbage_every_answers_html_with_200(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.settings.faults = Faults(garbage_every=2)
    answers = [http.get(f"{sandbox.base_url}/runs", timeout=10) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    kinds = [a.headers["Content-Type"].split(";")[0] for a in answers]
    assert kinds == ["application/json", "text/html", "application/json", "text/html"]
    assert answers[0].json() == []
    with pytest.raises(ValueError, match="Expecting value"):
        answers[1].json()


def test_gateway_429_every_has_no_edges_body(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.settings.set_faults(gateway_429_every=2, gateway_retry_after=4)
    answers = [http.get(f"{sandbox.base_url}/runs") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 429, 200, 429]
    limited = answers[1]
    assert limited.headers["Retry-After"] == "4"
    assert limited.headers["Content-Type"].startswith("text/html")
    assert "429 Too Many Requests" in limited.text
    with pytest.raises(ValueError, match="Expecting value"):
        limited.json()
    assert http.get(f"{sandbox.base_url}/identities").status_code == 200  # not a /v1/runs route


def test_gateway_5xx_every_answers_html(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.settings.set_faults(gateway_5xx_every=2)
    answers = [http.get(f"{sandbox.base_url}/runs") for _ in range(8)]
    assert [a.status_code for a in answers] == [200, 502, 200, 503, 200, 504, 200, 502]
    for failed in answers[1::2]:
        assert failed.headers["Content-Type"].startswith("text/html")
        assert f"<title>{failed.status_code}" in failed.text
        assert "Retry-After" not in failed.headers
        with pytest.raises(ValueError, match="Expecting value"):
            failed.json()
    assert [entry["status"] for entry in sandbox.requests.entries()] == [
        a.status_code for a in answers
    ]
