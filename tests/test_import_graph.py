"""The import graph of rmeval's own modules: no cycle, and the engine imports no task, probe or
leaderboard module (top-level and function-level imports alike, read with ``ast``)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {
    "rmeval": "rmeval",
    "harness": "rmeval.harness",
    "tasks": "rmeval.tasks",
    "probes": "rmeval.probes",
    "leaderboard": "rmeval.leaderboard",
}
"""Repository folder -> import name, as pyproject's ``[tool.setuptools] package-dir``."""
ENGINE = "rmeval.harness"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the repository's packages by its import name."""
    found: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            found[".".join([package, *(p for p in parts if p != "__init__")])] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:``: imports for annotations, never run."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Dotted names every ``import`` statement of ``tree`` imports (at any depth)."""
    names: list[str] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        todo.extend(c for c in ast.iter_child_nodes(node) if not _type_checking_only(c))
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package upwards
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            names += [f"{base}.{a.name}" for a in node.names]  # a submodule or a name in base
    return names


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the rmeval modules it imports (``from pkg import sub`` counts as ``pkg.sub``,
    ``from pkg.mod import name`` as ``pkg.mod``)."""

    def owner(name: str) -> str | None:
        while name and name not in found:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in found.items():
        tree = ast.parse(path.read_text(), str(path))
        names = _imported_names(tree, module, path.name == "__init__.py")
        targets = {owner(n) for n in names if n == "rmeval" or n.startswith("rmeval.")}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def test_no_import_cycle_among_rmeval_modules():
    graph = import_graph(modules())
    assert "rmeval.harness.runner" in graph and "rmeval.tasks.rewardbench" in graph
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_the_engine_imports_no_task_probe_or_leaderboard_module():
    graph = import_graph(modules())
    outside = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith(f"{ENGINE}.") or module == ENGINE
        for target in targets
        if target != "rmeval" and not target.startswith(f"{ENGINE}.") and target != ENGINE
    }
    assert outside == set()


def test_the_graph_sees_function_level_relative_and_type_checking_imports(tmp_path):
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
    (tmp_path / "harness" / "__init__.py").write_text("")
    (tmp_path / "harness" / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from rmeval.harness import c\n"
        "def f():\n    from . import b\n    import rmeval.tasks.x\n"
    )
    (tmp_path / "harness" / "b.py").write_text("from rmeval.harness.a import f\n")
    (tmp_path / "harness" / "c.py").write_text("")
    (tmp_path / "tasks" / "x.py").write_text("")
    graph = import_graph(modules(tmp_path))
    assert graph["rmeval.harness.a"] == {"rmeval.harness.b", "rmeval.tasks.x"}
    assert graph["rmeval.harness.b"] == {"rmeval.harness.a"}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()


def test_the_command_line_is_assembled_outside_the_engine(capsys):
    from rmeval.harness import cli as engine

    from rmeval.cli import build_parser, main

    def commands(parser) -> set[str]:
        (sub,) = [a for a in parser._actions if a.dest == "command"]
        return set(sub.choices)

    assert "board" in commands(build_parser()) and "board" not in commands(engine.build_parser())
    assert commands(build_parser()) - commands(engine.build_parser()) == {"board"}
    with pytest.raises(SystemExit):
        main(["board", "--help"])
    assert "static site" in capsys.readouterr().out
