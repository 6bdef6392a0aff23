"""Contract tests of the sandbox's API variants, over real HTTP.

Each variant is another reading of something the Edges docs leave open; each test shows one
variant's behaviour, and the last ones show that variants combine (with each other and with the
three outputs modes) and that without variants nothing changes.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from sandboxkit import manual_clock_sandboxes

from edges_sandbox import DEFAULT_API_KEY, ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.cli import build_parser
from edges_sandbox.settings import OUTPUTS_MODES
from edges_sandbox.variants import (
    EXTRACTED_AT_VARIANTS,
    MAX_RESULTS_MAXIMUM,
    NOT_INCREMENTAL_ACTIONS,
    OFFSET_REFUSED,
    QUEUE_SLOTS,
    VARIANTS,
)
from tap_edges.actions import ACTIONS as TAP_ACTIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from edges_sandbox.clock import ManualClock

# Many real syncs whose behaviour does not depend on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

RUN_SECONDS = 10.0
CONNECTIONS = "linkedin-extract-connections"
VIEWERS = "linkedin-extract-profile-viewers"
MESSAGES = "linkedin-extract-messages"
LIKERS = "linkedin-extract-post-likers"
POST_URL = "https://www.linkedin.com/posts/someone_activity-7212345678901234567-xyz"
THREAD_URL = "https://www.linkedin.com/messaging/thread/2-YWJjZGVmZ2hpams==/"
ENGAGED, OTHER = ENGAGEMENT_IDENTITY_IDS
CONNECTIONS_AT_START = 60  # the initial size of a connections feed
# Every variant but the extracted_at ones, of which at most one applies at a time.
EVERY_COMPATIBLE = sorted(set(VARIANTS) - set(EXTRACTED_AT_VARIANTS))


class Api:
    """A small client of one sandbox, with its manual clock."""

    def __init__(self, sandbox: Sandbox, clock: ManualClock, session: requests.Session) -> None:
        self.sandbox, self.clock, self.session = sandbox, clock, session
        self.base = sandbox.base_url

    def post_launch(self, action: str = CONNECTIONS, **body: Any) -> requests.Response:
        body.setdefault("inputs", [{}])
        body.setdefault("identity_ids", [ENGAGED])
        body.setdefault("parameters", {"sync_mode": "incremental"})
        return self.session.post(f"{self.base}/actions/{action}/run/async", json=body)

    def launch(self, action: str = CONNECTIONS, **body: Any) -> str:
        response = self.post_launch(action, **body)
        assert response.status_code == 201, response.text
        uid: str = response.json()["run_uid"]
        return uid

    def run(self, uid: str) -> dict[str, Any]:
        response = self.session.get(f"{self.base}/runs/{uid}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def status(self, uid: str) -> str:
        status: str = self.session.get(f"{self.base}/runs/{uid}/status").json()["status"]
        return status

    def continue_(self, uid: str) -> requests.Response:
        return self.session.post(f"{self.base}/runs/{uid}/continue")

    def cancel(self, uid: str) -> None:
        assert self.session.post(f"{self.base}/runs/{uid}/cancel").status_code == 200

    def outputs(self, uid: str, limit: int = 500) -> list[dict[str, Any]]:
        """Every item, following X-Pagination-Next."""
        items: list[dict[str, Any]] = []
        url: str | None = f"{self.base}/runs/{uid}/outputs?limit={limit}"
        while url:
            response = self.session.get(url)
            assert response.status_code == 200, response.text
            items.extend(response.json())
            url = response.headers.get("X-Pagination-Next")
        return items

    def inputs(self, uid: str, **query: Any) -> requests.Response:
        return self.session.get(f"{self.base}/runs/{uid}/inputs", params=query)


@pytest.fixture
def world(http: requests.Session) -> Iterator[Callable[..., Api]]:
    """Start sandboxes (keyword arguments go to ``Sandbox``) on manual clocks."""
    yield from manual_clock_sandboxes(lambda sb, clock: Api(sb, clock, http), RUN_SECONDS)


def error_of(response: requests.Response, status: int, label: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_label"] == label
    message: str = body["message"]
    return message


# --- the setting: constructor, control route, CLI ------------------------------------------


def test_variants_are_checked_and_none_by_default() -> None:
    assert Sandbox().settings.variants == frozenset()
    assert Sandbox(variants=["no_name", "no_name"]).settings.variants == {"no_name"}
    with pytest.raises(ValueError, match="unknown variants: nope"):
        Sandbox(variants=["no_name", "nope"])
    with pytest.raises(ValueError, match="at most one extracted_at variant"):
        Sandbox(variants=["no_extracted_at", "epoch_ms_extracted_at"])
    with pytest.raises(TypeError, match="collection of names"):
        Sandbox(variants="no_name")
    sandbox = Sandbox()
    sandbox.settings.variants = ["posts_not_incremental", "clamp_max_results"]
    assert sandbox.settings.variants == {"posts_not_incremental", "clamp_max_results"}


def test_control_route_reads_and_replaces_the_variants(world: Callable[..., Api]) -> None:
    api = world(variants=["posts_not_incremental"])
    control = api.base.removesuffix("/v1") + "/_sandbox/variants"
    assert requests.get(control, timeout=5).json() == {"variants": ["posts_not_incremental"]}
    answer = requests.post(control, json={"variants": ["no_name", "clamp_max_results"]}, timeout=5)
    assert answer.json() == {"variants": ["clamp_max_results", "no_name"]}
    assert api.sandbox.settings.variants == {"no_name", "clamp_max_results"}
    unknown = requests.post(control, json={"variants": ["no_name", "nope"]}, timeout=5)
    assert "nope" in error_of(unknown, 400, "BAD_INPUT")
    two_formats = {"variants": ["naive_extracted_at", "epoch_s_extracted_at"]}
    error_of(requests.post(control, json=two_formats, timeout=5), 400, "BAD_INPUT")
    error_of(requests.post(control, json={"variants": "no_name"}, timeout=5), 400, "BAD_INPUT")
    error_of(requests.post(control, json={"names": []}, timeout=5), 400, "BAD_INPUT")
    assert api.sandbox.settings.variants == {"no_name", "clamp_max_results"}
    assert requests.post(control, json={"variants": []}, timeout=5).json() == {"variants": []}
    assert api.sandbox.settings.variants == frozenset()


def test_cli_takes_repeatable_variants() -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--variant", "clamp_max_results", "--variant", "no_name"])
    assert args.variants == ["clamp_max_results", "no_name"]
    assert parser.parse_args(["serve"]).variants == []
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--variant", "nope"])
    script = Path(sys.executable).parent / "tap-edges-sandbox"
    command = [str(script), "serve", "--port", "0", "--variant", "no_name"]
    command += ["--variant", "clamp_max_results"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base = process.stdout.readline().strip().rsplit(" ", 1)[-1]
            control = base.removesuffix("/v1") + "/_sandbox/variants"
            names = requests.get(control, timeout=5).json()["variants"]
            assert names == ["clamp_max_results", "no_name"]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0


def test_every_variant_is_documented() -> None:
    import edges_sandbox  # noqa: PLC0415

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in VARIANTS:
        assert f"``{name}``" in (edges_sandbox.__doc__ or ""), name
        assert f"`{name}`" in readme, name


# --- one test per variant ------------------------------------------------------------------


def test_no_name_refuses_a_body_with_name(world: Callable[..., Api]) -> None:
    api = world(variants=["no_name"])
    for name in ("nightly", None):
        refused = api.post_launch(name=name)
        assert error_of(refused, 400, "BAD_PARAMETERS") == (
            "body must NOT have additional properties (name)"
        )
    assert api.sandbox.backstage.runs() == []
    created = api.post_launch()
    assert created.status_code == 201
    assert created.json()["name"] is None
    assert api.run(created.json()["run_uid"])["name"] is None


def test_clamp_max_results_echoes_and_caps(world: Callable[..., Api]) -> None:
    api = world(variants=["clamp_max_results"])
    api.sandbox.backstage.grow(40, action=CONNECTIONS, identity_id=ENGAGED)  # 100 connections
    uid = api.launch(parameters={"sync_mode": "incremental", "max_results": 500})
    assert api.run(uid)["parameters"] == {"sync_mode": "incremental", "max_results": 80}
    assert MAX_RESULTS_MAXIMUM == 80
    small = api.launch(VIEWERS, parameters={"max_results": 7})
    assert api.run(small)["parameters"]["max_results"] == 7
    default = api.launch(VIEWERS, identity_ids=[OTHER], parameters={})
    assert api.run(default)["parameters"]["max_results"] == MAX_RESULTS_MAXIMUM  # 100 asked
    api.clock.advance(RUN_SECONDS)
    assert len(api.outputs(uid)) == MAX_RESULTS_MAXIMUM
    truth = api.sandbox.backstage.ground_truth(uid)[0]
    assert (len(truth["delivered"]), len(truth["dropped"])) == (80, 20)
    assert len(api.outputs(small)) == 7
    # Each continued iteration is capped too.
    api.sandbox.backstage.grow(90, action=CONNECTIONS, identity_id=ENGAGED)
    assert api.continue_(uid).json()["parameters"]["max_results"] == MAX_RESULTS_MAXIMUM
    api.clock.advance(RUN_SECONDS)
    assert len(api.sandbox.backstage.ground_truth(uid)[1]["delivered"]) == MAX_RESULTS_MAXIMUM
    too_many = api.post_launch(parameters={"max_results": 1001})
    error_of(too_many, 400, "BAD_PARAMETERS")  # beyond the sandbox's limit: still refused


def test_no_max_results_echo_shows_sync_mode_only(world: Callable[..., Api]) -> None:
    api = world(variants=["no_max_results_echo"])
    uid = api.launch(parameters={"sync_mode": "incremental", "max_results": 30})
    full = api.launch(VIEWERS, parameters={"max_results": 5})
    assert api.run(uid)["parameters"] == {"sync_mode": "incremental"}
    assert api.run(full)["parameters"] == {"sync_mode": "full"}
    listed = api.session.get(f"{api.base}/runs", params={"uid": uid}).json()
    assert listed[0]["parameters"] == {"sync_mode": "incremental"}
    api.clock.advance(RUN_SECONDS)
    assert len(api.outputs(uid)) == 30  # the cap still applies, it is just not shown
    assert api.continue_(uid).json()["parameters"] == {"sync_mode": "incremental"}


def _as_iso(value: Any, variant: str | None) -> str:
    """An ``extracted_at`` of a variant, back to the default ISO-8601 form."""
    if variant == "epoch_ms_extracted_at":
        assert isinstance(value, int)
        seconds, millis = divmod(value, 1000)
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        return moment.replace(microsecond=millis * 1000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if variant == "epoch_s_extracted_at":
        assert isinstance(value, float)
        seconds, micros = divmod(round(value * 1_000_000), 1_000_000)
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        return moment.replace(microsecond=micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if variant == "naive_extracted_at":
        assert isinstance(value, str)
        assert "T" not in value
        assert not value.endswith("Z")
        moment = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f")  # noqa: DTZ007 - naive
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert isinstance(value, str)
    assert value.endswith("Z")
    return value


@pytest.mark.parametrize("preencode", [False, True], ids=["encoded", "preencoded"])
@pytest.mark.parametrize("variant", [None, *EXTRACTED_AT_VARIANTS])
def test_extracted_at_variants(
    world: Callable[..., Api], variant: str | None, *, preencode: bool
) -> None:
    api = world(variants=[variant] if variant else [], preencode_outputs=preencode)
    uid = api.launch(VIEWERS)
    api.clock.advance(RUN_SECONDS + 0.123456)
    api.sandbox.backstage.grow(3, action=VIEWERS, identity_id=ENGAGED)
    api.continue_(uid)
    api.clock.advance(RUN_SECONDS)
    items = api.outputs(uid, limit=7)
    truth = api.sandbox.backstage.ground_truth(uid)
    assert items == truth[0]["delivered"] + truth[1]["delivered"]  # the oracle agrees
    assert len(items) == 25 + 3
    for item, iteration in zip(items, [truth[0]] * 25 + [truth[1]] * 3, strict=True):
        if variant == "no_extracted_at":
            assert "extracted_at" not in item
        else:
            expected = iteration["extracted_at"]
            if variant == "epoch_ms_extracted_at":
                expected = expected[:-4] + "000Z"  # whole milliseconds
            assert _as_iso(item["extracted_at"], variant) == expected


@pytest.mark.parametrize("variant", [None, *EXTRACTED_AT_VARIANTS])
def test_extracted_at_pages_are_the_same_bytes_preencoded_or_not(
    world: Callable[..., Api], variant: str | None
) -> None:
    pages = []
    for preencode in (False, True):
        api = world(variants=[variant] if variant else [], preencode_outputs=preencode)
        uid = api.launch(LIKERS, inputs=[{"linkedin_post_url": POST_URL}])
        api.clock.advance(RUN_SECONDS)
        pages.append(api.session.get(f"{api.base}/runs/{uid}/outputs?limit=30").content)
    assert pages[0] == pages[1]
    assert len(json.loads(pages[0])) == 30


def test_refuse_offset_keeps_cursor_paging(world: Callable[..., Api]) -> None:
    api = world(variants=["refuse_offset"])
    uid = api.launch()
    api.clock.advance(RUN_SECONDS)
    for query in ("offset=0", "offset=10&limit=5", "limit=5&offset="):
        refused = api.session.get(f"{api.base}/runs/{uid}/outputs?{query}")
        assert error_of(refused, 400, "BAD_PARAMETERS") == OFFSET_REFUSED
        assert "X-Pagination-Next" in OFFSET_REFUSED
    paged = api.outputs(uid, limit=7)
    assert len(paged) == CONNECTIONS_AT_START
    assert paged == api.sandbox.backstage.ground_truth(uid)[0]["delivered"]


def test_queue_keeps_a_third_run_queued_until_a_slot_frees(world: Callable[..., Api]) -> None:
    api = world(variants=["queue"])
    assert QUEUE_SLOTS == 2
    first, second = api.launch(), api.launch(VIEWERS)
    third = api.launch(identity_ids=[OTHER])
    api.clock.advance(0.2 * RUN_SECONDS)
    assert [api.status(uid) for uid in (first, second, third)] == ["RUNNING", "RUNNING", "QUEUED"]
    api.clock.advance(0.8 * RUN_SECONDS - 0.01)
    assert api.status(third) == "QUEUED"
    assert api.run(third)["started_at"] is None
    api.clock.advance(0.01)  # the first two finish: the third runs for its usual 0.8 * S
    assert [api.status(uid) for uid in (first, second, third)] == [
        "SUCCEEDED",
        "SUCCEEDED",
        "RUNNING",
    ]
    started = api.run(third)["started_at"]
    assert started == api.run(first)["finished_at"]
    # A continue now (the third holds one slot) gets the other one at its usual time.
    assert api.continue_(first).status_code == 200
    fourth = api.launch(VIEWERS, identity_ids=[OTHER])
    api.clock.advance(0.2 * RUN_SECONDS)
    assert [api.status(uid) for uid in (first, third, fourth)] == ["RUNNING", "RUNNING", "QUEUED"]
    api.clock.advance(0.6 * RUN_SECONDS)
    assert api.status(third) == "SUCCEEDED"
    assert api.status(fourth) == "RUNNING"
    assert len(api.outputs(third)) == CONNECTIONS_AT_START
    api.clock.advance(RUN_SECONDS)
    assert {api.status(uid) for uid in (first, third, fourth)} == {"SUCCEEDED"}


def test_queue_keeps_a_continued_run_queued_too(world: Callable[..., Api]) -> None:
    api = world(variants=["queue"])
    first = api.launch()
    api.clock.advance(RUN_SECONDS)
    busy = [api.launch(VIEWERS), api.launch(identity_ids=[OTHER])]
    assert api.continue_(first).status_code == 200
    api.clock.advance(0.1 * RUN_SECONDS - 0.01)
    assert api.status(first) == "SCHEDULED"  # as any continued run at first
    api.clock.advance(0.01)
    assert api.status(first) == "QUEUED"
    api.clock.advance(0.1 * RUN_SECONDS)
    assert [api.status(uid) for uid in busy] == ["RUNNING", "RUNNING"]
    api.clock.advance(0.8 * RUN_SECONDS - 0.01)
    assert api.status(first) == "QUEUED"
    api.clock.advance(0.01)
    assert [api.status(uid) for uid in (*busy, first)] == ["SUCCEEDED", "SUCCEEDED", "RUNNING"]
    api.clock.advance(0.8 * RUN_SECONDS)
    assert api.status(first) == "SUCCEEDED"
    assert api.run(first)["started_at"] == api.run(busy[0])["finished_at"]


def test_queue_a_cancel_frees_a_slot_at_once(world: Callable[..., Api]) -> None:
    api = world(variants=["queue"])
    first, second, third = api.launch(), api.launch(VIEWERS), api.launch(identity_ids=[OTHER])
    api.clock.advance(0.5 * RUN_SECONDS)
    assert api.status(third) == "QUEUED"
    api.cancel(first)
    assert (api.status(first), api.status(third)) == ("STOPPED", "RUNNING")
    api.clock.advance(0.8 * RUN_SECONDS)
    assert (api.status(second), api.status(third)) == ("SUCCEEDED", "SUCCEEDED")


def test_queue_hung_runs_block_the_workspace_until_cancelled(
    world: Callable[..., Api], tmp_path: Path
) -> None:
    state = tmp_path / "sandbox.json"
    api = world(variants=["queue"], state_file=state)
    api.sandbox.settings.faults = Faults(hang={ENGAGED})
    hung = [api.launch(), api.launch(VIEWERS)]
    waiting = api.launch(identity_ids=[OTHER])
    api.clock.advance(1000)
    assert api.status(waiting) == "QUEUED"
    assert api.sandbox.backstage.ground_truth(waiting)[0]["status"] == "QUEUED"
    api.sandbox.stop()
    with Sandbox(clock=api.clock, state_file=state, variants=["queue"]) as again:
        status = requests.get(
            f"{again.base_url}/runs/{waiting}/status",
            headers={"X-API-Key": DEFAULT_API_KEY},
            timeout=5,
        ).json()
        assert status["status"] == "QUEUED"
        assert status["started_at"] is None
        again.engine.cancel(hung[0])
        assert again.engine.run_object(waiting, light=True)["status"] == "RUNNING"
        api.clock.advance(0.8 * RUN_SECONDS)
        assert again.engine.run_object(waiting, light=True)["status"] == "SUCCEEDED"
        assert again.engine.run_object(hung[1], light=True)["status"] == "RUNNING"


def test_no_data_failed_ends_an_empty_iteration_failed(world: Callable[..., Api]) -> None:
    api = world(variants=["no_data_failed"])
    uid = api.launch()
    api.clock.advance(RUN_SECONDS)
    assert api.status(uid) == "SUCCEEDED"
    assert api.continue_(uid).status_code == 200
    api.clock.advance(RUN_SECONDS)
    run = api.run(uid)
    assert run["status"] == "FAILED"
    assert run["last_error"]["label"] == "NO_DATA_AVAILABLE"
    assert run["last_error"]["message"]
    assert run["output_count"] == CONNECTIONS_AT_START
    api.sandbox.backstage.grow(4, action=CONNECTIONS, identity_id=ENGAGED)
    assert api.continue_(uid).status_code == 200  # a FAILED run can be continued
    api.clock.advance(RUN_SECONDS)
    assert api.status(uid) == "SUCCEEDED"
    assert api.run(uid)["last_error"] is None
    assert len(api.outputs(uid)) == CONNECTIONS_AT_START + 4


def test_posts_not_incremental_refuses_incremental_post_launches(
    world: Callable[..., Api],
) -> None:
    api = world()
    before = api.launch(LIKERS, inputs=[{"linkedin_post_url": POST_URL}])
    api.clock.advance(RUN_SECONDS)
    api.sandbox.settings.variants = ["posts_not_incremental"]
    assert sorted(NOT_INCREMENTAL_ACTIONS) == [
        "linkedin-extract-post-commenters",
        "linkedin-extract-post-likers",
        "linkedin-extract-post-reposters",
    ]
    for action in NOT_INCREMENTAL_ACTIONS:
        refused = api.post_launch(action, inputs=[{"linkedin_post_url": POST_URL}])
        message = error_of(refused, 400, "BAD_PARAMETERS")
        assert "incremental sync is not supported" in message
        assert action in message
        full = {"sync_mode": "full"}
        accepted = api.post_launch(
            action, inputs=[{"linkedin_post_url": POST_URL}], parameters=full
        )
        assert accepted.status_code == 201
    assert "not supported" in error_of(api.continue_(before), 400, "BAD_PARAMETERS")
    api.launch()  # connections, messages, profile viewers and page followers still are
    api.launch(MESSAGES, inputs=[{"linkedin_thread_url": THREAD_URL}])


# --- in every world: run inputs, and finding runs again ------------------------------------


def test_run_inputs_in_a_world_of_variants(world: Callable[..., Api]) -> None:
    api = world(variants=EVERY_COMPATIBLE)
    custom = {"partition": "messages/abc"}
    uid = api.launch(MESSAGES, inputs=[{"linkedin_thread_url": THREAD_URL, "custom_data": custom}])
    item = api.inputs(uid, limit=100, offset=0).json()[0]
    assert (item["status"], item["custom_data"]) == ("CREATED", custom)
    assert item["input_data"] == {"linkedin_thread_url": THREAD_URL}
    api.clock.advance(RUN_SECONDS)
    assert api.inputs(uid).json()[0]["output_count"] == 30
    api.continue_(uid)
    api.clock.advance(RUN_SECONDS)
    failed = api.inputs(uid).json()[0]  # no_data_failed: nothing new
    assert (failed["status"], failed["last_error"]["label"]) == ("FAILED", "NO_DATA_AVAILABLE")


@pytest.mark.parametrize("variants", [[], EVERY_COMPATIBLE])
def test_runs_of_an_action_newest_first(world: Callable[..., Api], variants: list[str]) -> None:
    api = world(variants=variants)
    uids = []
    for _ in range(3):
        uids.append(api.launch())
        api.launch(VIEWERS)
        api.clock.advance(1)
    listed = api.session.get(
        f"{api.base}/runs",
        params={"action_name": CONNECTIONS, "sort": "-created_at", "limit": "20"},
    )
    assert listed.status_code == 200
    assert [run["uid"] for run in listed.json()] == uids[::-1]


# --- type_drift ----------------------------------------------------------------------------

COMPANY_URL = "https://www.linkedin.com/company/edges-run/"
DRIFT_LAUNCHES = {
    "connections": (CONNECTIONS, {}),
    "messages": (MESSAGES, {"linkedin_thread_url": THREAD_URL}),
    "profile_viewers": (VIEWERS, {}),
    "post_commenters": ("linkedin-extract-post-commenters", {"linkedin_post_url": POST_URL}),
    "post_likers": (LIKERS, {"linkedin_post_url": POST_URL}),
    "post_reposters": ("linkedin-extract-post-reposters", {"linkedin_post_url": POST_URL}),
    "page_followers": ("linkedin-extract-page-followers", {"linkedin_company_url": COMPANY_URL}),
}
# The fields each stream's primary key is built from (tap_edges/actions.py).
KEY_FIELDS = {
    spec.stream: [
        *spec.natural_keys,
        *(field for part in (spec.derived_key.parts if spec.derived_key else ()) for field in part),
    ]
    for spec in TAP_ACTIONS
}
# The flip field of each stream: an integer on even pages of 10 items, a string on odd ones.
FLIP_FIELDS = {
    "connections": "linkedin_profile_id",
    "messages": "position",
    "profile_viewers": "view_timestamp",
    "post_commenters": "comment_like_count",
    "post_likers": "linkedin_profile_id",
    "post_reposters": "linkedin_repost_id",
    "page_followers": "linkedin_profile_id",
}


def served_items(api: Api, limit: int = 500) -> dict[str, list[dict[str, Any]]]:
    """Launch one run per stream, let them finish and read every stream's items."""
    uids = {
        stream: api.launch(action, inputs=[input_], parameters={"max_results": 1000})
        for stream, (action, input_) in DRIFT_LAUNCHES.items()
    }
    api.clock.advance(RUN_SECONDS)
    items = {stream: api.outputs(uid, limit=limit) for stream, uid in uids.items()}
    for stream, uid in uids.items():
        assert items[stream] == api.sandbox.backstage.ground_truth(uid)[0]["delivered"], stream
    return items


