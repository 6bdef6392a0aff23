"""Every setting of the tap from ``TAP_EDGES_*`` variables: the bare tap and Meltano.

Environment variables are how production configures a tap (containers, CI secrets,
orchestrators), so each setting is set through one here, and the tap must report the value it
saw (its ``Settings in effect`` log line, secrets redacted) and act on it (the sandbox records
what the runs were launched with).
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t

import pytest
import yaml
from meltanokit import ROOT, install_plugins, meltano, system_dir
from tapkit import COMPANY_PAGE_URLS, POST_URLS, TAP, THREAD_URLS

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, Sandbox
from tap_edges.settings import CONFIG_SCHEMA, REDACTED, SETTING_NAMES

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PREFIX = "TAP_EDGES_"
MARK = "Settings in effect: "
CALLBACK = "https://hooks.example.com/edges"
AUTHOR = "https://www.linkedin.com/in/ada-lovelace"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=0.3) as sb:
        yield sb


def expected_settings(sandbox: Sandbox, workdir: Path) -> dict[str, t.Any]:
    """A value for every setting of the tap, none of them its default."""
    return {
        "api_key": sandbox.api_key,
        "api_url": sandbox.base_url,
        "identity_ids": [ENGAGEMENT_IDENTITY_IDS[0]],
        "post_urls": POST_URLS[:1],
        "post_authors": [AUTHOR],
        "discover_posts": True,
        "post_window_days": 12,
        "follow_reshares": True,
        "thread_urls": THREAD_URLS[:1],
        "discover_threads": False,
        "thread_lookback_days": 9,
        "company_page_urls": COMPANY_PAGE_URLS[:1],
        "max_results": 37,
        "max_results_per_stream": {"connections": 41},
        "adaptive_max_results": False,
        "max_results_ceiling": 777,
        "poll_interval_seconds": 1,
        "run_timeout_seconds": 123,
        "runs_requests_per_minute": 5999,
        "callback_url": CALLBACK,
        "sandbox": False,
        "sandbox_path": str(workdir / "unused-world.json"),
        "sandbox_run_seconds": 2,
        "sandbox_outputs_mode": "latest",
        "sandbox_variants": ["queue", "refuse_offset"],
        "sandbox_growth_per_minute": 7,
    }


def as_variables(settings: dict[str, t.Any]) -> dict[str, str]:
    """The settings as a user exports them: JSON for arrays and objects, words for booleans."""

    def text(value: t.Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        return value if isinstance(value, str) else json.dumps(value)

    return {PREFIX + name.upper(): text(value) for name, value in settings.items()}


def clean_environ() -> dict[str, str]:
    """This process's environment without any tap-edges or Meltano setting of its own."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith((PREFIX, "MELTANO_", "TARGET_"))
    }


def logged_settings(output: str) -> dict[str, t.Any]:
    """The settings the tap says it sees, from its ``Settings in effect`` log line."""
    (line,) = [line for line in output.splitlines() if MARK in line]
    logged, _ = json.JSONDecoder().raw_decode(line.split(MARK, 1)[1])
    settings: dict[str, t.Any] = logged
    return settings


def check_runs(sandbox: Sandbox, settings: dict[str, t.Any]) -> None:
    """The runs were launched for the configured identity and inputs, cap and callback."""
    runs = sandbox.backstage.runs()
    # One identity x (connections, viewers, 1 thread, 1 post x 3, 1 page), the author's post
    # listing, and the 3 posts of the author's within 12 days (1, 4 and 9 days old: the last a
    # reshare, followed too) x 3 post streams; no conversations listing (discover_threads off).
    assert len(runs) == 7 + 1 + 3 * 3
    (identity,) = settings["identity_ids"]
    caps = {"linkedin-extract-connections": 41, "linkedin-extract-people-post-activity": 20}
    for run in runs:
        assert run["callback"] == {"url": CALLBACK}
        assert run["parameters"]["max_results"] == caps.get(run["action_name"], 37)
        assert identity in run["name"]  # the tap names each run after its partition


def test_the_env_test_covers_every_setting(sandbox: Sandbox, tmp_path: Path) -> None:
    """A new setting must be added to the values above (so it is tested from the env too)."""
    assert list(expected_settings(sandbox, tmp_path)) == list(SETTING_NAMES)


def test_no_setting_is_a_decimal() -> None:
    """Meltano 4.4 cannot pass a `decimal` setting from the environment: none may be one."""
    for name in SETTING_NAMES:
        assert "number" not in CONFIG_SCHEMA["properties"][name]["type"], name
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    kinds = {
        setting["name"]: setting["kind"]
        for plugin in project["plugins"]["extractors"]
        for setting in plugin["settings"]
    }
    assert "decimal" not in kinds.values(), kinds


