"""Hardening: faults, rate limits, failed runs, bad input and secrets, against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import pytest
import requests
from tapkit import (
    TAP,
    THREAD_URLS,
    api_config,
    expected_items,
    item_view,
    partitions_of,
    request_count,
    run_tap,
    tap_args,
)
from writeahead import watched

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, STANDARD_IDENTITY_ID, Faults, Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"post_urls": [], "thread_urls": THREAD_URLS[:1], "company_page_urls": []}  # 6 partitions


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.3) as sb, watched(sb, tmp_path):  # the write-ahead, every send
        yield sb


def wait_finished(sandbox: Sandbox, uid: str) -> None:
    """Wait (bounded) until a run launched by the test has finished, so the tap continues it."""
    deadline = time.monotonic() + 30
    while next(r for r in sandbox.backstage.runs() if r["uid"] == uid)["status"] != "SUCCEEDED":
        assert time.monotonic() < deadline, "the sandbox run did not finish"
        time.sleep(0.05)


def assert_matches_ground_truth(run: t.Any, sandbox: Sandbox, streams: t.Iterable[str]) -> None:
    for stream in streams:
        expected = expected_items(sandbox, stream)
        assert expected, stream
        assert item_view(run.records(stream), expected) == item_view(expected, expected), stream


def test_sync_under_503s_and_429s_equals_a_clean_sync(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(error_every=5, outputs_429_every=3, outputs_retry_after=1)
    config = api_config(sandbox, **SMALL)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    assert_matches_ground_truth(first, sandbox, ["connections", "messages", "profile_viewers"])
    statuses = [e["status"] for e in sandbox.requests.entries()]
    assert statuses.count(503) >= 2
    assert statuses.count(429) >= 1
    assert "retry" in first.stderr

    sandbox.backstage.grow(n=2)
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert len(second.records("connections")) == 2 * 2


@pytest.mark.slow(seconds=60)  # a minute-long budget window: starts early
def test_budget_keeps_a_12_post_sync_under_the_servers_limit(tmp_path: Path) -> None:
    posts = [
        f"https://www.linkedin.com/posts/someone_topic-activity-72000000000000{i:05d}"
        for i in range(12)
    ]
    with Sandbox(run_seconds=0.3) as sandbox:
        sandbox.settings.faults = Faults(runs_budget_per_minute=30)
        config = api_config(
            sandbox,
            identity_ids=ENGAGEMENT_IDENTITY_IDS[:1],
            post_urls=posts,
            thread_urls=[],
            runs_requests_per_minute=30,
        )
        run = run_tap(config, tmp_path, timeout=300)
        assert run.returncode == 0, run.stderr
        log = sandbox.requests.entries()
    runs_requests = [e for e in log if e["path"].startswith("/v1/runs")]
    assert len(runs_requests) > 30  # the budget really had to be spread over two minutes
    # The tap's own budget keeps it under the server's: not a single 429 (without the budget,
    # the server's 429 + Retry-After would still save the sync, after a few refusals).
    assert sum(1 for e in log if e["status"] == 429) == 0
    assert len(run.records("post_commenters")) > 0


def test_failed_partition_does_not_stop_the_others(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(fail={THREAD_URLS[0]: "LK_ERROR"})
    config = api_config(sandbox, post_urls=[], thread_urls=THREAD_URLS)
    run = run_tap(config, tmp_path)
    assert run.returncode == 1
    failed = {r["uid"] for r in sandbox.backstage.runs() if r["status"] == "FAILED"}
    assert len(failed) == 2  # one per identity
    lines = [line for line in run.stderr.splitlines() if "ended FAILED" in line]
    assert len(lines) >= 2
    assert all("LK_ERROR" in line and any(uid in line for uid in failed) for line in lines)
    assert "partition(s) failed" in run.stderr.splitlines()[-1]
    assert_matches_ground_truth(run, sandbox, ["connections", "profile_viewers"])
    messages = run.records("messages")
    assert {r["linkedin_thread_url"] for r in messages} == {THREAD_URLS[1]}
    bookmarks = partitions_of(run.last_state)
    assert len(bookmarks) == 2 * 6  # connections, viewers, 2 threads, 2 company pages
    assert all(b["edges_run_uid"] for b in bookmarks)

    sandbox.settings.faults = Faults()
    sandbox.requests.clear()
    rerun = run_tap(config, tmp_path, state=run.last_state)
    assert rerun.returncode == 0, rerun.stderr
    assert request_count(sandbox, "POST", "/run/async") == 0  # the failed runs are continued
    assert {r["linkedin_thread_url"] for r in rerun.records("messages")} == {THREAD_URLS[0]}


def test_wrong_api_key_fails_fast_in_one_line_without_the_key(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    secret = "sk-live-THIS-MUST-NOT-LEAK-4242"  # noqa: S105 (a fake key, to detect leaks)
    config = api_config(sandbox, api_key=secret)
    run = run_tap(config, tmp_path, env={"LOGLEVEL": "DEBUG"}, timeout=30)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "rejected the API key" in errors[0]
    assert "401" in errors[0]
    assert secret not in run.stdout + run.stderr
    assert request_count(sandbox, "POST", "/run/async") == 0


def test_debug_logs_of_a_full_sync_never_show_the_key(tmp_path: Path) -> None:
    secret = "sk-live-debug-secret-0042"  # noqa: S105 (a fake key, to detect leaks)
    with Sandbox(run_seconds=0.3, api_key=secret) as sandbox:
        sandbox.settings.faults = Faults(error_every=4)
        config = api_config(sandbox, api_key=secret)
        run = run_tap(config, tmp_path, env={"LOGLEVEL": "DEBUG"})
        test = run_tap(config, tmp_path, args=["--test"], env={"LOGLEVEL": "DEBUG"})
    assert run.returncode == 0, run.stderr
    assert test.returncode == 0, test.stderr
    assert "DEBUG" in run.stderr
    assert len(run.records()) > 100
    for output in (run.stdout, run.stderr, test.stdout, test.stderr):
        assert secret not in output


def test_connection_test_reads_only(sandbox: Sandbox, tmp_path: Path) -> None:
    ok = run_tap(api_config(sandbox), tmp_path, args=["--test"])
    assert ok.returncode == 0, ok.stderr
    assert "Connection test passed" in ok.stderr
    assert sandbox.backstage.runs() == []
    assert all(e["method"] == "GET" for e in sandbox.requests.entries())

    standard = api_config(sandbox, identity_ids=[STANDARD_IDENTITY_ID])
    bad = run_tap(standard, tmp_path, args=["--test"])
    assert bad.returncode == 1
    assert "not an engagement" in bad.stderr or "standard identity" in bad.stderr
    unknown = run_tap(api_config(sandbox, identity_ids=["nope"]), tmp_path, args=["--test"])
    assert unknown.returncode == 1
    assert "identity nope is not known to Edges" in unknown.stderr
    assert sandbox.backstage.runs() == []


def test_run_still_running_at_timeout_stays_in_state(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(hang={THREAD_URLS[0]})
    config = api_config(sandbox, post_urls=[], thread_urls=THREAD_URLS[:1], run_timeout_seconds=2)
    run = run_tap(config, tmp_path)
    assert run.returncode == 1
    hung = [r["uid"] for r in sandbox.backstage.runs() if r["status"] == "RUNNING"]
    assert len(hung) == 2
    assert "run_timeout_seconds" in run.stderr
    pending = [p for p in partitions_of(run.last_state) if p["edges_pending"]]
    assert sorted(p["edges_run_uid"] for p in pending) == sorted(hung)
    assert run.records("connections")

    sandbox.requests.clear()
    again = run_tap(config, tmp_path, state=run.last_state)
    assert again.returncode == 1
    for uid in hung:
        assert request_count(sandbox, "POST", f"/{uid}/continue") == 0


def test_a_run_launched_full_is_relaunched_incremental_with_a_warning(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    launched = requests.post(
        f"{sandbox.base_url}/actions/linkedin-extract-connections/run/async",
        headers={"X-API-Key": sandbox.api_key},
        json={
            "inputs": [{}],
            "identity_ids": [ENGAGEMENT_IDENTITY_IDS[0]],
            "parameters": {"sync_mode": "full"},
        },
        timeout=10,
    ).json()["run_uid"]
    wait_finished(sandbox, launched)
    state = {
        "bookmarks": {
            "connections": {
                "partitions": [
                    {
                        "context": {"identity_id": ENGAGEMENT_IDENTITY_IDS[0]},
                        "edges_run_uid": launched,
                        "edges_pending": False,
                    }
                ]
            }
        }
    }
    config = api_config(sandbox, identity_ids=ENGAGEMENT_IDENTITY_IDS[:1], **SMALL)
    first = run_tap(config, tmp_path, state=state)  # a 0.1 state: the run's batch is re-read
    assert first.returncode == 0, first.stderr
    assert request_count(sandbox, "POST", f"/{launched}/continue") == 0
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    line = next(x for x in second.stderr.splitlines() if launched in x and "WARNING" in x)
    assert "not launched with sync_mode incremental" in line
    assert "launching a fresh run" in line
    assert request_count(sandbox, "POST", "/continue") == 2  # viewers and messages only
    assert request_count(sandbox, "POST", "/run/async") == 1
    fresh = next(
        r
        for r in sandbox.backstage.runs()
        if r["uid"] != launched and r["action_name"] == "linkedin-extract-connections"
    )
    assert fresh["parameters"]["sync_mode"] == "incremental"
    assert second.records("connections")


def test_an_invalid_run_is_relaunched_with_a_warning(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(invalid={"linkedin-extract-connections"})
    config = api_config(sandbox, identity_ids=ENGAGEMENT_IDENTITY_IDS[:1], **SMALL)
    first = run_tap(config, tmp_path)
    assert first.returncode == 1
    assert "ended INVALID" in first.stderr
    assert "the next sync launches a fresh run" in first.stderr
    sandbox.settings.faults = Faults()
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert "is INVALID and cannot be continued; launching a fresh run" in second.stderr
    assert request_count(sandbox, "POST", "/run/async") == 1
    assert_matches_ground_truth(second, sandbox, ["connections"])


def test_unknown_run_and_damaged_state_start_cleanly(sandbox: Sandbox, tmp_path: Path) -> None:
    identity = ENGAGEMENT_IDENTITY_IDS[0]
    state = {
        "bookmarks": {
            "connections": {
                "partitions": [
                    {
                        "context": {"identity_id": identity},
                        "edges_run_uid": "00000000-dead-4bad-8bad-000000000000",
                        "edges_pending": False,
                    }
                ]
            },
            "profile_viewers": {
                "partitions": [
                    {"context": {"identity_id": identity}, "edges_run_uid": 17, "edges_pending": 3}
                ]
            },
            "no_such_stream": {"partitions": [{"context": {"x": 1}, "edges_run_uid": "r"}]},
        }
    }
    config = api_config(sandbox, identity_ids=[identity], **SMALL)
    run = run_tap(config, tmp_path, state=state)
    assert run.returncode == 0, run.stderr
    assert "unknown to the Edges API; launching a fresh run" in run.stderr
    assert "damaged bookmark" in run.stderr
    assert "Traceback" not in run.stderr
    assert request_count(sandbox, "POST", "/run/async") == 3
    assert_matches_ground_truth(run, sandbox, ["connections", "profile_viewers", "messages"])


def test_malformed_output_item_is_skipped_with_a_warning(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(malformed_outputs={"linkedin-extract-connections"})
    run = run_tap(api_config(sandbox, **SMALL), tmp_path)
    assert run.returncode == 0, run.stderr
    assert "skipped an output item that is not an object" in run.stderr
    assert_matches_ground_truth(run, sandbox, ["connections"])


def test_sigterm_flushes_state_and_a_rerun_loses_nothing(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3) as sandbox:
        config = api_config(sandbox, **SMALL)
        first = run_tap(config, tmp_path)
        assert first.returncode == 0, first.stderr
        sandbox.backstage.grow(n=3)
        sandbox.settings.run_seconds = 5.0
        command = [TAP, *tap_args(config, tmp_path, state=first.last_state)]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            states = []
            for line in proc.stdout:
                message = json.loads(line)
                if message["type"] == "STATE":
                    states.append(message["value"])
                    if all(p["edges_pending"] for p in partitions_of(message["value"])):
                        proc.send_signal(signal.SIGTERM)
                        break
            rest, stderr = proc.communicate(timeout=30)
        assert proc.returncode not in (0, None)
        assert "Stopped by SIGTERM" in stderr
        tail = [json.loads(x)["value"] for x in rest.splitlines() if '"STATE"' in x]
        last = (tail or states)[-1]
        sandbox.settings.run_seconds = 0.3
        rerun = run_tap(config, tmp_path, state=last)
        assert rerun.returncode == 0, rerun.stderr
        new = [
            i
            for r in sandbox.backstage.runs()
            for i in sandbox.backstage.ground_truth(r["uid"])[1]["delivered"]
        ]
        got = set(item_view(rerun.records(), new))
        assert len(new) == 2 * 3 * 3
        assert set(item_view(new, new)) <= got


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"api_key": None}, "Setting 'api_key': required"),
        ({"identity_ids": []}, "Setting 'identity_ids': give at least one"),
        (
            {"post_urls": ["https://example.com/post/1"]},
            "Setting 'post_urls': 'https://example.com",
        ),
        ({"thread_urls": ["not-a-thread"]}, "Setting 'thread_urls': 'not-a-thread'"),
        (
            {"company_page_urls": ["https://www.linkedin.com/in/jane-doe/"]},
            (
                "Setting 'company_page_urls': 'https://www.linkedin.com/in/jane-doe/' is not a "
                "LinkedIn company page URL"
            ),
        ),
        ({"max_results": 0}, "Setting 'max_results': must be a positive number"),
        ({"poll_interval_seconds": -1}, "Setting 'poll_interval_seconds': must be a positive"),
        ({"poll_interval_seconds": 0.5}, "is not of type 'integer', 'null' in config['poll_"),
        ({"runs_requests_per_minute": 0}, "Setting 'runs_requests_per_minute': must be a positive"),
        ({"run_timeout_seconds": 0}, "Setting 'run_timeout_seconds': must be a positive"),
        ({"max_results_per_stream": {"likers": 5}}, "unknown stream 'likers'"),
        ({"max_results_per_stream": {"post_likers": 0}}, "post_likers must be a positive integer"),
        ({"api_url": "ftp://x"}, "Setting 'api_url': must be an http(s) URL"),
        ({"callback_url": "http://example.com/hook"}, "Setting 'callback_url': 'http://exa"),
    ],
)
def test_bad_config_is_rejected_before_any_call(
    sandbox: Sandbox, tmp_path: Path, change: dict[str, t.Any], message: str
) -> None:
    config = {**api_config(sandbox), **change}
    config = {k: v for k, v in config.items() if v is not None}
    run = run_tap(config, tmp_path, timeout=30)
    assert run.returncode == 1
    assert message in run.stderr
    assert sandbox.requests.entries() == []
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON (line 1"),
        ("", "is not JSON (line 1"),
        ('["a list"]', "is not a Singer state: it is a list, not an object"),
        ('{"bookmarks": []}', "is not a Singer state: 'bookmarks' is a list, not an object"),
        ('{"bookmarks": {"connections": 3}}', "'bookmarks.connections' is a int, not an object"),
    ],
)
def test_a_state_file_that_is_not_a_singer_state_is_one_clear_error(
    sandbox: Sandbox, tmp_path: Path, content: str, message: str
) -> None:
    state = tmp_path / "broken-state.json"
    state.write_text(content, encoding="utf-8")
    run = run_tap(api_config(sandbox), tmp_path, args=["--state", str(state)], timeout=30)
    assert run.returncode == 1
    assert f"State file {state}" in run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.requests.entries() == []  # nothing was launched on a state it could not read


def test_sandbox_config_file_runs_twice_from_a_shell(tmp_path: Path) -> None:
    """The README's shell recipe, with the repo's sandbox-config.json (only made faster)."""
    config = json.loads((ROOT / "sandbox-config.json").read_text(encoding="utf-8"))
    assert config["sandbox"] is True
    config.update(sandbox_run_seconds=1, poll_interval_seconds=1)
    (tmp_path / "sandbox-config.json").write_text(json.dumps(config), encoding="utf-8")
    script = (ROOT / "README.md").read_text(encoding="utf-8").split("<!-- shell:start -->")[1]
    script = script.split("```bash")[1].split("```")[0]
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{Path(TAP).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second = (
        [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        for name in ("first.jsonl", "second.jsonl")
    )
    first_records = [m["record"] for m in first if m["type"] == "RECORD"]
    second_records = [m["record"] for m in second if m["type"] == "RECORD"]
    assert len(first_records) > 100
    newest = max(r["extracted_at"] for r in first_records)
    assert all(r["extracted_at"] > newest for r in second_records)
    assert len(second_records) < len(first_records)


def test_refused_continue_of_a_post_action_says_it_may_not_be_incremental(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    post = "https://www.linkedin.com/posts/someone_topic-activity-7200000000000099999"
    launched = requests.post(
        f"{sandbox.base_url}/actions/linkedin-extract-post-commenters/run/async",
        headers={"X-API-Key": sandbox.api_key},
        json={
            "inputs": [{"linkedin_post_url": post}],
            "identity_ids": [STANDARD_IDENTITY_ID],  # makes the sandbox refuse the continue
            "parameters": {"sync_mode": "incremental"},
        },
        timeout=10,
    ).json()["run_uid"]
    wait_finished(sandbox, launched)
    context = {"identity_id": ENGAGEMENT_IDENTITY_IDS[0], "linkedin_post_url": post}
    bookmark = {"context": context, "edges_run_uid": launched, "edges_pending": False}
    state = {"bookmarks": {"post_commenters": {"partitions": [bookmark]}}}
    config = api_config(
        sandbox, identity_ids=ENGAGEMENT_IDENTITY_IDS[:1], post_urls=[post], thread_urls=[]
    )
    first = run_tap(config, tmp_path, state=state)  # a 0.1 state: the run's batch is re-read
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=2)
    run = run_tap(config, tmp_path, state=first.last_state)
    assert run.returncode == 1
    line = next(x for x in run.stderr.splitlines() if launched in x and "ERROR" in x)
    assert "documents continue only for some actions" in line
    assert "linkedin-extract-post-commenters" in line
    assert run.records("post_likers")  # the other streams of that post are fine


def test_partial_success_emits_everything_and_warns(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(partial={"linkedin-extract-profile-viewers"})
    run = run_tap(api_config(sandbox, **SMALL), tmp_path)
    assert run.returncode == 0, run.stderr
    warnings = [x for x in run.stderr.splitlines() if "ended PARTIAL_SUCCEEDED" in x]
    assert len(warnings) == 2
    assert all("LK_MISSING_DATA" in w and "profile_viewers[identity" in w for w in warnings)
    assert_matches_ground_truth(run, sandbox, ["profile_viewers", "connections"])


def test_html_answers_from_a_proxy_are_retried(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.settings.faults = Faults(garbage_every=3)
    run = run_tap(api_config(sandbox, **SMALL), tmp_path)
    assert run.returncode == 0, run.stderr
    assert "an answer that is not JSON; retry" in run.stderr
    assert_matches_ground_truth(run, sandbox, ["connections", "messages", "profile_viewers"])


def test_gateway_answers_without_an_edges_body_are_retried(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.settings.faults = Faults(
        gateway_429_every=4, gateway_5xx_every=5, gateway_retry_after=1
    )
    run = run_tap(api_config(sandbox, **SMALL), tmp_path)
    assert run.returncode == 0, run.stderr
    assert_matches_ground_truth(run, sandbox, ["connections", "messages", "profile_viewers"])
    statuses = {entry["status"] for entry in sandbox.requests.entries()}
    assert {429, 502} <= statuses
    assert "HTTP 429; retry" in run.stderr
    assert "HTTP 502; retry" in run.stderr
    assert "sandbox gateway" not in run.stderr  # the gateway's page is never logged
    assert "<html" not in run.stderr
