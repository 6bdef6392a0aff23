"""Get the code location ready: extractors in step, dbt manifest parsed, the tap's catalog.

The workspaces' extractors must match workspaces.yml, transform/'s manifest is parsed and the
tap's catalog discovered.

``python -m edges_orchestrate.prepare`` (./scripts/orchestrate runs it): the Dagster
definitions are made of the dbt manifest, so it must exist before they load. ``dbt parse``
connects to nothing; the profile's connection variables only need a value.

The tap's catalog (its streams and schemas, the same whatever the config) is discovered once
here, into orchestrate/.catalog/tap-edges.json, and every workspace's sync hands it to Meltano
(the extractor's ``catalog`` extra, definitions.py), which applies its selection to it: no
discovery per sync (Meltano caches no catalog of an editable tap, and tap-edges is installed
editable). Each setup discovers it again, so it follows the installed tap.
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
TAP = ROOT / ".meltano" / "extractors" / "tap-edges" / "venv" / "bin" / "tap-edges"
CATALOG = ORCHESTRATE / ".catalog" / "tap-edges.json"


def discover_catalog() -> Path | None:
    """``tap-edges --discover`` into orchestrate/.catalog (none where the tap is not installed)."""
    CATALOG.unlink(missing_ok=True)
    if not TAP.exists():
        return None
    done = subprocess.run([str(TAP), "--discover"], capture_output=True, check=True)
    CATALOG.parent.mkdir(exist_ok=True)
    partial = CATALOG.with_suffix(".partial")
    partial.write_bytes(done.stdout)
    partial.replace(CATALOG)
    return CATALOG


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
    discover_catalog()
    return 0


if __name__ == "__main__":
    sys.exit(main())