def run_tap_from_env(workdir: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The bare tap with ``--config ENV``: its settings from these variables only."""
    return subprocess.run(
        [TAP, "--config", "ENV"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=workdir,
        env={**clean_environ(), **variables},
    )


def test_bare_tap_takes_every_setting_from_the_environment(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = expected_settings(sandbox, tmp_path)
    done = run_tap_from_env(tmp_path, as_variables(settings))
    assert done.returncode == 0, done.stderr[-3000:]
    assert logged_settings(done.stderr) == {**settings, "api_key": REDACTED}
    assert sandbox.api_key not in done.stdout + done.stderr
    check_runs(sandbox, settings)
    assert '"type":"RECORD"' in done.stdout.replace(" ", "")


def test_sandbox_settings_from_the_environment_act(tmp_path: Path) -> None:
    world = tmp_path / "world" / "edges.json"
    variables = {
        "TAP_EDGES_SANDBOX": "true",
        "TAP_EDGES_SANDBOX_PATH": str(world),
        "TAP_EDGES_SANDBOX_RUN_SECONDS": "1",
        "TAP_EDGES_SANDBOX_GROWTH_PER_MINUTE": "0",
        "TAP_EDGES_POLL_INTERVAL_SECONDS": "1",
        "TAP_EDGES_RUNS_REQUESTS_PER_MINUTE": "6000",
    }
    done = run_tap_from_env(tmp_path, variables)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = logged_settings(done.stderr)
    assert seen["sandbox_run_seconds"] == 1
    assert seen["sandbox_growth_per_minute"] == 0
    # the world the tap kept, where the variable said
    runs = Sandbox(state_file=world).backstage.runs()
    # both sandbox identities x (connections, profile viewers, the conversations listing, the
    # 6 threads of the inbox active within 30 days, the listing of the identity's own posts,
    # the 3 of them within 30 days x 3 post streams)
    assert len(runs) == 2 * (3 + 6 + 1 + 3 * 3)


@pytest.fixture(scope="module")
def meltano_jsonl(session_dir: Path) -> None:
    install_plugins(session_dir, "tap-edges", "target-jsonl")


def meltano_env(workdir: Path, settings: dict[str, t.Any]) -> dict[str, str]:
    """The `prod` environment, with every tap setting from a variable and output in workdir."""
    return {
        **clean_environ(),
        "MELTANO_SYS_DIR_ROOT": str(system_dir(workdir)),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TARGET_JSONL_DESTINATION_PATH": str(workdir / "out"),
        **as_variables(settings),
    }


@pytest.mark.e2e
def test_meltano_takes_every_setting_from_the_environment(
    meltano_jsonl: None, sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = expected_settings(sandbox, tmp_path)
    env = meltano_env(tmp_path, settings)
    listed = meltano(["config", "list", "--all", "tap-edges"], env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    for name, value in settings.items():
        variable = PREFIX + name.upper()
        (line,) = [x for x in listed.stdout.splitlines() if x.split(" ", 1)[0] == name]
        assert f"(from the {variable} variable in the environment)" in line, line
        shown = "(redacted)" if name == "api_key" else repr(value)
        assert f"current value: {shown} (from" in line, line
    assert sandbox.api_key not in listed.stdout + listed.stderr

    (tmp_path / "out").mkdir()
    done = meltano(["run", "tap-edges", "target-jsonl"], env)
    assert done.returncode == 0, done.stderr[-6000:]
    assert logged_settings(done.stdout + done.stderr) == {**settings, "api_key": REDACTED}
    assert sandbox.api_key not in done.stdout + done.stderr
    check_runs(sandbox, settings)
    connections = (tmp_path / "out" / "connections.jsonl").read_text(encoding="utf-8")
    assert connections.strip()


def test_plugins_installed_from_this_meltano_yml_are_not_installed_again(
    meltano_jsonl: None, tmp_path: Path
) -> None:
    """scripts/setup-meltano leaves a plugin it installed from the same meltano.yml and
    pyproject.toml as it is (the test fixtures ask for plugins scripts/test just installed), and
    installs it again once either file changed."""
    check = [str(ROOT / "scripts" / "setup-meltano"), "--check", "tap-edges", "target-jsonl"]
    done = subprocess.run(check, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date: tap-edges target-jsonl" in done.stdout

    # The same installs, seen from a project whose meltano.yml differs by one comment.
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "setup-meltano").symlink_to(ROOT / "scripts" / "setup-meltano")
    for shared in (".meltano", ".venv-meltano", "pyproject.toml"):
        (tmp_path / shared).symlink_to(ROOT / shared)
    project = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    (tmp_path / "meltano.yml").write_text(project + "# changed\n", encoding="utf-8")
    check[0] = str(tmp_path / "scripts" / "setup-meltano")
    done = subprocess.run(check, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not up to date: tap-edges target-jsonl" in done.stdout