def test_type_drift_makes_each_kind_of_drift_appear_in_every_stream(
    world: Callable[..., Api],
) -> None:
    plain = served_items(world())
    drifting = served_items(world(variants=["type_drift"]))
    for stream, items in drifting.items():
        bases = plain[stream]
        assert len(items) == len(bases) > 10, stream
        pairs = list(zip(bases, items, strict=True))
        ints_as_strings = {
            name
            for base, item in pairs
            for name, value in base.items()
            if isinstance(value, int) and item.get(name) == str(value)
        }
        assert ints_as_strings, stream
        nulled = {
            name
            for base, item in pairs
            for name in base
            if base[name] is not None and name in item and item[name] is None
        }
        missing = {name for base, item in pairs for name in base if name not in item}
        assert nulled, stream
        assert missing, stream
        metas = [item["edges_meta"] for item in items if "edges_meta" in item]
        assert metas, stream
        assert all(isinstance(meta["depth"], dict) for meta in metas), stream
        tags = [item["edges_tags"] for item in items if "edges_tags" in item]
        assert tags, stream
        assert all(all(isinstance(tag, dict) for tag in one) for one in tags), stream
        reshaped = [
            name
            for base, item in pairs
            for name, value in base.items()
            if isinstance(value, str) and item.get(name) == {"text": value}
        ]
        assert reshaped, stream  # a string no client can reconcile with its declared type
        flip = FLIP_FIELDS[stream]
        first, second = items[:10], items[10:20]
        assert all(isinstance(item[flip], int) for item in first), stream
        assert all(isinstance(item[flip], str) and item[flip].isdigit() for item in second)
        for base, item in pairs:
            for name in KEY_FIELDS[stream]:  # the value stays, whatever its type
                assert str(item.get(name)) == str(base.get(name)), (stream, name)
            assert item["extracted_at"] == base["extracted_at"]
    for stream in ("post_commenters", "post_likers"):  # strings of digits become numbers
        pairs = list(zip(plain[stream], drifting[stream], strict=True))
        as_numbers = {
            name
            for base, item in pairs
            for name, value in base.items()
            if isinstance(value, str) and value.isdigit() and item.get(name) == int(value)
        }
        assert "linkedin_post_id" in as_numbers, stream
    commenters = zip(plain["post_commenters"], drifting["post_commenters"], strict=True)
    assert {type(item["linkedin_comment_id"]) for _, item in commenters} == {str, int}


