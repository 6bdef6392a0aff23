"""The tap's modules import one another without a cycle, counting every import statement.

Imports under ``TYPE_CHECKING`` and imports inside functions count too: a cycle among them is
still two modules that each need the other.
"""

from __future__ import annotations

import ast
import graphlib
import textwrap
from pathlib import Path

import pytest

import tap_edges

PACKAGE = Path(tap_edges.__file__).parent


def module_names() -> dict[str, Path]:
    """Every module of the package (packages by their ``__init__``), by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(source: str, module: str, *, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that a module's source imports, wherever the statement is."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import submodule` depends on the submodule, else on the module.
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return found & known - {module}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    known = set(modules)
    return {
        name: imports(
            path.read_text(encoding="utf-8"),
            name,
            is_package=path.name == "__init__.py",
            known=known,
        )
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph (its first node repeated at the end), or nothing."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_the_modules_import_one_another_without_a_cycle() -> None:
    graph = import_graph()
    assert graph["tap_edges.tap"] >= {"tap_edges.streams", "tap_edges.settings"}  # not vacuous
    cycle = find_cycle(graph)
    assert not cycle, f"import cycle: {' -> '.join(reversed(cycle))}"


def test_streams_depend_on_settings_not_on_the_tap() -> None:
    graph = import_graph()
    assert "tap_edges.settings" in graph["tap_edges.streams"]
    assert "tap_edges.tap" not in graph["tap_edges.streams"]


def test_type_checking_lazy_and_relative_imports_count() -> None:
    source = textwrap.dedent(
        """
        import typing as t
        from . import b
        if t.TYPE_CHECKING:
            from p.c import Thing
        def f():
            from .d import g
        """
    )
    known = {"p", "p.a", "p.b", "p.c", "p.d"}
    assert imports(source, "p.a", is_package=False, known=known) == {"p.b", "p.c", "p.d"}
    assert find_cycle({"p.a": {"p.c"}, "p.c": {"p.b"}, "p.b": {"p.a"}, "p.d": set()})
    assert not find_cycle({"p.a": {"p.c", "p.b"}, "p.c": {"p.b"}})


# What each package may not import (the layout of design.md): the API client knows nothing of
# Singer or the lifecycle; the batch reader knows nothing of the runs' registry; the lifecycle's
# decisions are pure.
FORBIDDEN = {
    "tap_edges.api": ("tap_edges.runs", "tap_edges.batches", "tap_edges.lifecycle",
                      "tap_edges.state", "tap_edges.streams", "tap_edges.tap", "tap_edges.sdk"),
    "tap_edges.batches": ("tap_edges.runs", "tap_edges.lifecycle", "tap_edges.state",
                          "tap_edges.streams", "tap_edges.tap", "tap_edges.sdk"),
    "tap_edges.lifecycle": ("tap_edges.runs", "tap_edges.batches", "tap_edges.api",
                            "tap_edges.streams", "tap_edges.tap", "tap_edges.sdk"),
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_package_imports_only_what_lies_below_it(package: str) -> None:
    graph = import_graph()
    members = [m for m in graph if m == package or m.startswith(f"{package}.")]
    assert len(members) > 1  # not vacuous
    wrong = {
        f"{module} -> {target}"
        for module in members
        for target in graph[module]
        if any(target == f or target.startswith(f"{f}.") for f in FORBIDDEN[package])
    }
    assert not wrong, sorted(wrong)
