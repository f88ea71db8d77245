"""graphql/schema.graphql is exported from the code: a change to the schema updates the file."""

from __future__ import annotations

from pathlib import Path

from backend.gql.schema import build_schema

SDL = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.read_text() == build_schema().as_str() + "\n", (
        "graphql/schema.graphql is stale: run `make schema` and commit the result"
    )


def test_every_type_and_field_is_described() -> None:
    schema = build_schema()._schema
    missing = []
    for name, gql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Boolean", "Int", "Float", "ID"}:
            continue
        if not gql_type.description:
            missing.append(name)
        members = {**getattr(gql_type, "fields", {}), **getattr(gql_type, "values", {})}
        for member_name, member in members.items():
            if not member.description:
                missing.append(f"{name}.{member_name}")
    assert missing == []


def test_the_error_catalogue_doc_matches_the_code() -> None:
    from backend.error_codes import markdown

    doc = SDL.parent.parent / "docs" / "errors.md"
    assert doc.read_text() == markdown(), "docs/errors.md is stale: run `make schema`"
