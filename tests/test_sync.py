"""Incremental sync by run continuation, end to end against the sandbox over real HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import typing as t

import pytest
from tapkit import (
    ACTION_OF_STREAM,
    COMPANY_PAGE_URLS,
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

from edges_sandbox import Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STREAMS = list(ACTION_OF_STREAM)


@pytest.fixture(params=OUTPUTS_MODES)
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    with (
        Sandbox(run_seconds=0.3, outputs_mode=request.param) as sb,
        watched(sb, tmp_path),  # the write-ahead rule, at every send
    ):
        yield sb


def first_iteration(sandbox: Sandbox) -> int:
    """Index the sandbox gives to a run's first iteration."""
    return min(
        int(it["index"])
        for it in sandbox.backstage.ground_truth(sandbox.backstage.runs()[0]["uid"])
    )


def assert_records_match(run: t.Any, sandbox: Sandbox, iteration: int | None) -> None:
    for stream in STREAMS:
        expected = expected_items(sandbox, stream, iteration)
        got = run.records(stream)
        assert len(got) == len(expected), stream
        assert item_view(got, expected) == item_view(expected, expected), stream


def test_three_syncs_emit_exactly_the_new_items(sandbox: Sandbox, tmp_path: Path) -> None:
    config = api_config(sandbox)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    runs = sandbox.backstage.runs()
    # 2 identities x (connections, viewers, 2 threads, 2 posts x 3, 2 company pages)
    assert len(runs) == 24
    start = first_iteration(sandbox)
    assert_records_match(first, sandbox, start)
    bookmarks = partitions_of(first.last_state)
    assert sorted(b["edges_run_uid"] for b in bookmarks) == sorted(r["uid"] for r in runs)
    assert not any(b["edges_pending"] for b in bookmarks)

    sandbox.backstage.grow(n=4)
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert request_count(sandbox, "POST", "/run/async") == 0
    continued = [e["path"] for e in sandbox.requests.entries() if e["path"].endswith("/continue")]
    assert sorted(continued) == sorted(f"/v1/runs/{r['uid']}/continue" for r in runs)
    assert_records_match(second, sandbox, start + 1)
    assert len(second.records("connections")) == 2 * 4

    sandbox.requests.clear()
    third = run_tap(config, tmp_path, state=second.last_state)
    assert third.returncode == 0, third.stderr
    assert third.records() == []
    assert request_count(sandbox, "POST", "/continue") == len(runs)
    assert request_count(sandbox, "POST", "/run/async") == 0


def test_records_carry_identity_run_input_and_keys(sandbox: Sandbox, tmp_path: Path) -> None:
    run = run_tap(api_config(sandbox, post_urls=[], thread_urls=[tapkit_thread()]), tmp_path)
    assert run.returncode == 0, run.stderr
    schemas = {m["stream"]: m for m in run.messages if m["type"] == "SCHEMA"}
    for stream in ("connections", "messages", "profile_viewers", "page_followers"):
        records = run.records(stream)
        assert records, stream
        keys = schemas[stream]["key_properties"]
        assert keys[0] == "identity_id"
        seen = {tuple(r[k] for k in keys) for r in records}
        assert len(seen) == len(records), f"{stream}: duplicate primary keys"
        for record in records:
            assert record["run_uid"] in {r["uid"] for r in sandbox.backstage.runs()}
            assert record["extracted_at"]
            assert all(record[k] is not None for k in keys)
    assert {r["linkedin_thread_url"] for r in run.records("messages")} == {tapkit_thread()}
    pages = {r["linkedin_company_url"] for r in run.records("page_followers")}
    assert pages == set(COMPANY_PAGE_URLS)
    assert run.records("post_likers") == []


def tapkit_thread() -> str:
    from tapkit import THREAD_URLS  # noqa: PLC0415

    return THREAD_URLS[0]


def test_overflow_keeps_newest_and_warns(sandbox: Sandbox, tmp_path: Path) -> None:
    config = api_config(sandbox, post_urls=[], thread_urls=[], max_results=100)
    config["max_results_per_stream"] = {"connections": 5}
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=8, action="linkedin-extract-connections")
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    records = second.records("connections")
    truth = [
        it for r in sandbox.backstage.runs() for it in sandbox.backstage.ground_truth(r["uid"])
    ]
    delivered = [i for it in truth[1:] for i in it["delivered"]] if truth else []
    assert len(records) == 2 * 5
    newest = expected_items(sandbox, "connections", first_iteration(sandbox) + 1)
    assert item_view(records, newest) == item_view(newest, newest)
    dropped = [
        i
        for r in sandbox.backstage.runs()
        if r["action_name"] == "linkedin-extract-connections"
        for it in sandbox.backstage.ground_truth(r["uid"])[1:]
        for i in it["dropped"]
    ]
    assert len(dropped) == 2 * 3
    assert delivered
    warnings = [line for line in second.stderr.splitlines() if "may have dropped older" in line]
    assert len(warnings) == 2
    assert all("connections[identity" in w and "max_results" in w for w in warnings)
    assert second.stderr.count('"metric":"edges_possible_loss"') == 2
    assert "2 partition(s) received a full batch" in second.stderr
    assert second.records("profile_viewers") == []


class SkewClock:
    """Wall-clock time plus an offset the test can jump forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.mark.parametrize("mode", OUTPUTS_MODES)
def test_killed_sync_loses_nothing(mode: str, tmp_path: Path) -> None:
    clock = SkewClock()
    with Sandbox(run_seconds=0.3, outputs_mode=mode, clock=clock) as sandbox:
        config = api_config(sandbox, post_urls=[], thread_urls=[])
        first = run_tap(config, tmp_path)
        assert first.returncode == 0, first.stderr
        runs = sandbox.backstage.runs()
        sandbox.settings.run_seconds = (
            600.0  # the continued runs stay in flight while we kill the tap
        )
        sandbox.backstage.grow(n=3)
        last_state = _kill_after_continues(config, first.last_state, tmp_path, len(runs))
        assert all(p["edges_pending"] for p in partitions_of(last_state))

        clock.offset += 601.0  # the interrupted iterations finish
        sandbox.settings.run_seconds = 0.3
        sandbox.requests.clear()
        rerun = run_tap(config, tmp_path, state=last_state)
        assert rerun.returncode == 0, rerun.stderr
        assert request_count(sandbox, "POST", "/run/async") == 0
        start = first_iteration(sandbox)
        for stream in ("connections", "profile_viewers"):
            interrupted = expected_items(sandbox, stream, start + 1)
            assert len(interrupted) == 2 * 3
            assert set(item_view(interrupted, interrupted)) <= set(
                item_view(rerun.records(stream), interrupted)
            )


def _kill_after_continues(
    config: dict[str, t.Any], state: dict[str, t.Any], workdir: Path, runs: int
) -> dict[str, t.Any]:
    """Start a sync, SIGKILL it once every run's continue is in its printed state."""
    command = [TAP, *tap_args(config, workdir, state=state)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        last: dict[str, t.Any] = {}
        for line in proc.stdout:
            message = json.loads(line)
            if message["type"] != "STATE":
                continue
            last = message["value"]
            pending = [p for p in partitions_of(last) if p["edges_pending"]]
            if len(pending) == runs:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return last
