"""The sandbox at benchmark scale: many identities, run listing by uid, pre-encoded pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from edges_sandbox import (
    ENGAGEMENT_IDENTITY_IDS,
    STANDARD_IDENTITY_ID,
    Sandbox,
    extra_identity_ids,
)
from edges_sandbox.clock import ManualClock
from edges_sandbox.runs import Run
from edges_sandbox.settings import OUTPUTS_MODES

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

# Many real syncs whose behaviour does not depend on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

RUN_SECONDS = 10.0
CONNECTIONS = "linkedin-extract-connections"
COMMENTERS = "linkedin-extract-post-commenters"
POST_URL = "https://www.linkedin.com/posts/jane-doe_data-activity-7212345678901234567-AbCd"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, extra_identities=3) as sb:
        yield sb


def launch(
    http: requests.Session,
    sb: Sandbox,
    identity: str,
    action: str = CONNECTIONS,
    **parameters: Any,
) -> requests.Response:
    parameters.setdefault("sync_mode", "incremental")
    inputs = [{"linkedin_post_url": POST_URL}] if action == COMMENTERS else [{}]
    body = {"inputs": inputs, "identity_ids": [identity], "parameters": parameters}
    return http.post(f"{sb.base_url}/actions/{action}/run/async", json=body)


def test_no_extra_identity_by_default(http: requests.Session) -> None:
    with Sandbox(run_seconds=RUN_SECONDS, clock=ManualClock()) as sb:
        uids = [one["uid"] for one in http.get(f"{sb.base_url}/identities").json()]
        assert uids == [*ENGAGEMENT_IDENTITY_IDS, STANDARD_IDENTITY_ID]
        refused = launch(http, sb, extra_identity_ids(1)[0])
        assert refused.status_code == 400
        assert refused.json()["error_label"] == "BAD_PARAMETERS"


def test_extra_identities_are_engagement_identities(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock
) -> None:
    extra = extra_identity_ids(3)
    assert len(set(extra)) == 3
    assert extra == extra_identity_ids(5)[:3]  # deterministic
    listed = http.get(f"{sandbox.base_url}/identities").json()
    assert [one["uid"] for one in listed] == [
        *ENGAGEMENT_IDENTITY_IDS,
        STANDARD_IDENTITY_ID,
        *extra,
    ]
    assert listed == sandbox.backstage.identities()
    for uid in extra:
        one = http.get(f"{sandbox.base_url}/identities/{uid}").json()
        assert (one["uid"], one["type"]) == (uid, "engagement")
        run_uid = launch(http, sandbox, uid).json()["run_uid"]
        clock.advance(RUN_SECONDS)
        continued = http.post(f"{sandbox.base_url}/runs/{run_uid}/continue")
        assert continued.status_code == 200, continued.text
    beyond = extra_identity_ids(4)[3]
    assert http.get(f"{sandbox.base_url}/identities/{beyond}").status_code == 404
    assert launch(http, sandbox, beyond).status_code == 400


def test_extra_identities_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="extra_identities"):
        Sandbox(extra_identities=-1)
    sandbox = Sandbox()
    sandbox.settings.extra_identities = 2
    assert [one["uid"] for one in sandbox.backstage.identities()][3:] == extra_identity_ids(2)


def test_listing_runs_by_uid_builds_only_those_runs(
    http: requests.Session, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    uids = [launch(http, sandbox, ENGAGEMENT_IDENTITY_IDS[0]).json()["run_uid"] for _ in range(30)]
    built: list[str] = []
    real = Run.api_object

    def counted(run: Run, now: float) -> dict[str, Any]:
        built.append(run.uid)
        return real(run, now)

    monkeypatch.setattr(Run, "api_object", counted)
    wanted = [uids[7], uids[3], "unknown-uid"]
    params: dict[str, Any] = {"uid": wanted, "limit": 100}
    found = http.get(f"{sandbox.base_url}/runs", params=params).json()
    assert [run["uid"] for run in found] == [uids[3], uids[7]]
    assert sorted(built) == sorted([uids[3], uids[7]])
    built.clear()
    params = {"sort": "-created_at", "limit": 5}
    page = http.get(f"{sandbox.base_url}/runs", params=params).json()
    assert len(page) == 5
    assert len(built) == 5


def expected_runs(
    every: list[dict[str, Any]], filters: dict[str, list[str]], sort: list[str]
) -> list[str]:
    """What ``GET /v1/runs`` must answer, computed from every run object."""
    objects = [obj for obj in every if all(obj[k] in v for k, v in filters.items())]
    for spec in reversed(sort):
        name = spec.removeprefix("-")
        objects.sort(key=lambda obj: (obj[name] is None, obj[name] or 0), reverse=spec[0] == "-")
    return [obj["uid"] for obj in objects]


@pytest.mark.parametrize(
    ("filters", "sort"),
    [
        ({}, ["created_at"]),
        ({}, ["-created_at"]),
        ({"action_name": [COMMENTERS]}, ["-created_at"]),
        ({"status": ["SUCCEEDED"]}, ["-id"]),
        ({}, ["status", "-output_count"]),
        ({"action_name": [CONNECTIONS]}, ["-finished_at", "uid"]),
    ],
)
def test_listing_runs_filters_sorts_and_pages_like_every_object(
    http: requests.Session,
    sandbox: Sandbox,
    clock: ManualClock,
    filters: dict[str, list[str]],
    sort: list[str],
) -> None:
    for index in range(12):
        action = COMMENTERS if index % 3 else CONNECTIONS
        launch(http, sandbox, extra_identity_ids(3)[index % 3], action, max_results=10 + index)
        clock.advance(RUN_SECONDS * (0.4 if index % 2 else 1.5))
    every = sandbox.engine.list_runs({}, ["id"])
    expected = expected_runs(every, filters, sort)
    for offset, limit in ((0, 100), (2, 4), (10, 5)):
        params: dict[str, Any] = {**filters, "sort": sort, "offset": offset, "limit": limit}
        found = http.get(f"{sandbox.base_url}/runs", params=params).json()
        assert [run["uid"] for run in found] == expected[offset : offset + limit]


def all_pages(http: requests.Session, url: str) -> list[requests.Response]:
    pages = []
    next_url: str | None = url
    while next_url:
        response = http.get(next_url)
        assert response.status_code == 200, response.text
        pages.append(response)
        next_url = response.headers.get("X-Pagination-Next")
    return pages


@pytest.mark.parametrize("mode", OUTPUTS_MODES)
def test_preencoded_pages_are_the_same_bytes(
    http: requests.Session, sandbox: Sandbox, clock: ManualClock, mode: str
) -> None:
    sandbox.settings.max_results_limit = 100_000
    sandbox.backstage.grow(1200, action=COMMENTERS, input=POST_URL, distinct=300)
    uid = launch(http, sandbox, ENGAGEMENT_IDENTITY_IDS[0], COMMENTERS, max_results=5000)
    run_uid = uid.json()["run_uid"]
    clock.advance(RUN_SECONDS)
    for _ in range(2):
        sandbox.backstage.grow(7, action=COMMENTERS, input=POST_URL)
        http.post(f"{sandbox.base_url}/runs/{run_uid}/continue")
        clock.advance(RUN_SECONDS)
    sandbox.settings.outputs_mode = mode
    outputs = f"{sandbox.base_url}/runs/{run_uid}/outputs"
    urls = [f"{outputs}?limit=500", f"{outputs}?limit=7", f"{outputs}?offset=1235&limit=20"]
    urls.append(f"{outputs}?offset=5000")
    served: dict[bool, list[list[bytes]]] = {}
    for preencoded in (False, True):
        sandbox.settings.preencode_outputs = preencoded
        served[preencoded] = [[page.content for page in all_pages(http, url)] for url in urls]
        page = http.get(urls[0])
        assert page.headers["Content-Type"] == "application/json"
    assert served[True] == served[False]
    items = [item for page in all_pages(http, urls[0]) for item in page.json()]
    assert len(items) == (7 if mode == "latest" else 40 + 1200 + 7 + 7)
    sandbox.settings.set_faults(
        malformed_outputs=[POST_URL]
    )  # still injected with pre-encoded pages
    assert "<<malformed" in http.get(urls[1]).text


def test_preencoded_pages_serve_what_a_continue_adds(
    http: requests.Session, clock: ManualClock
) -> None:
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, preencode_outputs=True) as sandbox:
        run_uid = launch(http, sandbox, ENGAGEMENT_IDENTITY_IDS[0], COMMENTERS).json()["run_uid"]
        clock.advance(RUN_SECONDS)
        before = http.get(f"{sandbox.base_url}/runs/{run_uid}/outputs?limit=500").json()
        sandbox.backstage.grow(3, action=COMMENTERS, input=POST_URL)
        http.post(f"{sandbox.base_url}/runs/{run_uid}/continue")
        clock.advance(RUN_SECONDS)
        after = http.get(f"{sandbox.base_url}/runs/{run_uid}/outputs?limit=500").json()
        truth = sandbox.backstage.ground_truth(run_uid)
        assert after == before + truth[1]["delivered"]
        assert len(truth[1]["delivered"]) == 3
