"""The app's operations (``mobile_contract/operations``) are valid against the exported schema,
stay within the guard rails, and the manifest of their hashes is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from backend.gql.limits import Limits
from backend.gql.persisted import manifest

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = sorted((ROOT / "mobile_contract" / "operations").glob("*.graphql"))
EXAMPLES = sorted((ROOT / "graphql" / "operations").glob("*.graphql"))
SCHEMA = build_schema((ROOT / "graphql" / "schema.graphql").read_text(encoding="utf-8"))
REQUIRED = {"HomeScreen", "Receipts", "CoveredServices", "ServiceDetail", "WhereMyMoneyWent",
            "HelpList", "HelpArticle"}


def test_every_screen_the_issue_names_has_an_operation() -> None:
    assert {path.stem for path in OPERATIONS} >= REQUIRED


@pytest.mark.parametrize("path", OPERATIONS + EXAMPLES, ids=lambda path: path.stem)
def test_operation_is_valid_against_the_schema(path: Path) -> None:
    document = parse(path.read_text(encoding="utf-8"), max_tokens=Limits().max_tokens)
    assert validate(SCHEMA, document) == []
    names = [d.name.value for d in document.definitions
             if isinstance(d, OperationDefinitionNode) and d.name]
    assert names == [path.stem], "one named operation per file, named like the file"


def test_manifest_lists_every_operation_by_hash() -> None:
    recorded = json.loads((ROOT / "mobile_contract" / "manifest.json").read_text())
    assert recorded == manifest(OPERATIONS), "run `make schema` to refresh the manifest"
