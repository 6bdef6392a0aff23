"""The tap in every world the Edges docs allow (issue 17): the sandbox's API variants.

In each world, several syncs with growth between them: every sync exits 0, every item Edges
delivered is loaded exactly once (nothing lost, no history emitted again), and each partition
keeps one run (no relaunch loop).
"""

from __future__ import annotations

import collections
import json
import secrets
import typing as t

import pytest
from tapkit import (
    COMPANY_PAGE_URLS,
    OUTPUTS_MODES,
    POST_URLS,
    THREAD_URLS,
    TapRun,
    api_config,
    expected_items,
    request_count,
    run_tap,
)

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Faults, Sandbox
from edges_sandbox.variants import MAX_RESULTS_MAXIMUM
from tap_edges.actions import ACTIONS

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import requests

# Dozens of real syncs, and nothing in them depends on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

ONE_OF_EACH = {
    "identity_ids": ENGAGEMENT_IDENTITY_IDS[:1],
    "post_urls": POST_URLS[:1],
    "thread_urls": THREAD_URLS[:1],
    "company_page_urls": COMPANY_PAGE_URLS[:1],
}
# One identity, one input each: one partition per stream; the listings (discovery, off in
# api_config) are tested in these worlds by test_discovery.py.
PARTITIONS = len([spec for spec in ACTIONS if spec.lists is None])
# Worlds where the outputs layout matters to how the tap reads: each in every layout.
LAYOUT_WORLDS = [
    (),
    ("no_extracted_at",),
    ("epoch_ms_extracted_at",),
    ("epoch_s_extracted_at",),
    ("naive_extracted_at",),
    ("refuse_offset",),
]
OTHER_WORLDS = [
    ("no_name",),
    ("clamp_max_results",),
    ("no_max_results_echo",),
    ("queue",),
    ("no_data_failed",),
    ("no_name", "clamp_max_results", "no_extracted_at", "refuse_offset", "queue"),
]
WORLDS = [
    *((variants, mode) for variants in LAYOUT_WORLDS for mode in OUTPUTS_MODES),
    *((variants, "cumulative") for variants in OTHER_WORLDS),
]


def world_id(world: tuple[tuple[str, ...], str]) -> str:
    variants, mode = world
    return f"{'+'.join(variants) or 'documented'}-{mode}"


@pytest.fixture(params=WORLDS, ids=world_id)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    variants, mode = request.param
    with Sandbox(run_seconds=0.3, outputs_mode=mode, variants=variants) as sb:
        yield sb


def sync(
    sandbox: Sandbox, tmp_path: Path, state: dict[str, t.Any] | None, **config: t.Any
) -> TapRun:
    run = run_tap(api_config(sandbox, **ONE_OF_EACH, **config), tmp_path, state=state)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    return run


def identity(item: dict[str, t.Any]) -> str:
    """An item as Edges serves it, without its time (which the tap normalises)."""
    return json.dumps({k: v for k, v in item.items() if k != "extracted_at"}, sort_keys=True)


def test_every_item_loads_once_and_each_partition_keeps_one_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runs: list[TapRun] = []
    state: dict[str, t.Any] | None = None
    outputs_read: list[int] = []
    for growth in (None, 3, 0, 4):  # a first sync, new items, nothing new, new items again
        if growth:
            sandbox.backstage.grow(n=growth)
        sandbox.requests.clear()
        run = sync(sandbox, tmp_path, state)
        runs.append(run)
        state = run.last_state
        outputs_read.append(request_count(sandbox, "GET", "/outputs"))
    assert (
        len(sandbox.backstage.runs()) == PARTITIONS
    )  # no relaunch: one run per partition throughout
    # Nothing new costs no output request (the run says so), and new items cost a page or two
    # per partition, not the history (cursors walk it where offset is refused, oldest first).
    assert outputs_read[2] == 0, outputs_read
    assert outputs_read[3] <= 2 * PARTITIONS or "refuse_offset" in sandbox.settings.variants, (
        outputs_read
    )
    for spec in ACTIONS:
        delivered = collections.Counter(identity(i) for i in expected_items(sandbox, spec.stream))
        fields = {k for item in expected_items(sandbox, spec.stream) for k in item} - {
            "extracted_at"
        }
        emitted = collections.Counter(
            json.dumps({k: v for k, v in r.items() if k in fields}, sort_keys=True)
            for run in runs
            for r in run.records(spec.stream)
        )
        assert emitted == delivered, spec.stream  # each delivered item once: none lost, none twice
    for run in runs:
        assert all(
            r["extracted_at"] for r in run.records()
        )  # ISO 8601 UTC (or its iteration's end)


