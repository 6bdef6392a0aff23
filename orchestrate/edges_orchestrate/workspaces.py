"""The Edges workspaces of orchestrate/workspaces.yml, and the Meltano extractors made of them.

Each workspace becomes a Meltano extractor ``tap-edges--<name>`` that inherits from ``tap-edges``
(its venv and settings) and sets every workspace setting itself, so nothing of one workspace's
config reaches another: its own key (``$<api_key_env>``), inputs and budget, its own state ID
and its own schema (``load_schema``, which target-postgres reads in the ``cluster``
environment). The extractors live in orchestrate/meltano-workspaces.yml (included by
meltano.yml), written by this module::

    python orchestrate/edges_orchestrate/workspaces.py --write   # after editing workspaces.yml
    python orchestrate/edges_orchestrate/workspaces.py --check   # exit 1 when it is stale

Only PyYAML: it runs in the tap's venv (tests) and in the orchestrator's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import typing as t
from pathlib import Path

import yaml

ORCHESTRATE = Path(__file__).resolve().parent.parent
WORKSPACES_FILE = ORCHESTRATE / "workspaces.yml"
MELTANO_FILE = ORCHESTRATE / "meltano-workspaces.yml"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
INPUTS = ("identity_ids", "post_urls", "thread_urls", "company_page_urls", "post_authors")
# What a workspace sync loads with, unless EDGES_MELTANO_ENVIRONMENT and EDGES_LOADER say
# otherwise: declared here once, for the code location, its runner and the cluster's report.
MELTANO_ENVIRONMENT = "cluster"
LOADER = "target-postgres"
HEADER = (
    "# Generated from workspaces.yml by `python orchestrate/edges_orchestrate/workspaces.py "
    "--write`:\n# do not edit (tests/orchestrate/test_orchestrate.py fails when it is stale). "
    "Included by meltano.yml.\n"
)


@dataclasses.dataclass(frozen=True)
class Workspace:
    """One Edges workspace: its key's variable, its inputs, its budget, its schedule."""

    name: str
    api_key_env: str
    identity_ids: tuple[str, ...]
    post_urls: tuple[str, ...] = ()
    thread_urls: tuple[str, ...] = ()
    company_page_urls: tuple[str, ...] = ()
    post_authors: tuple[str, ...] = ()
    discover_threads: bool = True
    discover_posts: bool = True
    runs_requests_per_minute: int = 30
    schedule: str | None = None
    sandbox: bool = False

    @property
    def extractor(self) -> str:
        """Its Meltano extractor."""
        return f"tap-edges--{self.name}"

    @property
    def schema(self) -> str:
        """The warehouse schema its tables load into."""
        return f"edges_{self.name}"

    @property
    def analytics_schema(self) -> str:
        """The warehouse schema its dbt models are built in."""
        return f"analytics_{self.name}"

    @property
    def env_prefix(self) -> str:
        """The prefix of its extractor's own Meltano variables (``TAP_EDGES__ALPHA_``)."""
        return re.sub(r"[^A-Z0-9]", "_", self.extractor.upper()) + "_"

    def state_id(self, environment: str, loader: str) -> str:
        """The state ID ``meltano run <extractor> <loader>`` keeps its state under."""
        return f"{environment}:{self.extractor}-to-{loader}"

    def extractor_definition(self) -> dict[str, t.Any]:
        """Its Meltano extractor: every workspace setting its own, nothing left to inherit."""
        config: dict[str, t.Any] = {
            "api_key": f"${self.api_key_env}",
            **{name: list(getattr(self, name)) for name in INPUTS},
            "discover_threads": self.discover_threads,
            "discover_posts": self.discover_posts,
            "runs_requests_per_minute": self.runs_requests_per_minute,
            "sandbox": self.sandbox,
        }
        if self.sandbox:
            config["sandbox_path"] = (
                f"$MELTANO_PROJECT_ROOT/output/orchestrate/{self.name}-sandbox.json"
            )
            config["sandbox_run_seconds"] = 3
            config["poll_interval_seconds"] = 2
        return {
            "name": self.extractor,
            "inherit_from": "tap-edges",
            "load_schema": self.schema,
            "config": config,
        }


def parse(raw: dict[str, t.Any]) -> Workspace:
    """One workspace from its entry in workspaces.yml, checked.

    Raises:
        ValueError: When the entry is not a valid workspace.
    """
    known = {field.name for field in dataclasses.fields(Workspace)}
    unknown = sorted(set(raw) - known)
    name = str(raw.get("name", ""))
    if unknown:
        msg = f"workspace {name!r}: unknown keys {', '.join(unknown)}"
        raise ValueError(msg)
    if not NAME.match(name):
        msg = f"workspace name {name!r}: lowercase letters, digits and _ only"
        raise ValueError(msg)
    if not ENV_NAME.match(str(raw.get("api_key_env", ""))):
        msg = f"workspace {name}: api_key_env must name an environment variable"
        raise ValueError(msg)
    if not raw.get("identity_ids"):
        msg = f"workspace {name}: at least one identity_ids entry"
        raise ValueError(msg)
    values: dict[str, t.Any] = {
        key: tuple(value) if key in INPUTS else value for key, value in raw.items()
    }
    return Workspace(**values)


def load(path: Path = WORKSPACES_FILE) -> list[Workspace]:
    """Every workspace of a workspaces file, names unique.

    Raises:
        ValueError: When an entry is invalid or two share a name.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    workspaces = [parse(entry) for entry in data.get("workspaces", [])]
    names = [w.name for w in workspaces]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        msg = f"{path}: workspace names used twice: {', '.join(duplicates)}"
        raise ValueError(msg)
    return workspaces


def meltano_file(workspaces: list[Workspace]) -> str:
    """The text of meltano-workspaces.yml for these workspaces."""
    body = {"plugins": {"extractors": [w.extractor_definition() for w in workspaces]}}
    return HEADER + yaml.safe_dump(body, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    """Write or check meltano-workspaces.yml."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write the file")
    action.add_argument("--check", action="store_true", help="exit 1 when it is stale")
    parser.add_argument("--workspaces", type=Path, default=WORKSPACES_FILE)
    parser.add_argument("--output", type=Path, default=MELTANO_FILE)
    args = parser.parse_args(argv)
    text = meltano_file(load(args.workspaces))
    if args.write:
        args.output.write_text(text, encoding="utf-8")
        return 0
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if current != text:
        sys.stderr.write(f"{args.output} is stale: run {__file__} --write\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def sync_target() -> tuple[str, str]:
    """The Meltano environment and the loader of workspace syncs: the environment's, or ours."""
    return (
        os.environ.get("EDGES_MELTANO_ENVIRONMENT") or MELTANO_ENVIRONMENT,
        os.environ.get("EDGES_LOADER") or LOADER,
    )
