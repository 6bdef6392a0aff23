"""The boundary between the tap and its sandbox: two packages, one way from the tap in.

``edges_sandbox`` emulates the API the tap calls, so it shares none of the tap's code (nor its
mistakes): it imports nothing from ``tap_edges``. ``tap_edges`` imports ``edges_sandbox`` only
inside the functions that ``sandbox: true`` runs (``tap.py`` starts it, ``settings.py`` takes its
identities as the default), so a sync against the real API never loads it.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

import edges_sandbox
import tap_edges

if t.TYPE_CHECKING:
    from types import ModuleType

IMPORTERS = {"import_module", "__import__"}  # importlib.import_module("x"), __import__("x")


class Found(t.NamedTuple):
    """One import in a module's source."""

    file: str  # relative to the package's parent folder
    line: int
    module: str  # absolute
    names: tuple[str, ...]  # what ``from module import ...`` takes; () for ``import module``
    function: str | None  # the innermost enclosing function, None at module level


class _Imports(ast.NodeVisitor):
    """Every import of one module, relative ones made absolute, with its enclosing function."""

    def __init__(self, file: str, package: str) -> None:
        self.file, self.package = file, package
        self.functions: list[str] = []
        self.found: list[Found] = []

    def _add(self, node: ast.AST, module: str, names: tuple[str, ...] = ()) -> None:
        function = self.functions[-1] if self.functions else None
        self.found.append(Found(self.file, getattr(node, "lineno", 0), module, names, function))

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = _visit_function  # noqa: N815 (ast.NodeVisitor's naming)
    visit_AsyncFunctionDef = _visit_function  # noqa: N815

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        relative = "." * node.level + (node.module or "")
        module = importlib.util.resolve_name(relative, self.package)
        self._add(node, module, tuple(alias.name for alias in node.names))

    def visit_Call(self, node: ast.Call) -> None:
        called = node.func.attr if isinstance(node.func, ast.Attribute) else None
        called = node.func.id if isinstance(node.func, ast.Name) else called
        first = node.args[0] if node.args else None
        if called in IMPORTERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            self._add(node, first.value)
        self.generic_visit(node)


def imports_of(package: ModuleType) -> list[Found]:
    """Every import in every module of a package (read, not run)."""
    root = Path(str(package.__file__)).parent
    found: list[Found] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        parts = relative.with_suffix("").parts
        # The package a module's relative imports start from: its own folder's.
        visitor = _Imports(relative.as_posix(), ".".join(parts[:-1]))
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(visitor.found)
    return found


def of_package(found: list[Found], name: str) -> list[Found]:
    return [f for f in found if f.module == name or f.module.startswith(f"{name}.")]


def test_the_import_finder_sees_what_the_packages_import() -> None:
    """The finder itself works: it sees the sandbox's own imports and the tap's known ones."""
    sandbox_own = of_package(imports_of(edges_sandbox), "edges_sandbox")
    assert any(f.file == "edges_sandbox/__init__.py" for f in sandbox_own)
    tap_own = of_package(imports_of(tap_edges), "tap_edges")
    assert any(f.file == "tap_edges/tap.py" and f.function is None for f in tap_own)


def test_the_sandbox_imports_nothing_from_the_tap() -> None:
    assert of_package(imports_of(edges_sandbox), "tap_edges") == []


def test_the_tap_imports_the_sandbox_only_where_sandbox_true_starts_it() -> None:
    found = of_package(imports_of(tap_edges), "edges_sandbox")
    assert found, "api/opening.py starts the sandbox when `sandbox: true`"
    for one in found:
        assert one.file in {"tap_edges/api/opening.py", "tap_edges/settings.py"}, one
        assert one.function is not None, f"not lazily, in the function that needs it: {one}"
        assert one.module == "edges_sandbox", f"the package's public names only: {one}"
    assert {name for one in found for name in one.names} == {"Sandbox", "ENGAGEMENT_IDENTITY_IDS"}


LOADED = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, sys.argv[1] + "."):
    importlib.import_module(module.name)
print(sorted(name for name in sys.modules if name.split(".")[0] == sys.argv[2]))
"""


@pytest.mark.parametrize(
    ("package", "other"), [("edges_sandbox", "tap_edges"), ("tap_edges", "edges_sandbox")]
)
def test_importing_one_package_loads_nothing_of_the_other(package: str, other: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, package, other],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
