"""Permissions: every root field says who may call it, and nothing public reaches personal data.

The walk goes over the schema the code builds, so a new field or type cannot slip past: a
root field without a permission class fails, a ``Public`` root field that can reach a type
holding personal data fails, and a type that is in neither list (personal or public) fails
until someone decides which it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import strawberry
from graphql import GraphQLInterfaceType, GraphQLObjectType, get_named_type

from backend.gql.matrix import markdown, permission_for, reachable, root_fields
from backend.gql.permissions import PERSONAL_TYPES, PUBLIC_TYPES, OwnNodesOnly, Public
from backend.gql.schema import NODE_TYPES, build_schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema()


def test_every_root_field_has_a_permission(schema: strawberry.Schema) -> None:
    missing = [f"{root}.{name}" for root, name, field in root_fields(schema)
               if permission_for(field) is None]
    assert missing == []


def test_no_public_root_field_reaches_personal_data(schema: strawberry.Schema) -> None:
    core = schema._schema
    leaks = {}
    for root, name, field in root_fields(schema):
        if isinstance(permission_for(field), Public):
            personal = reachable(core, get_named_type(field.type)) & PERSONAL_TYPES
            if personal:
                leaks[f"{root}.{name}"] = sorted(personal)
    assert leaks == {}


def test_node_is_the_only_root_field_left_to_its_types(schema: strawberry.Schema) -> None:
    per_type = [f"{root}.{name}" for root, name, field in root_fields(schema)
                if isinstance(permission_for(field), OwnNodesOnly)]
    assert per_type == ["Query.node"]
    # ...and each node type's loader is one the node tests cover (own rows only).
    assert set(NODE_TYPES) == {"Citizen", "Contribution", "CoveredService", "Provider",
                               "HelpArticle", "Notification", "DisputeCase"}


def test_every_object_type_is_classified(schema: strawberry.Schema) -> None:
    types = {name for name, t in schema._schema.type_map.items()
             if not name.startswith("__")
             and isinstance(t, GraphQLObjectType | GraphQLInterfaceType)}
    assert types - PERSONAL_TYPES - PUBLIC_TYPES - {"Node"} == set()
    assert not PERSONAL_TYPES & PUBLIC_TYPES
    assert (PERSONAL_TYPES | PUBLIC_TYPES) - types == set(), "a listed type no longer exists"


def test_the_walk_finds_a_leak_when_there_is_one(schema: strawberry.Schema) -> None:
    core = schema._schema
    me = core.query_type.fields["me"] if core.query_type else None
    assert me is not None
    assert {"Contribution", "AccessEvent"} <= reachable(core, get_named_type(me.type))


def test_the_permission_matrix_in_the_docs_is_the_codes(schema: strawberry.Schema) -> None:
    assert DOC.read_text() == markdown(schema), "docs/permissions.md is stale: run make schema"
