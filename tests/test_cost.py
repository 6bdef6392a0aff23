"""A sync's cost follows the new items, not the run's history, in every outputs layout; and a
shortcut that would miss an item falls back to reading everything."""

from __future__ import annotations

import typing as t

import pytest
from tapkit import OUTPUTS_MODES, TapRun, api_config, item_view, partitions_of, run_tap

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox
from tap_edges.api.client import OUTPUTS_PAGE_SIZE

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
        sb.settings.max_results_limit = 2000
        yield sb


def output_requests(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.requests.entries() if e["path"].endswith("/outputs"))


def sync(sandbox: Sandbox, tmp_path: Path, state: dict[str, t.Any] | None) -> TapRun:
    sandbox.requests.clear()
    run = run_tap(api_config(sandbox, **ONE), tmp_path, state=state)
    assert run.returncode == 0, run.stderr
    return run


def history(sandbox: Sandbox, tmp_path: Path) -> dict[str, t.Any]:
    """Two syncs: a launch, then a continue that grows the outputs past two pages."""
    first = sync(sandbox, tmp_path, None)
    sandbox.backstage.grow(n=HISTORY)
    learned = sync(sandbox, tmp_path, first.last_state)  # may read everything: it learns
    assert len(learned.records()) == 2 * HISTORY
    return learned.last_state


def test_a_sync_reads_only_the_pages_of_the_new_items(sandbox: Sandbox, tmp_path: Path) -> None:
    state = history(sandbox, tmp_path)
    for _ in range(2):
        sandbox.backstage.grow(n=5)
        run = sync(sandbox, tmp_path, state)
        assert output_requests(sandbox) == 2  # one page per partition (connections, viewers)
        new = [
            i
            for r in sandbox.backstage.runs()
            for i in sandbox.backstage.ground_truth(r["uid"])[-1]["delivered"]
        ]
        assert len(new) == 2 * 5
        assert item_view(run.records(), new) == item_view(new, new)
        assert "reading all its outputs" not in run.stderr
        state = run.last_state
    nothing = sync(sandbox, tmp_path, state)
    assert nothing.records() == []
    assert output_requests(sandbox) == 0  # output_count says nothing is new


def test_a_layout_that_changes_falls_back_to_a_full_read(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, outputs_mode="cumulative") as sandbox:
        sandbox.settings.max_results_limit = 2000
        state = history(sandbox, tmp_path)
        sandbox.settings.outputs_mode = (
            "cumulative-newest"  # the offset shortcut would read old items
        )
        sandbox.backstage.grow(n=5)
        run = sync(sandbox, tmp_path, state)
        assert len(run.records()) == 2 * 5
        assert run.stderr.count("reading all its outputs") == 2
        layouts = [p["edges_outputs"]["order"] for p in partitions_of(run.last_state)]
        assert layouts == ["newest", "newest"]  # learned again


def test_a_state_that_misplaces_the_new_items_falls_back(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, outputs_mode="cumulative") as sandbox:
        sandbox.settings.max_results_limit = 2000
        state = history(sandbox, tmp_path)
        for partition in partitions_of(state):  # as if more items had been read than were
            partition["edges_outputs"]["seen"] += 3
        sandbox.backstage.grow(n=5)
        run = sync(sandbox, tmp_path, state)
        assert len(run.records()) == 2 * 5  # the first 3 new items would be missed
        assert run.stderr.count("reading all its outputs") == 2


UNDATED_WORLDS = [
    (mode, variants)
    for mode in OUTPUTS_MODES
    for variants in (("no_extracted_at",), ("no_extracted_at", "refuse_offset"))
]
ORDER_OF_MODE = {"cumulative": "oldest", "cumulative-newest": "newest", "latest": "latest"}


def delivered(sandbox: Sandbox, *, newest: bool = False) -> list[dict[str, t.Any]]:
    """The items Edges delivered to every run (or in each run's newest iteration only)."""
    truths = [sandbox.backstage.ground_truth(run["uid"]) for run in sandbox.backstage.runs()]
    iterations = [it for truth in truths for it in (truth[-1:] if newest else truth)]
    return [item for it in iterations for item in it["delivered"]]


def pages_of_the_new_items(sandbox: Sandbox, mode: str, *, offset_tried: bool) -> int:
    """The output requests a sync needs when a few items are new: one page per partition.

    Oldest first without ``offset``, cursors cannot skip: every page up to the new items is
    read (and dropped), plus the refused offset the first time.
    """
    if mode != "cumulative" or "refuse_offset" not in sandbox.settings.variants:
        return len(sandbox.backstage.runs())
    truths = [sandbox.backstage.ground_truth(run["uid"]) for run in sandbox.backstage.runs()]
    totals = [sum(len(it["delivered"]) for it in truth) for truth in truths]
    return sum(-(-total // OUTPUTS_PAGE_SIZE) + offset_tried for total in totals)


@pytest.mark.parametrize(
    ("mode", "variants"), UNDATED_WORLDS, ids=[f"{m}-{'+'.join(v)}" for m, v in UNDATED_WORLDS]
)
def test_without_extracted_at_a_sync_reads_only_the_pages_of_the_new_items(
    mode: str, variants: tuple[str, ...], tmp_path: Path
) -> None:
    """Items told apart by position: each loads once, and a sync reads the new items' pages."""
    with Sandbox(run_seconds=0.3, outputs_mode=mode, variants=variants) as sandbox:
        sandbox.settings.max_results_limit = 2000
        first = sync(sandbox, tmp_path, None)
        sandbox.backstage.grow(n=HISTORY)
        learned = sync(sandbox, tmp_path, first.last_state)  # reads everything: it learns
        records, state = first.records() + learned.records(), learned.last_state
        pages, wanted = [], []
        for number in range(3):
            sandbox.backstage.grow(n=5)
            run = sync(sandbox, tmp_path, state)
            new = delivered(sandbox, newest=True)
            assert item_view(run.records(), new) == item_view(new, new)  # the new ones only
            assert "reading all its outputs" not in run.stderr
            records += run.records()
            pages.append(output_requests(sandbox))
            wanted.append(pages_of_the_new_items(sandbox, mode, offset_tried=number == 0))
            state = run.last_state
        nothing = sync(sandbox, tmp_path, state)
        pages.append(output_requests(sandbox))
        wanted.append(0)  # output_count says nothing is new
        assert nothing.records() == []
        assert pages == wanted
        every = delivered(sandbox)
        assert item_view(records, every) == item_view(every, every)  # each item loaded once
        assert {p["edges_outputs"]["order"] for p in partitions_of(state)} == {ORDER_OF_MODE[mode]}
