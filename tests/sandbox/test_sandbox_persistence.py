"""Contract tests of the sandbox's persistence, determinism, world growth and CLI."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from edges_sandbox import DEFAULT_API_KEY, ENGAGEMENT_IDENTITY_IDS, Sandbox
from edges_sandbox.clock import ManualClock

RUN_SECONDS = 10.0
HEADERS = {"X-API-Key": DEFAULT_API_KEY}
VIEWERS = "linkedin-extract-profile-viewers"
ENGAGED = ENGAGEMENT_IDENTITY_IDS[1]


def launch(sb: Sandbox, action: str = VIEWERS, **params: Any) -> str:
    body = {
        "inputs": [{}],
        "identity_ids": [ENGAGED],
        "parameters": {"sync_mode": "incremental", **params},
    }
    url = f"{sb.base_url}/actions/{action}/run/async"
    response = requests.post(url, json=body, headers=HEADERS, timeout=5)
    assert response.status_code == 201
    uid: str = response.json()["run_uid"]
    return uid


def get(sb: Sandbox, path: str) -> Any:
    response = requests.get(f"{sb.base_url}{path}", headers=HEADERS, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state, clock = tmp_path / "state" / "sandbox.json", ManualClock()
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as first:
        uid = launch(first, max_results=50)
        clock.advance(RUN_SECONDS)
        before = get(first, f"/runs/{uid}/outputs")
        first.backstage.grow(6, action=VIEWERS, identity_id=ENGAGED)
    assert json.loads(state.read_text())["runs"][0]["uid"] == uid
    assert [path.name for path in state.parent.iterdir()] == ["sandbox.json"]
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, state_file=state) as second:
        assert get(second, f"/runs/{uid}/outputs") == before
        continued = requests.post(
            f"{second.base_url}/runs/{uid}/continue", headers=HEADERS, timeout=5
        )
        assert continued.status_code == 200
        clock.advance(RUN_SECONDS)
        after = get(second, f"/runs/{uid}/outputs")
        assert after[: len(before)] == before
        assert len(after) == len(before) + 6
        assert get(second, f"/runs/{uid}")["id"] == 1
        assert launch(second) != uid
        assert [run["id"] for run in second.backstage.runs()] == [1, 2]


def test_world_is_deterministic_per_seed() -> None:
    def first_page(seed: int) -> list[dict[str, Any]]:
        clock = ManualClock()
        with Sandbox(seed=seed, run_seconds=RUN_SECONDS, clock=clock) as sb:
            uid = launch(sb)
            clock.advance(RUN_SECONDS)
            page: list[dict[str, Any]] = get(sb, f"/runs/{uid}/outputs")
            return page

    assert first_page(3) == first_page(3)
    assert first_page(3) != first_page(4)
    viewers = first_page(3)
    assert len(viewers) == 25
    private = [one for one in viewers if one["linkedin_profile_id"] is None]
    assert all(one["linkedin_profile_url"] is None for one in private)
    assert all(isinstance(one["view_timestamp"], int) for one in viewers)


def test_growth_per_minute_adds_items_lazily() -> None:
    clock = ManualClock()
    with Sandbox(run_seconds=RUN_SECONDS, clock=clock, growth_per_minute=2.0) as sb:
        uid = launch(sb)
        clock.advance(5 * 60)
        requests.post(f"{sb.base_url}/runs/{uid}/continue", headers=HEADERS, timeout=5)
        clock.advance(RUN_SECONDS)
        truth = sb.backstage.ground_truth(uid)
    assert len(truth[1]["delivered"]) == 10


def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(sys.executable).parent / "tap-edges-sandbox"
    command = [str(script), "serve", "--port", str(port), "--run-seconds", "0.2"]
    command += ["--state-file", str(tmp_path / "cli.json")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == f"Edges sandbox listening on http://127.0.0.1:{port}/v1"
            answer = requests.get(
                f"http://127.0.0.1:{port}/v1/identities", headers=HEADERS, timeout=5
            )
            assert answer.status_code == 200
            assert len(answer.json()) == 3
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