def test_type_drift_is_deterministic_and_the_same_on_any_page_size(
    world: Callable[..., Api],
) -> None:
    first = served_items(world(variants=["type_drift"]))
    again = served_items(world(variants=["type_drift"]), limit=7)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_type_drift_is_served_the_same_preencoded_or_not(world: Callable[..., Api]) -> None:
    plain = served_items(world(variants=["type_drift"]))
    preencoded = served_items(world(variants=["type_drift"], preencode_outputs=True))
    assert plain == preencoded


# --- variants combine ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", OUTPUTS_MODES)
@pytest.mark.parametrize("extracted_at", [None, *EXTRACTED_AT_VARIANTS])
def test_all_variants_at_once_in_each_outputs_mode(
    world: Callable[..., Api], mode: str, extracted_at: str | None
) -> None:
    chosen = EVERY_COMPATIBLE + ([extracted_at] if extracted_at else [])
    api = world(variants=chosen, outputs_mode=mode)
    error_of(api.post_launch(name="x"), 400, "BAD_PARAMETERS")
    refused = api.post_launch(LIKERS, inputs=[{"linkedin_post_url": POST_URL}])
    error_of(refused, 400, "BAD_PARAMETERS")
    uid = api.launch(parameters={"sync_mode": "incremental", "max_results": 500})
    run = api.run(uid)
    assert (run["name"], run["parameters"]) == (None, {"sync_mode": "incremental"})
    api.clock.advance(RUN_SECONDS)
    assert api.continue_(uid).status_code == 200  # nothing new: NO_DATA_AVAILABLE
    api.clock.advance(RUN_SECONDS)
    assert api.run(uid)["last_error"]["label"] == "NO_DATA_AVAILABLE"
    api.sandbox.backstage.grow(90, action=CONNECTIONS, identity_id=ENGAGED)
    assert api.continue_(uid).status_code == 200
    api.clock.advance(RUN_SECONDS)
    truth = api.sandbox.backstage.ground_truth(uid)
    assert [len(it["delivered"]) for it in truth] == [60, 0, MAX_RESULTS_MAXIMUM]
    assert len(truth[2]["dropped"]) == 10
    expected = {
        "cumulative": truth[0]["delivered"] + truth[2]["delivered"],
        "cumulative-newest": truth[2]["delivered"] + truth[0]["delivered"],
        "latest": truth[2]["delivered"],
    }[mode]
    assert api.outputs(uid, limit=50) == expected
    assert all(("extracted_at" in item) == (extracted_at != "no_extracted_at") for item in expected)
    refused_offset = api.session.get(f"{api.base}/runs/{uid}/outputs?offset=0")
    error_of(refused_offset, 400, "BAD_PARAMETERS")


