"""The package boundaries of design.md hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package -> packages it must never import
FORBIDDEN = {
    "auth": {"backend", "notifications"},
    "notifications": {"backend", "auth"},
}


def imported_top_levels(path: Path) -> set[str]:
    """Top-level packages a module imports (absolute imports only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {file: bad for file, bad in offenders.items() if bad} == {}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom backend.models import Person\n")
    assert imported_top_levels(module) == {"os", "backend"}


def test_graphql_folder_is_not_a_python_package() -> None:
    assert (ROOT / "graphql").is_dir()
    assert not list((ROOT / "graphql").rglob("*.py"))
