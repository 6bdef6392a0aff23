"""Get the code location ready: the workspaces' extractors in step, transform/'s manifest parsed.

``python -m edges_orchestrate.prepare`` (./scripts/orchestrate runs it): the Dagster
definitions are made of the dbt manifest, so it must exist before they load. ``dbt parse``
connects to nothing; the profile's connection variables only need a value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edges_orchestrate.workspaces import MELTANO_FILE, WORKSPACES_FILE, load, meltano_file

ORCHESTRATE = Path(__file__).resolve().parent.parent
ROOT = ORCHESTRATE.parent
TRANSFORM = ROOT / "transform"
DBT_TARGET_PATH = ORCHESTRATE / ".dbt" / "target"
MELTANO_DBT = ROOT / ".meltano" / "utilities" / "dbt-postgres" / "venv" / "bin" / "dbt"


def parse_manifest() -> Path:
    """``dbt parse`` transform/ (target postgres) into orchestrate/.dbt/target."""
    executable = os.environ.get("EDGES_DBT_EXECUTABLE") or str(MELTANO_DBT)
    env = {"TARGET_POSTGRES_USER": "parse", "TARGET_POSTGRES_DATABASE": "parse", **os.environ}
    subprocess.run(
        [
            executable,
            "parse",
            "--project-dir",
            str(TRANSFORM),
            "--profiles-dir",
            str(TRANSFORM / "profiles"),
            "--target",
            "postgres",
            "--target-path",
            str(DBT_TARGET_PATH),
            "--log-path",
            str(DBT_TARGET_PATH.parent / "logs"),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return DBT_TARGET_PATH / "manifest.json"


def main() -> int:
    """Check the generated extractors, parse the dbt project."""
    if MELTANO_FILE.read_text(encoding="utf-8") != meltano_file(load(WORKSPACES_FILE)):
        sys.stderr.write(
            f"{MELTANO_FILE} is stale: python orchestrate/edges_orchestrate/workspaces.py --write\n"
        )
        return 1
    parse_manifest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
