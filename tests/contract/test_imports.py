"""The import structure: no cycles inside a package, and packages meet only through each other's public names.

Every import counts, at module level or inside a function (both run), except those under ``TYPE_CHECKING``.
``from package import module`` is an import of that module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2] / "packages"


def _modules() -> dict[str, Path]:
    found = {}
    for source in sorted(PACKAGES.glob("*/src")):
        for file in sorted(source.rglob("*.py")):
            parts = file.relative_to(source).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return found


MODULES = _modules()


def _imports(name: str, file: Path) -> Iterator[tuple[str, str | None, int]]:
    """``(module, imported name or None, line)`` for every run-time import of the module ``name``."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> Iterator[tuple[str, str | None, int]]:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                yield from ((alias.name, None, node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    yield base, alias.name, node.lineno
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from visit([child])

    yield from visit(ast.parse(file.read_text()).body)


def _target(module: str, name: str | None) -> str:
    """The module an import reaches: ``from a import b`` reaches ``a.b`` when that is a module."""
    return f"{module}.{name}" if name and f"{module}.{name}" in MODULES else module


def _public_names(module: str) -> set[str] | None:
    tree = ast.parse(MODULES[module].read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {ast.literal_eval(element) for element in node.value.elts}  # type: ignore[attr-defined]
    return None


def _graph() -> dict[str, set[str]]:
    return {name: {target for module, imported, _ in _imports(name, file)
                   if (target := _target(module, imported)) in MODULES and target != name
                   and target.split(".")[0] == name.split(".")[0] and not name.startswith(target + ".")}
            for name, file in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_modules_are_found() -> None:
    assert {name.split(".")[0] for name in MODULES} == {"olmo_core", "olmo_data", "olmo_train", "olmo_eval",
                                                         "olmo_adapt"}


def test_no_package_has_an_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_packages_meet_only_through_public_names(name: str) -> None:
    """A module of one package imports from another only names that the other's module lists in ``__all__``,
    and never a private (``_``) module."""
    problems = []
    for module, imported, line in _imports(name, MODULES[name]):
        target = _target(module, imported)
        if target not in MODULES or target.split(".")[0] == name.split(".")[0]:
            continue
        where = f"{MODULES[name].relative_to(PACKAGES)}:{line}"
        if any(part.startswith("_") for part in target.split(".")):
            problems.append(f"{where} imports the private module {target}")
        elif imported is not None and target == module:
            public = _public_names(module)
            if public is None or imported not in public:
                problems.append(f"{where} imports {imported} from {module}, which is not in its __all__")
    assert problems == []
