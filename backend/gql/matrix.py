"""The permission matrix, read off the schema itself: one row per root field.

``mhi export-schema`` writes it into ``docs/permissions.md`` and a test fails when the file
is stale, so the table in the docs is the code's, never a hand-kept copy.  The same walk
finds what each root field can reach, for the test that no public field reaches a type
holding personal data.
"""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from strawberry.permission import BasePermission

from backend.gql.permissions import (
    CitizenOnly,
    IntegratorScope,
    OwnNodesOnly,
    Public,
    SignedIn,
    StaffOnly,
    StaffWithConsent,
    permission_of,
)

BACKREF = "strawberry-definition"
NO = "—"


def root_fields(schema: strawberry.Schema) -> Iterator[tuple[str, str, GraphQLField]]:
    """``(root type, field name, field)`` for every field of Query and Mutation."""
    core = schema._schema
    for root in (core.query_type, core.mutation_type):
        if root is not None:
            for name, field in root.fields.items():
                yield root.name, name, field


def permission_for(field: GraphQLField) -> BasePermission | None:
    """The permission class instance a root field carries, if any."""
    definition = (field.extensions or {}).get(BACKREF)
    return None if definition is None else permission_of(list(definition.extensions))


def reachable(schema: GraphQLSchema, start: GraphQLNamedType) -> set[str]:
    """Every object or interface type a query can reach from ``start`` (implementations of an
    interface included)."""
    seen: set[str] = set()
    pending: list[GraphQLNamedType] = [start]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        if isinstance(current, GraphQLInterfaceType):
            pending.extend(schema.get_possible_types(current))
        if isinstance(current, GraphQLObjectType | GraphQLInterfaceType):
            pending.extend(get_named_type(f.type) for f in current.fields.values())
    return {name for name in seen
            if isinstance(schema.type_map[name], GraphQLObjectType | GraphQLInterfaceType)}


def _cells(permission: BasePermission | None) -> tuple[str, str, str, str, str]:
    """(permission, anonymous, citizen, desk staff, integrator)."""
    if isinstance(permission, Public):
        return ("Public", "yes", "yes", "yes", "yes")
    if isinstance(permission, OwnNodesOnly):
        return ("OwnNodesOnly", "public types; a person's rows `UNAUTHENTICATED`",
                "public types and own rows; others' rows `NOT_FOUND`",
                "public types; a person's rows `FORBIDDEN`",
                "public types; a person's rows `FORBIDDEN`")
    if isinstance(permission, SignedIn):
        return ("SignedIn", "`UNAUTHENTICATED`", "yes (own session)", "yes (own session)",
                "yes (nothing to end)")
    if isinstance(permission, CitizenOnly):
        return ("CitizenOnly", "`UNAUTHENTICATED`", "own data only", "`FORBIDDEN`",
                "`FORBIDDEN`")
    if isinstance(permission, StaffOnly):
        return ("StaffOnly", "`UNAUTHENTICATED`", "`FORBIDDEN`", "yes", "`FORBIDDEN`")
    if isinstance(permission, StaffWithConsent):
        return ("StaffWithConsent", "`UNAUTHENTICATED`", "`FORBIDDEN`",
                "only inside an open consent window of theirs (15 min, onboarding fields)",
                "`FORBIDDEN`")
    if isinstance(permission, IntegratorScope):
        scope = permission.scope.value
        return (f"IntegratorScope({scope})", "`UNAUTHENTICATED`", "`FORBIDDEN`", "`FORBIDDEN`",
                f"with scope `{scope}` (else `FORBIDDEN`); counts against the client's rate")
    return ("none", "?", "?", "?", "?")


def markdown(schema: strawberry.Schema) -> str:
    """``docs/permissions.md``."""
    lines = [
        "# Permission matrix",
        "",
        "Generated from the schema by `make schema` (`backend/gql/matrix.py`); a test fails",
        "when this file is stale.  Every root field carries one permission class",
        "(`backend/gql/permissions.py`); fields below a root field are reached only through",
        "it.  Reads of a person's data by staff or integrators are written to the person's",
        "access log (`Citizen.accessLog`).",
        "",
        "| field | permission | anonymous | citizen | desk staff | integrator |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for root, name, field in root_fields(schema):
        cells = _cells(permission_for(field))
        lines.append(f"| `{root}.{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
