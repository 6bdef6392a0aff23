"""Delivery guarantees: nothing is lost when the target fails, an answer is lost, the config
changes or Edges drops items, in both readings of the outputs (every iteration, or the newest).
Each test injects the fault against the sandbox over real HTTP and runs the real tap."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import subprocess
import time
import typing as t

import pytest
from tapkit import (
    OUTPUTS_MODES,
    TAP,
    api_config,
    expected_items,
    item_view,
    partitions_of,
    request_count,
    run_tap,
    tap_args,
)
from writeahead import watched

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from tap_edges.runs.partitions import NAME_PREFIX

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import requests

# Many real syncs whose behaviour does not depend on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

SMALL: dict[str, list[str]] = {
    "post_urls": [],
    "thread_urls": [],
    "company_page_urls": [],
}  # connections and profile viewers: 4 partitions
STREAMS = ("connections", "profile_viewers")


@pytest.fixture(params=OUTPUTS_MODES)
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    with (
        Sandbox(run_seconds=0.3, outputs_mode=request.param) as sb,
        watched(sb, tmp_path),  # the write-ahead rule, at every send
    ):
        yield sb


def assert_emitted(run: t.Any, sandbox: Sandbox, iteration: int) -> None:
    """Every item the runs' iteration delivered is among the sync's records."""
    for stream in STREAMS:
        items = expected_items(sandbox, stream, iteration)
        assert items, stream
        assert set(item_view(items, items)) <= set(item_view(run.records(stream), items)), stream


def test_a_failed_load_is_read_again_and_the_run_is_not_continued_past_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = api_config(sandbox, **SMALL)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    committed = first.last_state
    sandbox.backstage.grow(n=3)
    lost_load = run_tap(config, tmp_path, state=committed)  # its target fails: state not saved
    assert lost_load.returncode == 0, lost_load.stderr
    assert_emitted(lost_load, sandbox, 1)

    for _ in range(2):  # two failed loads in a row: Meltano hands over the same older state
        sandbox.backstage.grow(n=2)
        sandbox.requests.clear()
        replay = run_tap(config, tmp_path, state=committed)
        assert replay.returncode == 0, replay.stderr
        assert request_count(sandbox, "POST", "/continue") == 0
        assert request_count(sandbox, "POST", "/run/async") == 0
        assert_emitted(replay, sandbox, 1)
        assert "has an iteration the state does not record" in replay.stderr

    sandbox.requests.clear()
    resumed = run_tap(config, tmp_path, state=replay.last_state)
    assert resumed.returncode == 0, resumed.stderr
    assert request_count(sandbox, "POST", "/continue") == 4
    assert_emitted(resumed, sandbox, 2)  # the items that arrived during the failed loads


@pytest.mark.parametrize("kind", ["504", "reset"])
def test_a_continue_whose_answer_is_lost_is_not_sent_again(
    sandbox: Sandbox, tmp_path: Path, kind: str
) -> None:
    config = api_config(sandbox, **SMALL)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=3)
    sandbox.settings.faults = Faults(lost_answer_every=1, lost_answer_kind=kind)
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert request_count(sandbox, "POST", "/continue") == 4  # one per partition, none resent
    assert second.stderr.count("the continue was applied") == 4
    assert_emitted(second, sandbox, 1)
    runs = sandbox.backstage.runs()
    assert all(
        len(sandbox.backstage.ground_truth(r["uid"])) == 2 for r in runs
    )  # no iteration skipped


def test_a_continue_that_was_not_applied_is_sent_again(sandbox: Sandbox, tmp_path: Path) -> None:
    config = api_config(sandbox, **SMALL)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=3)
    # Every 3rd request under /v1/runs fails with a 503 before anything is done.
    sandbox.settings.faults = Faults(error_every=3)
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert all(len(sandbox.backstage.ground_truth(r["uid"])) == 2 for r in sandbox.backstage.runs())
    assert_emitted(second, sandbox, 1)


@pytest.mark.parametrize("kind", ["504", "reset"])
def test_a_launch_whose_answer_is_lost_is_adopted_not_paid_twice(
    sandbox: Sandbox, tmp_path: Path, kind: str
) -> None:
    sandbox.settings.faults = Faults(lost_answer_every=2, lost_answer_kind=kind)
    run = run_tap(api_config(sandbox, **SMALL), tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(sandbox.backstage.runs()) == 4  # one run per partition
    assert run.stderr.count("adopting run") == 2
    assert_emitted(run, sandbox, 0)
    uids = {r["uid"] for r in sandbox.backstage.runs()}
    assert {p["edges_run_uid"] for p in partitions_of(run.last_state)} == uids


def test_a_launch_left_pending_by_a_killed_sync_is_adopted(
    sandbox: Sandbox, tmp_path: Path, http: requests.Session
) -> None:
    """The state says a launch was sent (its token), not which run it made."""
    identity = ENGAGEMENT_IDENTITY_IDS[0]
    token = secrets.token_hex(8)
    launched = http.post(
        f"{sandbox.base_url}/actions/linkedin-extract-connections/run/async",
        json={
            "name": f"{NAME_PREFIX}{token} connections {identity}",
            "inputs": [{}],
            "identity_ids": [identity],
            "parameters": {"sync_mode": "incremental", "max_results": 100},
        },
        timeout=10,
    ).json()["run_uid"]
    pending = {"op": "launch", "token": token, "max_results": 100}
    bookmark = {"context": {"identity_id": identity}, "edges_pending": pending}
    state = {"bookmarks": {"connections": {"partitions": [bookmark]}}}
    config = api_config(sandbox, identity_ids=[identity], **SMALL)
    sandbox.requests.clear()
    run = run_tap(config, tmp_path, state=state)
    assert run.returncode == 0, run.stderr
    assert f"adopting run {launched}" in run.stderr
    assert request_count(sandbox, "POST", "/run/async") == 1  # profile viewers only
    partition = run.last_state["bookmarks"]["connections"]["partitions"][0]
    assert partition["edges_run_uid"] == launched
    items = expected_items(sandbox, "connections")
    assert item_view(run.records("connections"), items) == item_view(items, items)


def test_a_new_max_results_relaunches_the_partition(sandbox: Sandbox, tmp_path: Path) -> None:
    config = api_config(sandbox, **SMALL)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    config["max_results_per_stream"] = {"connections": 150}
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert request_count(sandbox, "POST", "/run/async") == 2  # the two connections partitions
    assert request_count(sandbox, "POST", "/continue") == 2  # the two profile viewers
    assert second.stderr.count("runs with max_results 100, not 150") == 2
    fresh = [r for r in sandbox.backstage.runs() if r["parameters"]["max_results"] == 150]
    assert len(fresh) == 2
    sandbox.requests.clear()
    third = run_tap(config, tmp_path, state=second.last_state)
    assert third.returncode == 0, third.stderr
    assert request_count(sandbox, "POST", "/continue") == 4


@pytest.mark.parametrize("adaptive", [True, False])
def test_a_full_batch_is_healed_by_a_larger_relaunch(
    sandbox: Sandbox, tmp_path: Path, adaptive: bool
) -> None:
    identity = ENGAGEMENT_IDENTITY_IDS[0]
    config = api_config(sandbox, identity_ids=[identity], adaptive_max_results=adaptive, **SMALL)
    config["max_results_per_stream"] = {"connections": 5}
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=8, action="linkedin-extract-connections")
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    (run,) = [
        r for r in sandbox.backstage.runs() if r["action_name"] == "linkedin-extract-connections"
    ]
    # A relaunch extracts them again: compare everything but when they were extracted.
    dropped = [
        {k: v for k, v in item.items() if k != "extracted_at"}
        for item in sandbox.backstage.ground_truth(run["uid"])[1]["dropped"]
    ]
    assert len(dropped) == 3
    warning = next(x for x in second.stderr.splitlines() if "may have dropped" in x)
    assert ("relaunches it with max_results 10" in warning) is adaptive

    sandbox.requests.clear()
    third = run_tap(config, tmp_path, state=second.last_state)
    assert third.returncode == 0, third.stderr
    healed = set(item_view(dropped, dropped)) <= set(
        item_view(third.records("connections"), dropped)
    )
    assert healed is adaptive
    assert request_count(sandbox, "POST", "/run/async") == int(adaptive)
    if adaptive:
        fresh = [r for r in sandbox.backstage.runs() if r["parameters"]["max_results"] == 10]
        assert len(fresh) == 1
        assert "may have dropped" in third.stderr  # a relaunch's full first batch is no first sync
        fourth = run_tap(config, tmp_path, state=third.last_state)  # it keeps the grown cap
        assert fourth.returncode == 0, fourth.stderr
        assert "launching a fresh run" not in fourth.stderr


def test_a_grown_cap_edges_refuses_keeps_the_old_run_and_is_not_asked_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Rows 15 and 22 of the lifecycle: Edges refuses a cap adaptive growth asked for."""
    identity = ENGAGEMENT_IDENTITY_IDS[0]
    config = api_config(sandbox, identity_ids=[identity], **SMALL)
    config["max_results_per_stream"] = {"connections": 600}  # grows to 1200: Edges takes 1000
    state = run_tap(config, tmp_path).last_state
    sandbox.backstage.grow(n=700, action="linkedin-extract-connections")
    full = run_tap(config, tmp_path, state=state)  # a full continued batch: grow to 1200
    assert "relaunches it with max_results 1200" in full.stderr
    sandbox.backstage.grow(n=2, action="linkedin-extract-connections")
    refused = run_tap(config, tmp_path, state=full.last_state)
    assert refused.returncode == 0, refused.stderr
    assert refused.stderr.count("Edges refused max_results 1200; staying at 600") == 1
    sandbox.backstage.grow(n=2, action="linkedin-extract-connections")
    sandbox.requests.clear()
    after = run_tap(config, tmp_path, state=refused.last_state)
    assert after.returncode == 0, after.stderr
    assert request_count(sandbox, "POST", "/run/async") == 0  # the refused cap is not asked again
    runs = [
        r for r in sandbox.backstage.runs() if r["action_name"] == "linkedin-extract-connections"
    ]
    assert len(runs) == 1  # the partition stayed on its run
    assert len(refused.records("connections")) == 2  # the refused sync continued the old run
    assert len(after.records("connections")) == 2


