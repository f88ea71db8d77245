"""``backend/cli`` imports one way: no module imports another that imports it back, not even
inside a function (where a cycle hides until the call), each module loads on its own in a
fresh interpreter, and every subcommand has exactly one registered handler."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from backend.cli import build_parser
from backend.cli.registry import COMMANDS, command

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "backend" / "cli"
PACKAGE = "backend.cli"


def module_name(path: Path) -> str:
    """``backend/cli/notify.py`` → ``backend.cli.notify`` (``__init__.py``: the package)."""
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


MODULES = sorted(module_name(path) for path in CLI.glob("*.py"))


def imported(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that the file imports anywhere in it (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package
                parts = module_name(path).split(".")
                keep = len(parts) - node.level + (path.stem == "__init__")
                base = ".".join([*parts[:keep], *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found & modules


def import_graph(directory: Path) -> dict[str, set[str]]:
    """Each module of the package in ``directory`` → the package's modules it imports."""
    modules = {module_name(path) for path in directory.glob("*.py")}
    return {module_name(path): imported(path, modules) - {module_name(path)}
            for path in directory.glob("*.py")}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first walk, each as the path that closes it."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node):], node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def test_the_cli_import_graph_has_no_cycle() -> None:
    graph = import_graph(CLI)
    assert cycles(graph) == []
    # The package imports the command modules (so that they register); none imports it back.
    assert {"backend.cli.commands", "backend.cli.dev_setup", "backend.cli.notify"} <= graph[
        PACKAGE]
    assert all(PACKAGE not in targets for targets in graph.values())
    assert graph["backend.cli.shared"] == graph["backend.cli.registry"] == set()


def test_a_cycle_is_found_even_inside_a_function(tmp_path: Path) -> None:
    """The checker itself: the shape ``backend/cli`` had (commands ↔ dev_setup, the way back
    imported inside a function)."""
    (tmp_path / "__init__.py").write_text("from backend.cli import commands\n")
    (tmp_path / "commands.py").write_text("from backend.cli.dev_setup import client_file\n")
    (tmp_path / "dev_setup.py").write_text(
        "def demo_payment():\n    from backend.cli.commands import _demo_login\n")
    assert cycles(import_graph(tmp_path)) == [
        ["backend.cli.commands", "backend.cli.dev_setup", "backend.cli.commands"]]


def test_each_module_imports_alone_in_a_fresh_interpreter() -> None:
    """Whatever the order: each module first, in its own interpreter (run side by side)."""
    running = {module: subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for module in MODULES}
    failed = {}
    for module, process in running.items():
        _, stderr = process.communicate(timeout=120)
        if process.returncode or stderr:
            failed[module] = stderr.strip().splitlines()[-1:]
    assert len(running) >= 6  # the package's modules were found (more come with new commands)
    assert failed == {}


def test_every_subcommand_has_one_registered_handler() -> None:
    subparsers = next(action for action in build_parser()._actions
                      if isinstance(action, argparse._SubParsersAction))
    assert sorted(subparsers.choices) == sorted(COMMANDS)
    with pytest.raises(ValueError, match="mhi sms is registered twice"):
        command("sms")(COMMANDS["sms"])
