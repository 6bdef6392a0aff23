"""The README is kept in step with the code by tests, not by memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tap_edges.actions import ACTIONS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_table_is_generated_from_about() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_stream_is_documented_with_its_keys() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in README.splitlines() if "| `" in line}
    for spec in ACTIONS:
        row = rows[spec.stream]
        assert f"`{spec.action}`" in row
        for key in spec.primary_keys:
            assert f"`{key}`" in row, (spec.stream, key)


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["./scripts/demo", "./scripts/test"]
    for command in commands:
        assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"