def _blocked_on_stdout(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/wchan", encoding="ascii") as wchan:  # noqa: PTH123
            return "pipe_write" in wchan.read()
    except OSError:
        return False


@contextlib.contextmanager
def blocked_tap(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A continuing sync whose target does not read: it blocks writing megabytes of records."""
    with Sandbox(run_seconds=0.3) as sandbox:
        sandbox.settings.max_results_limit = 5000
        identity = ENGAGEMENT_IDENTITY_IDS[0]
        config = api_config(sandbox, identity_ids=[identity], max_results=5000, **SMALL)
        first = run_tap(config, tmp_path)
        assert first.returncode == 0, first.stderr
        sandbox.backstage.grow(n=3000, action="linkedin-extract-connections")
        command = [TAP, *tap_args(config, tmp_path, state=first.last_state)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            deadline = time.monotonic() + 60
            while not _blocked_on_stdout(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)  # nobody reads stdout: the pipe fills up and the tap blocks
            assert _blocked_on_stdout(proc.pid)
            yield proc


def test_sigterm_while_stdout_is_blocked_ends_with_whole_lines_and_a_state(
    tmp_path: Path,
) -> None:
    """A slow target blocks the tap's stdout mid-drain; SIGTERM must not cut or repeat a line."""
    with blocked_tap(tmp_path) as proc:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the handler runs while the write is still blocked
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    stderr = err.decode()
    assert "Stopped by SIGTERM: the state was flushed" in stderr
    messages = [json.loads(line) for line in out.decode().splitlines()]  # no line is cut
    records = [
        m["record"]["linkedin_profile_id"]
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "connections"
    ]
    assert records
    assert len(records) == len(set(records))  # no line is written twice
    assert messages[-1]["type"] == "STATE"
    (partition,) = messages[-1]["value"]["bookmarks"]["connections"]["partitions"]
    assert partition["edges_pending"]  # the batch was cut short: the rerun reads it again


def test_a_second_signal_while_stdout_stays_blocked_exits_and_says_so(tmp_path: Path) -> None:
    with blocked_tap(tmp_path) as proc:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # the target still reads nothing
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    assert "the last STATE could not be written" in err.decode()
    assert b'"type":"STATE"' not in out.rsplit(b"\n", 2)[-1]  # nothing after the cut line
