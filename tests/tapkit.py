"""Helpers shared by the tap's tests: run the real CLI, read its Singer output."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import sys
import typing as t
from pathlib import Path

from forktap import run_tap_command

from tap_edges.actions import ACTIONS

if t.TYPE_CHECKING:
    from edges_sandbox import Sandbox

TAP = str(Path(sys.executable).with_name("tap-edges"))
POST_URLS = [
    "https://www.linkedin.com/posts/edges-run_launch-activity-7200000000000000001-abcd",
    "https://www.linkedin.com/feed/update/urn:li:activity:7200000000000000002",
]
THREAD_URLS = [
    "https://www.linkedin.com/messaging/thread/2-YWxpY2UtYm9iLXRocmVhZA==/",
    "https://www.linkedin.com/messaging/thread/2-Y2Fyb2wtZGF2ZS10aHJlYWQ==/",
]
COMPANY_PAGE_URLS = [
    "https://www.linkedin.com/company/edges-run/",
    "https://www.linkedin.com/company/globex-corporation/",
]
# Where run_tap has the tap write its stdout as it runs, in its working folder (writeahead.py
# reads it while the tap runs).
STDOUT = "tap-stdout.jsonl"
# The Edges action of each stream (its runs' action_name in the sandbox ground truth).
ACTION_OF_STREAM = {spec.stream: spec.action for spec in ACTIONS}


def api_config(sandbox: Sandbox, **overrides: t.Any) -> dict[str, t.Any]:
    """A tap config pointing at a running sandbox, fast enough for tests."""
    from edges_sandbox import ENGAGEMENT_IDENTITY_IDS  # noqa: PLC0415

    config: dict[str, t.Any] = {
        "api_url": sandbox.base_url,
        "api_key": sandbox.api_key,
        "identity_ids": list(ENGAGEMENT_IDENTITY_IDS),
        "post_urls": POST_URLS,
        "thread_urls": THREAD_URLS,
        "company_page_urls": COMPANY_PAGE_URLS,
        "max_results": 100,
        "poll_interval_seconds": 1,
        "runs_requests_per_minute": 6000,
        # The listings have tests of their own (test_discovery.py): here the partitions are
        # the listed inputs only, so each test counts its runs and requests exactly.
        "discover_threads": False,
        "discover_posts": False,
    }
    config.update(overrides)
    return config


@dataclasses.dataclass
class TapRun:
    """What one tap invocation printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[dict[str, t.Any]]:
        """Every Singer message, in order."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        """The RECORD payloads, of one stream or of all."""
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    @property
    def states(self) -> list[dict[str, t.Any]]:
        """Every STATE value, in order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, t.Any]:
        """The last STATE value (what Meltano would store)."""
        return self.states[-1]


def run_tap(  # noqa: PLR0913
    config: dict[str, t.Any],
    workdir: Path,
    *,
    state: dict[str, t.Any] | None = None,
    args: t.Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> TapRun:
    """Run the installed ``tap-edges`` command with a config (and state) and capture it."""
    command = [TAP, *tap_args(config, workdir, state=state), *args]
    environ = {**os.environ, **(env or {})}
    try:
        code, stdout, stderr = run_tap_command(command, workdir, environ, timeout, workdir / STDOUT)
    finally:  # read while the tap runs only: another process started here writes elsewhere
        (workdir / STDOUT).unlink(missing_ok=True)
    return TapRun(code, stdout, stderr)


def tap_args(
    config: dict[str, t.Any], workdir: Path, *, state: dict[str, t.Any] | None = None
) -> list[str]:
    """Write config (and state) files and return the CLI arguments naming them."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    arguments = ["--config", str(config_path)]
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(json.dumps(state), encoding="utf-8")
        arguments += ["--state", str(state_path)]
    return arguments


def partitions_of(state: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Every partition bookmark of every stream in a Singer state."""
    return [
        partition
        for stream in state.get("bookmarks", {}).values()
        for partition in stream.get("partitions", [])
    ]


def canonical(
    items: t.Iterable[dict[str, t.Any]], fields: t.Iterable[str] | None = None
) -> list[str]:
    """Items as sorted JSON strings (optionally only some fields), for exact comparison."""
    keep = None if fields is None else set(fields)
    return sorted(
        json.dumps({k: v for k, v in item.items() if keep is None or k in keep}, sort_keys=True)
        for item in items
    )


def expected_items(
    sandbox: Sandbox, stream: str, iteration: int | None = None
) -> list[dict[str, t.Any]]:
    """Items the sandbox delivered to the runs of one stream (one iteration, or all)."""
    action = ACTION_OF_STREAM[stream]
    items: list[dict[str, t.Any]] = []
    for run in sandbox.backstage.runs():
        if run["action_name"] != action:
            continue
        for it in sandbox.backstage.ground_truth(run["uid"]):
            if iteration is None or it["index"] == iteration:
                items.extend(it["delivered"])
    return items


def item_view(records: t.Iterable[dict[str, t.Any]], items: list[dict[str, t.Any]]) -> list[str]:
    """Records cut down to the fields the API items have, canonicalised."""
    fields = {k for item in items for k in item}
    return canonical(records, fields)


def sends(sandbox: Sandbox) -> dict[str, collections.Counter[str]]:
    """The launches and continues the sandbox logged (since its log was cleared), by action."""
    actions = {uid: run.action_name for uid, run in sandbox.engine.runs.items()}
    found: dict[str, collections.Counter[str]] = {
        "launch": collections.Counter(),
        "continue": collections.Counter(),
    }
    for entry in sandbox.requests.entries():
        path = entry["path"]
        if entry["method"] == "POST" and path.endswith("/run/async"):
            found["launch"][path.split("/")[-3]] += 1
        elif entry["method"] == "POST" and path.endswith("/continue"):
            found["continue"][actions[path.split("/")[-2]]] += 1
    return found


def request_count(sandbox: Sandbox, method: str, suffix: str) -> int:
    """How many requests the sandbox logged with this method and a path ending so."""
    return sum(
        1
        for entry in sandbox.requests.entries()
        if entry["method"] == method and entry["path"].endswith(suffix)
    )


# The three layouts Edges may use for a continued run's outputs (the docs do not say).
OUTPUTS_MODES = ("cumulative", "cumulative-newest", "latest")