def test_a_clamped_cap_is_said_once_and_never_relaunches(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, variants=["clamp_max_results"]) as sandbox:
        state = None
        warnings = 0
        for growth in (None, 2, 2):
            if growth:
                sandbox.backstage.grow(n=growth)
            run = sync(sandbox, tmp_path, state, max_results=500)
            warnings += run.stderr.count(f"with max_results {MAX_RESULTS_MAXIMUM}, not 500")
            state = run.last_state
        assert len(sandbox.backstage.runs()) == PARTITIONS
        assert warnings == PARTITIONS  # once per partition, on its first batch
        assert "launching a fresh run" not in run.stderr


def test_a_launch_without_a_name_whose_answer_is_lost_is_adopted(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, variants=["no_name"]) as sandbox:
        sandbox.settings.faults = Faults(lost_answer_every=2, lost_answer_kind="504")
        run = sync(sandbox, tmp_path, None)
        assert len(sandbox.backstage.runs()) == PARTITIONS  # adopted, not paid twice
        assert "adopting run" in run.stderr
        assert run.stderr.count("Edges refuses the run's name") == 1  # said once, then remembered
        assert run.last_state["bookmarks"]["_edges_api"]["names"] == "refused"
        sandbox.settings.faults = Faults()
        sandbox.backstage.grow(n=2)
        again = sync(sandbox, tmp_path, run.last_state, max_results=150)  # a new cap: relaunch
        assert "Edges refuses the run's name" not in again.stderr  # no launch paid to learn it
        assert len(sandbox.backstage.runs()) == 2 * PARTITIONS


def test_post_actions_edges_will_not_run_incrementally_fail_alone(tmp_path: Path) -> None:
    with Sandbox(run_seconds=0.3, variants=["posts_not_incremental"]) as sandbox:
        run = run_tap(api_config(sandbox, **ONE_OF_EACH), tmp_path)
        assert run.returncode == 1
        for spec in ACTIONS:
            if spec.stream.startswith("post_"):
                assert f"Edges refused incremental sync for {spec.action}" in run.stderr
                assert f"deselect '{spec.stream}'" in run.stderr
        assert "Traceback" not in run.stderr
        for stream in ("connections", "messages", "profile_viewers", "page_followers"):
            assert run.records(stream), stream


def test_a_lost_launch_without_a_name_is_adopted_by_its_own_partition_only(
    tmp_path: Path, http: requests.Session
) -> None:
    """Two messages partitions wrote launches without names ahead; only the second was sent.

    Run objects show no identity nor input: the run must be told apart by its inputs, and a run
    adopted by one partition is no other partition's.
    """
    identity = ENGAGEMENT_IDENTITY_IDS[0]
    action = "linkedin-extract-messages"
    with Sandbox(run_seconds=0.3, variants=["no_name"]) as sandbox:
        sent_at = "2000-01-01T00:00:00Z"  # before the sandbox's runs
        launched = http.post(
            f"{sandbox.base_url}/actions/{action}/run/async",
            json={
                "inputs": [{"linkedin_thread_url": THREAD_URLS[1]}],
                "identity_ids": [identity],
                "parameters": {"sync_mode": "incremental", "max_results": 100},
            },
            timeout=10,
        ).json()["run_uid"]
        partitions = [
            {
                "context": {"identity_id": identity, "linkedin_thread_url": url},
                "edges_pending": {
                    "op": "launch",
                    "token": secrets.token_hex(8),
                    "max_results": 100,
                    "named": False,
                    "sent_at": sent_at,
                },
            }
            for url in THREAD_URLS
        ]
        state = {
            "bookmarks": {
                "messages": {"partitions": partitions},
                "_edges_api": {"names": "refused"},
            }
        }
        config = api_config(
            sandbox,
            identity_ids=[identity],
            thread_urls=THREAD_URLS,
            post_urls=[],
            company_page_urls=[],
        )
        run = run_tap(config, tmp_path, state=state)
        assert run.returncode == 0, run.stderr
        owners = {
            p["context"]["linkedin_thread_url"]: p["edges_run_uid"]
            for p in run.last_state["bookmarks"]["messages"]["partitions"]
        }
        assert owners[THREAD_URLS[1]] == launched
        assert owners[THREAD_URLS[0]] != launched  # its own run, launched now
        assert len({r["uid"] for r in sandbox.backstage.runs() if r["action_name"] == action}) == 2
