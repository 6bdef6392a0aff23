"""The GitHub workflows, Dependabot, pre-commit and the CHANGELOG are valid and safe.

actionlint cannot be installed from a package registry here (its PyPI wrapper downloads the
binary when it is built), so these tests check what it would and what this project promises:
every action pinned by commit SHA, least-privilege permissions, shell that parses, jobs that
exist, and the Python matrix equal to the Pythons the tap supports.
"""

from __future__ import annotations

import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml
from releasekit import ROOT, pyproject_field, supported_pythons

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?P<rest>.*)$")
SHA = re.compile(r"^[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+(\.\d+)*$")
# The only write permissions any job may hold, and where.
WRITES = {("release.yml", "pypi"): {"id-token"}, ("release.yml", "github-release"): {"contents"}}


def load(path: t.Any) -> dict[str, t.Any]:
    data: dict[str, t.Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def triggers(workflow: dict[str, t.Any]) -> dict[str, t.Any]:
    """The `on:` mapping (YAML 1.1 reads the bare key `on` as True)."""
    found = workflow["on"] if "on" in workflow else workflow[True]  # type: ignore[index]
    on: dict[str, t.Any] = found
    return on


def jobs() -> list[tuple[str, str, dict[str, t.Any]]]:
    return [
        (path.name, name, job) for path in WORKFLOWS for name, job in load(path)["jobs"].items()
    ]


def steps() -> list[tuple[str, str, dict[str, t.Any]]]:
    return [(file, name, step) for file, name, job in jobs() for step in job.get("steps", [])]


def test_there_are_a_test_and_a_release_workflow() -> None:
    assert [path.name for path in WORKFLOWS] == ["release.yml", "test.yml"]
    assert set(triggers(load(ROOT / ".github/workflows/test.yml"))) == {"push", "pull_request"}
    assert triggers(load(ROOT / ".github/workflows/release.yml")) == {"push": {"tags": ["v*"]}}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_sha_with_its_version(path: t.Any) -> None:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        used = USES.match(line)
        if used is None:
            continue
        assert SHA.match(used["ref"]), line
        assert VERSION_COMMENT.match(used["rest"]), f"no '# vX.Y.Z' comment: {line}"
        assert pins.setdefault(used["action"], used["ref"]) == used["ref"], line
    assert pins


def test_every_step_uses_a_pinned_action_or_runs_a_command() -> None:
    for file, job, step in steps():
        assert ("uses" in step) != ("run" in step), (file, job, step)
        if "uses" in step:
            assert SHA.match(step["uses"].split("@")[1]), (file, job, step["uses"])


def test_permissions_are_least_privilege() -> None:
    for path in WORKFLOWS:
        assert load(path)["permissions"] == {}, f"{path.name}: deny everything by default"
    for file, name, job in jobs():
        granted = job["permissions"]
        assert isinstance(granted, dict), (file, name)
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes == WRITES.get((file, name), set()), (file, name, granted)
        assert set(granted.values()) <= {"read", "write"}, (file, name)


def test_jobs_are_complete_and_their_needs_exist() -> None:
    for path in WORKFLOWS:
        names = set(load(path)["jobs"])
        for name, job in load(path)["jobs"].items():
            assert job["runs-on"] == "ubuntu-latest", (path.name, name)
            assert job["timeout-minutes"] <= 90, (path.name, name)
            needs = job.get("needs", [])
            assert set([needs] if isinstance(needs, str) else needs) <= names, (path.name, name)


def test_checkouts_keep_no_credentials() -> None:
    for file, job, step in steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, (file, job)


def test_run_blocks_parse_and_take_no_expressions() -> None:
    """Shell that bash can parse, with ``${{ }}`` only in env (no script injection)."""
    runs = [(file, job, step["run"]) for file, job, step in steps() if "run" in step]
    assert runs
    for file, job, script in runs:
        assert "${{" not in script, (file, job, script)
        done = subprocess.run(
            ["bash", "-n"], input=script, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (file, job, done.stderr)
        for used in re.findall(r"(?:scripts|\.ci)/[\w./-]+", script):
            assert (ROOT / used).is_file(), (file, job, used)


def test_the_python_matrix_is_every_supported_python() -> None:
    test = load(ROOT / ".github/workflows/test.yml")
    assert test["jobs"]["tests"]["strategy"]["matrix"]["python-version"] == supported_pythons()


def test_the_release_publishes_with_trusted_publishing_after_the_dist_checks() -> None:
    release = load(ROOT / ".github/workflows/release.yml")["jobs"]
    dist_runs = " ".join(step.get("run", "") for step in release["dist"]["steps"])
    assert "scripts/check_dist.py" in dist_runs
    assert "scripts/release_notes.py" in dist_runs
    (publish,) = [
        s for s in release["pypi"]["steps"] if "gh-action-pypi-publish" in s.get("uses", "")
    ]
    assert "password" not in publish.get("with", {})  # trusted publishing: no stored token
    assert release["pypi"]["environment"]["name"] == "pypi"
    assert release["pypi"]["needs"] == "dist"
    assert release["github-release"]["needs"] == "pypi"
    notes = " ".join(step.get("run", "") for step in release["github-release"]["steps"])
    assert "release_notes.py" in notes
    assert "gh release create" in notes


def test_release_notes_come_from_the_changelog_section_of_the_version() -> None:
    version = pyproject_field("version")
    script = str(ROOT / "scripts" / "release_notes.py")
    done = subprocess.run(
        [sys.executable, script, f"v{version}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "## [" not in done.stdout
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert done.stdout.strip().splitlines()[0] in changelog
    wrong = subprocess.run(
        [sys.executable, script, "v9.9.9"], capture_output=True, text=True, check=False
    )
    assert wrong.returncode == 1
    assert "is not v + the version in pyproject.toml" in wrong.stderr


def test_dependabot_updates_pip_and_actions() -> None:
    config = load(ROOT / ".github" / "dependabot.yml")
    assert config["version"] == 2
    ecosystems = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(ecosystems) == {"pip", "github-actions"}
    for update in ecosystems.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] in {"daily", "weekly"}


def test_pre_commit_runs_what_ci_lints_with() -> None:
    config_path = ROOT / ".pre-commit-config.yaml"
    pre_commit = str(Path(sys.executable).with_name("pre-commit"))
    done = subprocess.run(
        [pre_commit, "validate-config", str(config_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = [hook for repo in load(config_path)["repos"] for hook in repo["hooks"]]
    entries = [hook["entry"].split()[:2] for hook in hooks]
    ci = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for tool, *command in entries:
        name = tool.rsplit("/", 1)[-1]
        assert f".venv/bin/{' '.join([name, *command])}" in ci, (tool, command)
    assert {hook["id"] for hook in hooks} == {"ruff", "ruff-format", "mypy"}
