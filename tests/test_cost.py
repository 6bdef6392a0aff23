"""A sync's cost follows the new items, not the run's history, in every outputs layout; and a
shortcut that would miss an item falls back to reading everything."""

from __future__ import annotations

import typing as t

import pytest
from tapkit import OUTPUTS_MODES, TapRun, api_config, item_view, partitions_of, run_tap

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Many real syncs whose behaviour does not depend on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

HISTORY = 1100  # more than two 500-item pages
ONE = {
    "identity_ids": ENGAGEMENT_IDENTITY_IDS[:1],
    "post_urls": [],
    "thread_urls": [],
    "company_page_urls": [],
    "max_results": 1500,
}


@pytest.fixture(params=OUTPUTS_MODES)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.3, outputs_mode=request.param) as sb:
        sb.max_results_limit = 2000
        yield sb


def output_requests(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.request_log() if e["path"].endswith("/outputs"))


def sync(sandbox: Sandbox, tmp_path: Path, state: dict[str, t.Any] | None) -> TapRun:
    sandbox.clear_request_log()
    run = run_tap(api_config(sandbox, **ONE), tmp_path, state=state)
    assert run.returncode == 0, run.stderr
    return run


def history(sandbox: Sandbox, tmp_path: Path) -> dict[str, t.Any]:
    """Two syncs: a launch, then a continue that grows the outputs past two pages."""
    first = sync(sandbox, tmp_path, None)
    sandbox.grow(n=HISTORY)
    learned = sync(sandbox, tmp_path, first.last_state)  # may read everything: it learns
    assert len(learned.records()) == 2 * HISTORY
    return learned.last_state


def test_a_sync_reads_only_the_pages_of_the_new_items(sandbox: Sandbox, tmp_path: Path) -> None:
    state = history(sandbox, tmp_path)
    for _ in range(2):
        sandbox.grow(n=5)
        run = sync(sandbox, tmp_path, state)
        assert output_requests(sandbox) == 2  # one page per partition (connections, viewers)
        new = [i for r in sandbox.runs() for i in sandbox.ground_truth(r["uid"])[-1]["delivered"]]
        assert len(new) == 2 * 5
        assert item_view(run.records(), new) == item_view(new, new)
        assert "reading all its outputs" not in run.stderr
        state = run.last_state
    nothing = sync(sandbox, tmp_path, state)
    assert nothing.records() == []
    assert output_requests(sandbox) == 0  # output_count says nothing is new


def test_a_layout_that_changes_falls_back_to_a_full_read(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, outputs_mode="cumulative") as sandbox:
        sandbox.max_results_limit = 2000
        state = history(sandbox, tmp_path)
        sandbox.outputs_mode = "cumulative-newest"  # the offset shortcut would read old items
        sandbox.grow(n=5)
        run = sync(sandbox, tmp_path, state)
        assert len(run.records()) == 2 * 5
        assert run.stderr.count("reading all its outputs") == 2
        layouts = [p["edges_outputs"]["order"] for p in partitions_of(run.last_state)]
        assert layouts == ["newest", "newest"]  # learned again


def test_a_state_that_misplaces_the_new_items_falls_back(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, outputs_mode="cumulative") as sandbox:
        sandbox.max_results_limit = 2000
        state = history(sandbox, tmp_path)
        for partition in partitions_of(state):  # as if more items had been read than were
            partition["edges_outputs"]["seen"] += 3
        sandbox.grow(n=5)
        run = sync(sandbox, tmp_path, state)
        assert len(run.records()) == 2 * 5  # the first 3 new items would be missed
        assert run.stderr.count("reading all its outputs") == 2
