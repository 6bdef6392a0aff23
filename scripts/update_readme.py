"""Regenerate the README's settings table from ``tap-edges --about --format=markdown``.

Usage: ``.venv/bin/python scripts/update_readme.py`` (``--check`` exits 1 when stale).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def settings_section() -> str:
    """The Settings table of the tap's ``--about`` markdown, without its heading."""
    tap = str(Path(sys.executable).with_name("tap-edges"))
    about = subprocess.run(
        [tap, "--about", "--format=markdown"], capture_output=True, text=True, check=True
    ).stdout
    table = about.split("## Settings", 1)[1].strip()
    note = "Generated from `tap-edges --about --format=markdown` by `scripts/update_readme.py`."
    return f"{START}\n{note}\n\n{table}\n{END}"


def updated(readme: str) -> str:
    """The README text with a fresh settings section."""
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1]
    return head + settings_section() + tail


def main() -> int:
    """Rewrite the README, or with ``--check`` report whether it is current."""
    current = README.read_text(encoding="utf-8")
    fresh = updated(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README settings are stale: run scripts/update_readme.py")
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
