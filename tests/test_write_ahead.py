"""The write-ahead rule on every send, on the tap as it is assembled (the CLI, from a config).

Each test runs the real ``tap-edges`` against the sandbox while :class:`writeahead.Watch` checks,
at every launch and continue Edges applies, that the last STATE the tap had written named it.
The follow-up sends (decided after an answer, outside the start's batch: a relaunch after a
continue answered 404, a launch sent again without ``name``, a continue after a launch at a
grown cap was refused) are covered, and the tap is killed right after one of each: the next sync
adopts the run instead of paying for another.
"""

from __future__ import annotations

import typing as t

import pytest
from tapkit import THREAD_URLS, TapRun, api_config
from writeahead import Watch, runs_of

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox
from edges_sandbox.variants import NO_NAME

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from edges_sandbox.wire import Request, Response

pytestmark = pytest.mark.slow

IDENTITY = ENGAGEMENT_IDENTITY_IDS[0]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.3) as sb:
        yield sb


def small(sandbox: Sandbox, **overrides: t.Any) -> dict[str, t.Any]:
    """One identity: connections and profile viewers, and the listed threads."""
    settings = {
        "identity_ids": [IDENTITY],
        "post_urls": [],
        "thread_urls": [],
        "company_page_urls": [],
        **overrides,
    }
    return api_config(sandbox, **settings)


def clean(run: TapRun) -> dict[str, t.Any]:
    assert run.returncode == 0, run.stderr
    return run.last_state


def test_a_launch_sent_again_without_name_is_written_first_and_adopted_after_a_kill(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    watch = Watch(sandbox, tmp_path)
    state = clean(watch.run(small(sandbox, thread_urls=THREAD_URLS[:1])))
    sandbox.settings.variants = [NO_NAME]  # Edges starts refusing the name (name-refused)
    config = small(sandbox, thread_urls=THREAD_URLS[:2])  # a new thread: one launch
    killed = watch.run(config, state=state, kill_when=lambda s: s.kind == "launch" and not s.named)
    assert watch.killed, killed.stderr
    assert watch.problems() == []
    new = {"linkedin_thread_url": THREAD_URLS[1]}
    assert len(runs_of(sandbox, "messages", IDENTITY, **new)) == 1

    after = watch.run(config, state=killed.last_state)
    clean(after)
    assert "adopting run" in after.stderr
    assert len(runs_of(sandbox, "messages", IDENTITY, **new)) == 1  # not paid twice
    assert watch.problems() == []


def test_a_relaunch_after_a_continue_answered_404_is_written_first_and_adopted_after_a_kill(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    watch = Watch(sandbox, tmp_path)
    config = small(sandbox)
    state = clean(watch.run(config))
    sandbox.backstage.grow(n=3)

    def purge_listed(request: Request, response: Response) -> None:
        """Edges purges the runs between the tap's look at them and its continues."""
        if request.method == "GET" and request.path == "/v1/runs":
            for uid in request.query.get("uid", []):
                sandbox.backstage.purge_run(uid)

    before = len(watch.sends)
    killed = watch.run(
        config, state=state, also=purge_listed, kill_when=lambda s: s.kind == "launch"
    )
    assert watch.killed, killed.stderr
    assert [s.kind for s in watch.sends[before:]] == ["continue", "launch"]
    assert watch.sends[before].status == 404
    assert watch.problems() == []

    after = watch.run(config, state=killed.last_state)
    clean(after)
    assert "adopting run" in after.stderr
    for stream in ("connections", "profile_viewers"):  # one run each since the purge
        assert len(runs_of(sandbox, stream, IDENTITY)) == 1, stream
    assert watch.problems() == []


def test_a_continue_after_a_grown_cap_was_refused_is_written_first(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    watch = Watch(sandbox, tmp_path)
    config = small(sandbox, max_results=3)
    state = clean(watch.run(config))
    sandbox.backstage.grow(n=10)
    state = clean(watch.run(config, state=state))  # a full continued batch: the cap grows
    assert "edges_grown_max_results" in str(state)
    sandbox.settings.max_results_limit = 3  # Edges refuses the grown cap (grown-cap-refused)
    sandbox.backstage.grow(n=2)
    before = len(watch.sends)
    killed = watch.run(
        config, state=state, kill_when=lambda s: s.kind == "continue" and s.status < 300
    )
    assert watch.killed, killed.stderr
    sent = [(s.kind, s.status) for s in watch.sends[before:]]
    assert sent == [("launch", 400), ("continue", 200)], sent
    assert watch.problems() == []
    runs = {s: runs_of(sandbox, s, IDENTITY) for s in ("connections", "profile_viewers")}

    after = watch.run(config, state=killed.last_state)
    clean(after)
    assert {s: runs_of(sandbox, s, IDENTITY) for s in runs} == runs  # no run launched
    assert watch.problems() == []
