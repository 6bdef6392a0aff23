"""The sandbox keeps within the core's limits (design.md, section 2), measured on its source.

No module over 350 lines, no class over 15 methods or 250 lines, and no import circle among its
modules: imports under ``TYPE_CHECKING`` and inside functions count (a circle among them is still
two modules that each need the other). A property's getter and setter are two methods.
"""

from __future__ import annotations

import ast
import textwrap
import typing as t
from pathlib import Path

import pytest
from test_imports import find_cycle, imports

import edges_sandbox

PACKAGE = Path(edges_sandbox.__file__).parent
MODULE_LINES = 350
CLASS_METHODS = 15
CLASS_LINES = 250
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Measured(t.NamedTuple):
    """One class of a module, as the limits see it."""

    name: str
    methods: int
    lines: int


def classes_of(source: str) -> list[Measured]:
    """Every class of a module (nested ones too), with its methods and lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            methods = [n for n in node.body if isinstance(n, FUNCTIONS)]
            lines = t.cast("int", node.end_lineno) - node.lineno + 1
            found.append(Measured(node.name, len(methods), lines))
    return found


def breaches(name: str, source: str) -> list[str]:
    """What a module breaks of the limits (nothing when it keeps them)."""
    found = []
    if len(source.splitlines()) > MODULE_LINES:
        found.append(f"{name}: {len(source.splitlines())} lines > {MODULE_LINES}")
    for one in classes_of(source):
        if one.methods > CLASS_METHODS:
            found.append(f"{name}.{one.name}: {one.methods} methods > {CLASS_METHODS}")
        if one.lines > CLASS_LINES:
            found.append(f"{name}.{one.name}: {one.lines} lines > {CLASS_LINES}")
    return found


def sources() -> dict[str, str]:
    """Every module of the sandbox by dotted name (the package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path.read_text(encoding="utf-8")
    return found


def import_graph() -> dict[str, set[str]]:
    every = sources()
    known = set(every)
    return {
        name: imports(source, name, is_package=name == "edges_sandbox", known=known)
        for name, source in every.items()
    }


def test_every_module_and_class_keeps_within_the_limits() -> None:
    every = sources()
    assert len(every) > 20  # not vacuous: the sandbox's modules were found
    assert [one for one in classes_of(every["edges_sandbox.emulator"]) if one.name == "Sandbox"]
    found = [breach for name, source in every.items() for breach in breaches(name, source)]
    assert not found, "\n".join(found)


def test_the_modules_import_one_another_without_a_circle() -> None:
    graph = import_graph()
    assert "edges_sandbox.engine" in graph["edges_sandbox.emulator"]  # not vacuous
    assert "edges_sandbox.settings" in graph["edges_sandbox.engine"]  # a TYPE_CHECKING import
    cycle = find_cycle(graph)
    assert not cycle, f"import circle: {' -> '.join(reversed(cycle))}"


def _class(methods: int, body_lines: int = 0) -> str:
    defs = "".join(f"    def m{i}(self): ...\n" for i in range(methods))
    return "class C:\n" + defs + "    x = 1\n" * body_lines


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (_class(CLASS_METHODS), []),
        (_class(CLASS_METHODS + 1), [f"m.C: 16 methods > {CLASS_METHODS}"]),
        (_class(1, CLASS_LINES - 2), []),
        (_class(1, CLASS_LINES - 1), [f"m.C: 251 lines > {CLASS_LINES}"]),
        ("x = 1\n" * MODULE_LINES, []),
        ("x = 1\n" * (MODULE_LINES + 1), [f"m: 351 lines > {MODULE_LINES}"]),
    ],
)
def test_the_measure_fails_when_a_limit_is_broken(source: str, expected: list[str]) -> None:
    assert breaches("m", source) == expected


def test_a_getter_and_its_setter_are_two_methods() -> None:
    source = textwrap.dedent(
        """
        class C:
            @property
            def a(self): ...
            @a.setter
            def a(self, value): ...
            class Inner:
                def b(self): ...
        """
    )
    assert classes_of(source) == [Measured("C", 2, 7), Measured("Inner", 1, 2)]


def test_a_circle_behind_type_checking_is_found() -> None:
    source = "import typing\nif typing.TYPE_CHECKING:\n    from p.b import B\n"
    known = {"p", "p.a", "p.b"}
    graph = {"p.a": imports(source, "p.a", is_package=False, known=known), "p.b": {"p.a"}}
    assert find_cycle(graph)
