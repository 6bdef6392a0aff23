"""The forked tap runs of the test kit (tests/forktap.py) are the runs a process would make.

Most tests run the tap through ``tapkit.run_tap``, which forks it from a zygote that imported
it once. These tests hold that shortcut to the behaviour of a plain ``tap-edges`` process:
same records, state and exit status, the environment and working folder of the request, the
error of a failing run on stderr, and a run past its timeout killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t

import pytest
from forktap import run_tap_command, zygote
from tapkit import TAP, TapRun, api_config, run_tap, tap_args

from edges_sandbox import Sandbox

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.3) as sb:
        yield sb


def plain_process(config: dict[str, t.Any], workdir: Path) -> TapRun:
    done = subprocess.run(
        [TAP, *tap_args(config, workdir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=workdir,
    )
    return TapRun(done.returncode, done.stdout, done.stderr)


def shape(run: TapRun) -> dict[str, tuple[int, list[str]]]:
    """Per stream: how many records, and their fields (the runs' uids and times differ)."""
    streams = {r["stream"] for r in map(json.loads, run.stdout.splitlines()) if "stream" in r}
    return {
        s: (len(run.records(s)), sorted({k for r in run.records(s) for k in r})) for s in streams
    }


def test_a_forked_run_loads_what_a_process_loads(sandbox: Sandbox, tmp_path: Path) -> None:
    assert zygote() is not None  # the runs below are forked
    config = api_config(sandbox, thread_urls=[], company_page_urls=[])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    forked = run_tap(config, tmp_path / "a")
    plain = plain_process(config, tmp_path / "b")
    assert forked.returncode == plain.returncode == 0, forked.stderr
    assert forked.records()
    assert shape(forked) == shape(plain)  # the same world, read by two new runs
    assert [m["type"] for m in map(json.loads, forked.stdout.splitlines())] == [
        m["type"] for m in map(json.loads, plain.stdout.splitlines())
    ]
    assert forked.stderr.count("\n") > 3


def test_a_forked_run_has_the_environment_and_folder_it_was_given(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = api_config(sandbox, thread_urls=[], post_urls=[], company_page_urls=[])
    debug = run_tap(config, tmp_path, env={"LOGLEVEL": "DEBUG"})
    quiet = run_tap(config, tmp_path)
    assert " DEBUG " in debug.stderr or "DEBUG" in debug.stderr.split("\n")[0]
    assert "DEBUG" not in quiet.stderr
    args = tap_args(config, tmp_path)
    env = {**os.environ, "TAP_EDGES_SANDBOX_OUTPUTS_MODE": "latest"}
    code, _, _ = run_tap_command([TAP, *args, "--about"], tmp_path, env, timeout=60)
    assert code == 0
    assert "TAP_EDGES_SANDBOX_OUTPUTS_MODE" not in os.environ  # the worker's own is untouched


def test_a_failing_forked_run_exits_1_with_its_error(tmp_path: Path) -> None:
    run = run_tap({"identity_ids": "not a list", "api_key": "k"}, tmp_path)
    assert run.returncode == 1
    assert "identity_ids" in run.stderr
    assert run.stdout == ""


def test_a_forked_run_past_its_timeout_is_killed(sandbox: Sandbox, tmp_path: Path) -> None:
    config = api_config(sandbox, run_timeout_seconds=600)
    sandbox.settings.run_seconds = 120  # the runs take far longer than the test waits
    with pytest.raises(subprocess.TimeoutExpired):
        run_tap(config, tmp_path, timeout=3)
    after = run_tap({"identity_ids": "not a list", "api_key": "k"}, tmp_path)
    assert after.returncode == 1  # the zygote serves the next run
