"""Contract tests of the credits endpoints: ``GET /v1/workspaces`` and its consumption."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests
from sandboxkit import manual_clock_sandboxes

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.cli import build_parser
from edges_sandbox.clock import ManualClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

RUN_SECONDS = 10.0
ENGAGED = ENGAGEMENT_IDENTITY_IDS[0]
POST = "https://www.linkedin.com/posts/jane-doe_data-activity-7212345678901234567-AbCd"
AUTHOR = "https://www.linkedin.com/in/jane-doe"
LIKERS = "linkedin-extract-post-likers"
COMMENTERS = "linkedin-extract-post-commenters"
ACTIVITY = "linkedin-extract-people-post-activity"
CONNECTIONS = "linkedin-extract-connections"
CONVERSATIONS = "linkedin-extract-conversations"
WORKSPACE_FIELDS = {
    "name", "uid", "credits_left", "credits_max", "credits_used", "plan_name",
    "current_month_start", "current_month_end",
}  # fmt: skip
CONSUMPTION_FIELDS = {
    "credits_left", "credits_used", "credits_max", "current_month_start", "current_month_end",
    "consumptions",
}  # fmt: skip
JUNE_START, JUNE_END = "2025-06-01T00:00:00.000000Z", "2025-06-30T23:59:59.999999Z"


class Api:
    def __init__(self, sandbox: Sandbox, clock: ManualClock, session: requests.Session) -> None:
        self.sandbox, self.clock, self.session = sandbox, clock, session
        self.base = sandbox.base_url

    def launch(self, action: str, input_: dict[str, Any], **body: Any) -> str:
        body = {"inputs": [input_], "identity_ids": [ENGAGED], **body}
        response = self.session.post(f"{self.base}/actions/{action}/run/async", json=body)
        assert response.status_code == 201, response.text
        uid: str = response.json()["run_uid"]
        return uid

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base}{path}")

    def workspace(self) -> dict[str, Any]:
        response = self.get("/workspaces")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def consumption(self) -> dict[str, Any]:
        response = self.get("/workspaces/consumption")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def used(self) -> dict[str, tuple[float, int]]:
        return {
            one["action_slug"]: (one["credits_used"], one["runs_count"])
            for one in self.consumption()["consumptions"]
        }


@pytest.fixture
def world(http: requests.Session) -> Iterator[Callable[..., Api]]:
    """Start sandboxes (keyword arguments go to ``Sandbox``) on manual clocks."""
    yield from manual_clock_sandboxes(lambda sb, clock: Api(sb, clock, http), RUN_SECONDS)


def test_a_new_workspace_has_used_nothing(world: Callable[..., Api]) -> None:
    api = world()
    found = api.workspace()
    assert set(found) == WORKSPACE_FIELDS
    assert found["uid"] == api.sandbox.backstage.identities()[0]["workspace_uid"]
    assert (found["credits_max"], found["credits_used"], found["credits_left"]) == (10000, 0, 10000)
    assert found["plan_name"] == "Bronze"
    assert (found["current_month_start"], found["current_month_end"]) == (JUNE_START, JUNE_END)
    consumption = api.consumption()
    assert set(consumption) == CONSUMPTION_FIELDS
    assert consumption["consumptions"] == []
    assert consumption["current_month_end"] == JUNE_END


def test_paid_results_use_credits_once_delivered(world: Callable[..., Api]) -> None:
    api = world()
    likers = api.launch(LIKERS, {"linkedin_post_url": POST}, parameters={"max_results": 5})
    api.launch(ACTIVITY, {"linkedin_profile_url": AUTHOR})
    api.launch(CONNECTIONS, {})
    api.launch(CONVERSATIONS, {})
    api.clock.advance(0.5 * RUN_SECONDS)
    assert api.consumption()["consumptions"] == []  # nothing delivered yet
    api.clock.advance(0.5 * RUN_SECONDS)
    assert api.used() == {
        ACTIVITY: (6, 1),
        CONNECTIONS: (0, 1),
        CONVERSATIONS: (0, 1),
        LIKERS: (5, 1),
    }
    assert [one["action_slug"] for one in api.consumption()["consumptions"]] == sorted(api.used())
    found = api.workspace()
    assert (found["credits_used"], found["credits_left"]) == (11, 9989)
    assert api.consumption()["credits_used"] == 11
    assert api.session.get(f"{api.base}/runs/{likers}").json()["output_count"] == 5


def test_managed_results_cost_one_and_a_half(world: Callable[..., Api]) -> None:
    api = world()
    body = {"identity_ids": [], "identity_mode": "managed", "parameters": {"max_results": 5}}
    api.launch(LIKERS, {"linkedin_post_url": POST}, **body)
    api.clock.advance(RUN_SECONDS)
    assert api.used() == {LIKERS: (7.5, 1)}
    assert api.workspace()["credits_left"] == 9992.5


def test_continues_add_their_results_and_failures_cost_nothing(world: Callable[..., Api]) -> None:
    api = world()
    uid = api.launch(
        COMMENTERS, {"linkedin_post_url": POST}, parameters={"sync_mode": "incremental"}
    )
    api.clock.advance(RUN_SECONDS)
    assert api.used() == {COMMENTERS: (40, 1)}
    api.sandbox.backstage.grow(3, action=COMMENTERS, input=POST)
    assert api.session.post(f"{api.base}/runs/{uid}/continue").status_code == 200
    api.clock.advance(RUN_SECONDS)
    assert api.used() == {COMMENTERS: (43, 1)}
    other = "https://www.linkedin.com/posts/john-roe_x-activity-7212345678901234999-Wxyz"
    api.sandbox.settings.faults = Faults(fail={other: "LK_ERROR"})
    api.launch(COMMENTERS, {"linkedin_post_url": other})
    api.clock.advance(RUN_SECONDS)
    assert api.used() == {COMMENTERS: (43, 2)}


def test_a_purged_run_s_credits_stay_used(world: Callable[..., Api]) -> None:
    api = world()
    uid = api.launch(LIKERS, {"linkedin_post_url": POST})
    api.clock.advance(RUN_SECONDS)
    before = api.consumption()
    api.sandbox.backstage.purge_run(uid)
    assert api.get(f"/runs/{uid}").status_code == 404
    assert api.consumption() == before


def test_a_new_month_starts_from_nothing(world: Callable[..., Api]) -> None:
    api = world()
    api.launch(LIKERS, {"linkedin_post_url": POST})
    api.clock.advance(RUN_SECONDS)
    assert api.workspace()["credits_used"] == 70
    api.clock.advance(20 * 86_400.0)  # July
    found = api.workspace()
    assert (found["credits_used"], found["credits_left"]) == (0, 10000)
    assert found["current_month_start"] == "2025-07-01T00:00:00.000000Z"
    assert found["current_month_end"] == "2025-07-31T23:59:59.999999Z"
    assert api.consumption()["consumptions"] == []


def test_the_counters_survive_a_restart(tmp_path: Path, http: requests.Session) -> None:
    state, clock = tmp_path / "sandbox.json", ManualClock()
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as first:
        api = Api(first, clock, http)
        kept = api.launch(LIKERS, {"linkedin_post_url": POST}, parameters={"max_results": 9})
        purged = api.launch(ACTIVITY, {"linkedin_profile_url": AUTHOR})
        clock.advance(RUN_SECONDS)
        first.backstage.purge_run(purged)
        before = api.consumption()
    assert before["credits_used"] == 15
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as second:
        api = Api(second, clock, http)
        assert api.consumption() == before
        assert api.get(f"/runs/{kept}").status_code == 200


def test_the_credits_paths_are_not_rate_limited(world: Callable[..., Api]) -> None:
    api = world()
    api.sandbox.settings.faults = Faults(runs_budget_per_minute=1, error_every=1)
    for _ in range(5):
        answer = api.get("/workspaces")
        assert answer.status_code == 200
        assert "X-RateLimit-Remaining" not in answer.headers
        assert api.get("/workspaces/consumption").status_code == 200
    assert api.get("/runs").status_code == 503


def test_credits_need_the_api_key(world: Callable[..., Api]) -> None:
    api = world()
    answer = requests.get(f"{api.base}/workspaces", timeout=5)
    assert (answer.status_code, answer.json()["error_label"]) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize("variants", [["no_credits"], ["no_credits", "credits_list"]])
def test_no_credits_answers_404(world: Callable[..., Api], variants: list[str]) -> None:
    api = world(variants=variants)
    for path in ("/workspaces", "/workspaces/consumption"):
        answer = api.get(path)
        assert answer.status_code == 404
        body = answer.json()
        assert (body["error_label"], body["status_code"]) == ("STATUS_404", 404)
        assert path in body["message"]


def test_credits_list_answers_a_list_of_workspaces(world: Callable[..., Api]) -> None:
    api = world(variants=["credits_list"])
    listed = api.get("/workspaces").json()
    assert isinstance(listed, list)
    assert len(listed) == 1
    assert set(listed[0]) == WORKSPACE_FIELDS
    assert listed[0]["credits_max"] == 10000
    assert api.get("/workspaces/consumption").status_code == 404
    api.sandbox.settings.variants = []
    assert api.workspace() == listed[0]


def test_credits_max_setting_and_cli_flag(world: Callable[..., Api]) -> None:
    api = world(credits_max=500)
    found = api.workspace()
    assert (found["credits_max"], found["credits_left"], found["plan_name"]) == (500, 500, "Trial")
    api.sandbox.settings.credits_max = 250_000
    assert api.workspace()["plan_name"] == "Gold"
    api.sandbox.settings.credits_max = 1
    api.launch(LIKERS, {"linkedin_post_url": POST})
    api.clock.advance(RUN_SECONDS)
    assert (api.workspace()["credits_left"], api.workspace()["credits_used"]) == (0, 70)
    with pytest.raises(ValueError, match="credits_max"):
        Sandbox(credits_max=-1)
    parser = build_parser()
    assert parser.parse_args(["serve"]).credits_max == 10000
    assert parser.parse_args(["serve", "--credits-max", "2500"]).credits_max == 2500
