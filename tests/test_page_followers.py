"""Page followers end to end: one incremental run per identity x page, continued every sync."""

from __future__ import annotations

import typing as t

import pytest
from tapkit import (
    COMPANY_PAGE_URLS,
    OUTPUTS_MODES,
    api_config,
    expected_items,
    item_view,
    partitions_of,
    request_count,
    run_tap,
)

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Many real syncs whose behaviour does not depend on the Python version: on the main Python
# only (scripts/test-other-pythons leaves slow tests out).
pytestmark = pytest.mark.slow

STREAM = "page_followers"
ACTION = "linkedin-extract-page-followers"
NOT_ADMIN_PAGE = "https://www.linkedin.com/company/not-admin-initech/"
ONLY_PAGES: dict[str, list[str]] = {"post_urls": [], "thread_urls": []}


@pytest.fixture(params=OUTPUTS_MODES)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.3, outputs_mode=request.param) as sb:
        yield sb


def follower_runs(sandbox: Sandbox) -> list[dict[str, t.Any]]:
    return [r for r in sandbox.backstage.runs() if r["action_name"] == ACTION]


def test_one_incremental_run_per_identity_and_page_continued_for_new_followers(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = api_config(sandbox, **ONLY_PAGES)
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    runs = follower_runs(sandbox)
    assert len(runs) == len(ENGAGEMENT_IDENTITY_IDS) * len(COMPANY_PAGE_URLS)
    sent = [sandbox.engine.runs[run["uid"]] for run in runs]
    assert {(r.identity_id, tuple(r.input.items())) for r in sent} == {
        (identity, (("linkedin_company_url", page),))
        for identity in ENGAGEMENT_IDENTITY_IDS
        for page in COMPANY_PAGE_URLS
    }
    assert all(r.parameters["sync_mode"] == "incremental" for r in sent)
    records = first.records(STREAM)
    expected = expected_items(sandbox, STREAM)
    assert len(records) == len(expected) > 0
    assert item_view(records, expected) == item_view(expected, expected)
    keys = [
        (r["identity_id"], r["linkedin_company_url"], r["linkedin_profile_id"]) for r in records
    ]
    assert len(set(keys)) == len(keys)
    assert all(isinstance(r["linkedin_profile_id"], int) for r in records)
    assert {r["linkedin_company_url"] for r in records} == set(COMPANY_PAGE_URLS)
    schema = next(m for m in first.messages if m["type"] == "SCHEMA" and m["stream"] == STREAM)
    assert schema["key_properties"] == [
        "identity_id",
        "linkedin_company_url",
        "linkedin_profile_id",
    ]

    sandbox.backstage.grow(n=3, action=ACTION)
    sandbox.requests.clear()
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert request_count(sandbox, "POST", "/run/async") == 0
    for run in runs:
        assert request_count(sandbox, "POST", f"/runs/{run['uid']}/continue") == 1
    new = second.records(STREAM)
    assert len(new) == len(runs) * 3  # the pages' new followers, seen by each identity
    newest_before = max(r["extracted_at"] for r in records)
    assert all(r["extracted_at"] > newest_before for r in new)
    delivered = [
        item for run in runs for item in sandbox.backstage.ground_truth(run["uid"])[-1]["delivered"]
    ]
    assert item_view(new, delivered) == item_view(delivered, delivered)
    assert not {r["linkedin_profile_id"] for r in new} & {r["linkedin_profile_id"] for r in records}


def test_a_page_the_identity_does_not_administer_fails_alone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    pages = [COMPANY_PAGE_URLS[0], NOT_ADMIN_PAGE]
    config = api_config(sandbox, **ONLY_PAGES, company_page_urls=pages)
    run = run_tap(config, tmp_path)
    assert run.returncode == 1
    failed = {r["uid"] for r in follower_runs(sandbox) if r["status"] == "FAILED"}
    assert len(failed) == len(ENGAGEMENT_IDENTITY_IDS)
    lines = run.stderr.splitlines()
    errors = [x for x in lines[:-1] if "ERROR" in x and NOT_ADMIN_PAGE in x]  # the last: summary
    for identity in ENGAGEMENT_IDENTITY_IDS:
        (line,) = [x for x in errors if f"identity {identity} is not an admin" in x]
        assert "STATUS_403" in line
        assert any(uid in line for uid in failed)
        assert "'company_page_urls'" in line
    assert "2 partition(s) failed" in lines[-1]
    # The other partitions loaded: the administered page, and the streams without input.
    assert {r["linkedin_company_url"] for r in run.records(STREAM)} == {COMPANY_PAGE_URLS[0]}
    for stream in (STREAM, "connections", "profile_viewers"):
        expected = expected_items(sandbox, stream)
        assert expected, stream
        assert item_view(run.records(stream), expected) == item_view(expected, expected), stream
    assert all(b["edges_run_uid"] for b in partitions_of(run.last_state))


def test_a_full_batch_of_new_followers_warns_of_possible_loss(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = api_config(sandbox, **ONLY_PAGES, company_page_urls=COMPANY_PAGE_URLS[:1])
    config["max_results_per_stream"] = {STREAM: 5}
    first = run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    sandbox.backstage.grow(n=8, action=ACTION)
    second = run_tap(config, tmp_path, state=first.last_state)
    assert second.returncode == 0, second.stderr
    assert len(second.records(STREAM)) == len(ENGAGEMENT_IDENTITY_IDS) * 5
    warnings = [x for x in second.stderr.splitlines() if "may have dropped older" in x]
    assert len(warnings) == len(ENGAGEMENT_IDENTITY_IDS)
    assert all(f"{STREAM}[identity" in w and COMPANY_PAGE_URLS[0] in w for w in warnings)
