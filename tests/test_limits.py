"""The size limits of ../shared/design.md, for the tap and its sandbox alike: no module over
350 lines, no class over 15 methods or 250 lines (import circles: test_imports.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import edges_sandbox
import tap_edges

MODULE_LINES = 350
CLASS_LINES = 250
CLASS_METHODS = 15
PACKAGES = [Path(str(p.__file__)).parent for p in (tap_edges, edges_sandbox)]


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in package.rglob("*.py"))


def named(path: Path) -> str:
    return str(path.relative_to(PACKAGES[0].parent))


def test_every_package_has_modules() -> None:
    assert {path.parent.name for path in modules()} >= {"tap_edges", "edges_sandbox", "runs"}


@pytest.mark.parametrize("path", modules(), ids=named)
def test_the_module_and_its_classes_stay_within_the_limits(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MODULE_LINES
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        assert node.end_lineno is not None
        assert node.end_lineno - node.lineno + 1 <= CLASS_LINES, node.name
        methods = [b for b in node.body if isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef)]
        assert len(methods) <= CLASS_METHODS, node.name
