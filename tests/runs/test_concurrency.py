"""Every partition's run is launched or continued before any partition waits or reads.

Shown from the order of the requests in the sandbox's log (the tap's requests are sequential,
so the log order is the order it sent them), never from timings.
"""

from __future__ import annotations

import typing as t

import pytest
from tapkit import api_config, partitions_of, run_tap

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Many real syncs whose behaviour does not depend on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

POSTS = 50
POST_STREAMS = ("post_commenters", "post_likers", "post_reposters")


def post_urls(count: int) -> list[str]:
    return [
        f"https://www.linkedin.com/posts/concurrency_post-activity-{7400000000000000000 + i}-cncr"
        for i in range(count)
    ]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # Runs take long enough that a tap waiting for one before starting the next would show.
    with Sandbox(run_seconds=1.0) as sb:
        yield sb


def config_for(sandbox: Sandbox) -> dict[str, t.Any]:
    return api_config(
        sandbox,
        identity_ids=[ENGAGEMENT_IDENTITY_IDS[0]],
        post_urls=post_urls(POSTS),
        thread_urls=[],
        company_page_urls=[],
        poll_interval_seconds=1,
    )


def kinds(log: list[dict[str, t.Any]]) -> list[str]:
    """Each /v1/runs* request as one word: launch, continue, list, get or outputs."""
    words = []
    for entry in log:
        path, method = entry["path"], entry["method"]
        if path.endswith("/run/async"):
            words.append("launch")
        elif path.endswith("/continue"):
            words.append("continue")
        elif path.endswith("/outputs"):
            words.append("outputs")
        elif path == "/v1/runs" and method == "GET":
            words.append("list")
        elif path.startswith("/v1/runs/"):
            words.append("get")
    return words


def assert_all_started_before_any_read(words: list[str], start: str, partitions: int) -> None:
    assert words.count(start) == partitions
    last_start = max(i for i, word in enumerate(words) if word == start)
    first_read = words.index("outputs")
    assert last_start < first_read, "a partition was read before every run was started"


def test_every_run_is_launched_before_any_partition_is_read(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    run = run_tap(config_for(sandbox), tmp_path)
    assert run.returncode == 0, run.stderr
    partitions = 2 + len(POST_STREAMS) * POSTS  # connections, profile viewers, 3 x 50 posts
    assert len(partitions_of(run.last_state)) == partitions
    words = kinds(sandbox.requests.entries())
    assert_all_started_before_any_read(words, "launch", partitions)
    assert words[:partitions] == ["launch"] * partitions  # no poll, wait or read in between


def test_every_run_is_continued_before_any_partition_waits_or_is_read(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = config_for(sandbox)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=2)
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    words = kinds(sandbox.requests.entries())
    partitions = len(partitions_of(first.last_state))
    assert_all_started_before_any_read(words, "continue", partitions)
    # The one status read before the continues, then only polls: no status poll, no read
    # and no wait comes between two continues.
    first_continue = words.index("continue")
    assert words[:first_continue] == ["list"] * ((partitions + 99) // 100)
    started = words[first_continue : first_continue + partitions]
    assert started == ["continue"] * partitions
    assert len(second.records()) == 2 + 2 + len(POST_STREAMS) * POSTS * 2


def test_status_polls_cover_many_runs_per_request(sandbox: Sandbox, tmp_path: Path) -> None:
    run = run_tap(config_for(sandbox), tmp_path)
    assert run.returncode == 0, run.stderr
    log = sandbox.requests.entries()
    assert "get" not in kinds(log), "a run's status was read on its own"
    lists = [entry for entry in log if entry["path"] == "/v1/runs"]
    assert lists
    sizes = [len(entry["query"].get("uid", [])) for entry in lists]
    assert max(sizes) == 100  # 152 runs in flight: two requests per poll round, full ones first
    assert all(size <= 100 for size in sizes)


def test_outputs_are_read_500_per_page(sandbox: Sandbox, tmp_path: Path) -> None:
    config = config_for(sandbox)
    config.update(post_urls=post_urls(1), max_results=1000)
    sandbox.backstage.grow(
        n=1100, action="linkedin-extract-connections", identity_id=ENGAGEMENT_IDENTITY_IDS[0]
    )
    run = run_tap(config, tmp_path)
    assert run.returncode == 0, run.stderr
    pages = [e for e in sandbox.requests.entries() if e["path"].endswith("/outputs")]
    assert all(e["query"].get("limit") == ["500"] for e in pages)
    assert any(e["query"].get("cursor") for e in pages)  # 1000 items: a second page
    assert len(run.records("connections")) == 1000
