"""Facts about the package shared by the install and workflow tests."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tapkit import TAP

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def pyproject_field(name: str) -> str:
    """A top-level string field of [project] (no tomllib: the tests run on Python 3.10 too)."""
    found = re.search(rf'^{name} = "([^"]+)"', PYPROJECT, re.MULTILINE)
    assert found is not None, name
    return found.group(1)


def supported_pythons() -> list[str]:
    """The Python versions ``tap-edges --about`` says the tap supports."""
    done = subprocess.run(
        [TAP, "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    versions: list[str] = json.loads(done.stdout)["supported_python_versions"]
    return versions