def test_without_variants_nothing_changes(world: Callable[..., Api]) -> None:
    api = world()
    created = api.post_launch(name="nightly", parameters={"sync_mode": "incremental"})
    assert created.status_code == 201
    uid = created.json()["run_uid"]
    assert api.run(uid)["name"] == "nightly"
    likers = api.launch(
        LIKERS,
        inputs=[{"linkedin_post_url": POST_URL}],
        parameters={"sync_mode": "incremental", "max_results": 500},
    )
    assert api.run(likers)["parameters"] == {"sync_mode": "incremental", "max_results": 500}
    third = api.launch(VIEWERS)
    api.clock.advance(0.2 * RUN_SECONDS)
    assert {api.status(one) for one in (uid, likers, third)} == {"RUNNING"}
    api.clock.advance(0.8 * RUN_SECONDS)
    assert len(api.outputs(likers)) == 70  # every liker: no clamp
    offset = api.session.get(f"{api.base}/runs/{uid}/outputs?offset=10&limit=5")
    assert offset.status_code == 200
    assert len(offset.json()) == 5
    assert "X-Pagination-Next" not in offset.headers
    assert offset.json()[0]["extracted_at"].endswith("Z")
    assert api.continue_(uid).status_code == 200
    api.clock.advance(RUN_SECONDS)
    run = api.run(uid)
    assert (run["status"], run["last_error"], run["output_count"]) == ("SUCCEEDED", None, 60)
