"""No import cycle between or inside pipeline/record and pipeline/promote (issue 25): every
import counts, at the top, under ``TYPE_CHECKING`` or inside a function, so a cycle cannot hide
behind a lazy import."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from tests.conftest import PROJECT_DIR

PACKAGES = ("pipeline/record", "pipeline/promote")


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module or ``module.name`` an import anywhere in ``tree`` may refer to."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved from this module's package
                package = module.split(".")
                package = package if is_package else package[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports (under ``root``)."""
    files = {module_name(root, f): f for p in packages for f in sorted((root / p).glob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names = imported(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in names if name in files and name != module}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_import_cycle_between_or_inside_record_and_promote():
    graph = import_graph(PROJECT_DIR, PACKAGES)
    assert "pipeline.record.state" in graph and "pipeline.promote.state" in graph
    found = cycle(graph)
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_a_cycle_through_a_lazy_or_type_checking_import_is_found(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"
    )
    (package / "b.py").write_text("def f():\n    from . import c\n")
    (package / "c.py").write_text("from pkg import a\n")
    (package / "d.py").write_text("import pkg.c\n")  # into the cycle, not part of it
    found = cycle(import_graph(tmp_path, ("pkg",)))
    assert found is not None and set(found) == {"pkg.a", "pkg.b", "pkg.c"}, found
