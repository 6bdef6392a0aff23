"""Print the release notes of a version tag: its section of CHANGELOG.md.

    python3 scripts/release_notes.py v0.1.0 > notes.md

Exits 1, saying why, when the tag is not ``v`` + the version in pyproject.toml or when
CHANGELOG.md has no non-empty ``## [<version>]`` section: the release workflow runs this
before it builds anything. Standard library only (it runs on the runner's own Python).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\]", re.MULTILINE)


def project_version() -> str:
    """The version in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        sys.exit("pyproject.toml has no version")
    return found.group(1)


def section(changelog: str, version: str) -> str:
    """The body of one version's section (without its heading), or an empty string."""
    headings = list(HEADING.finditer(changelog))
    for index, heading in enumerate(headings):
        if heading.group("version") == version:
            end = headings[index + 1].start() if index + 1 < len(headings) else len(changelog)
            body = changelog[heading.end() : end].split("\n", 1)[-1]
            return re.sub(r"\n\[[^\]]+\]: \S+", "", body).strip()  # minus link definitions
    return ""


def main() -> None:
    """Check the tag and print its notes."""
    if len(sys.argv) != 2:  # noqa: PLR2004
        sys.exit(__doc__)
    tag, version = sys.argv[1], project_version()
    if tag != f"v{version}":
        sys.exit(f"tag {tag!r} is not v + the version in pyproject.toml ({version})")
    notes = section((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), version)
    if not notes:
        sys.exit(f"CHANGELOG.md has no notes under '## [{version}]'")
    print(notes)


if __name__ == "__main__":
    main()
