"""One source of truth for enums: every GraphQL enum mirrors a domain enum (``mirrors``), the
mapping between them is total both ways, and a GraphQL enum that drifts from its domain enum
is refused when its module is imported."""

from __future__ import annotations

from enum import Enum

import pytest
import strawberry
from graphql import GraphQLEnumType

from backend.gql.context import SUPPORTED_LANGUAGES
from backend.gql.enums import MIRRORS, PayerKindType, graphql_value, mirrors
from backend.gql.schema import build_schema
from backend.help.library import HelpLibrary
from backend.models.enums import Language, PayerKind
from notifications import formatting
from notifications import models as notify_models

# Enums that only the API has (no domain enum to mirror), with the reason.
API_OWN = {"Currency"}  # money's currency code: KZT, from the Money scalar's type


def schema_enums() -> dict[str, type[Enum]]:
    """The Python class behind every enum of the exported schema, by GraphQL name."""
    found: dict[str, type[Enum]] = {}
    for name, graphql_type in build_schema()._schema.type_map.items():
        if isinstance(graphql_type, GraphQLEnumType) and not name.startswith("__"):
            definition = graphql_type.extensions["strawberry-definition"]
            found[name] = definition.wrapped_cls
    return found


def test_every_schema_enum_mirrors_a_domain_enum() -> None:
    enums = schema_enums()
    unmirrored = {name for name, cls in enums.items() if cls not in MIRRORS}
    assert unmirrored == API_OWN
    assert len(enums) == len(MIRRORS) + len(API_OWN) == 23


@pytest.mark.parametrize("cls", list(MIRRORS), ids=lambda cls: cls.__name__)
def test_the_mapping_is_total_both_ways(cls: type[Enum]) -> None:
    mirror = MIRRORS[cls]
    # Every domain value has its GraphQL member, which gives the same value back ...
    assert [cls(value).value for value in mirror.values] == list(mirror.values)
    # ... and every GraphQL member is a domain value or one of the API's stated additions.
    assert sorted(member.value for member in cls) == sorted([*mirror.values, *mirror.extra])


def test_the_payer_that_is_the_person_is_the_apis_only_addition() -> None:
    assert MIRRORS[PayerKindType].extra == ("self",)
    assert {PayerKindType(kind.value) for kind in PayerKind} == set(PayerKindType) - {
        PayerKindType.SELF}
    assert sum(len(mirror.extra) for mirror in MIRRORS.values()) == 1


class Domain(Enum):
    """A domain enum for the drift tests."""

    ONE = "one"
    TWO = "two"


@pytest.mark.parametrize(("members", "complaint"), [
    ({"ONE": "one"}, "missing [('TWO', 'two')]"),
    ({"ONE": "one", "TWO": "two", "THREE": "three"}, "not in the domain [('THREE', 'three')]"),
    ({"ONE": "one", "TWO": "deux"}, "missing [('TWO', 'two')], not in the domain [('TWO', "
                                    "'deux')]"),
    ({"ONE": "one", "DUO": "two"}, "missing [('TWO', 'two')], not in the domain [('DUO', "
                                   "'two')]"),
])
def test_a_graphql_enum_that_drifts_is_refused_at_import(members: dict[str, str],
                                                         complaint: str) -> None:
    values = {name: strawberry.enum_value(value, description=name)
              for name, value in members.items()}
    drifted = Enum("Drifted", values)  # type: ignore[misc]
    with pytest.raises(TypeError, match="does not mirror Domain") as refused:
        mirrors(Domain)(drifted)
    assert complaint in str(refused.value)
    assert drifted not in MIRRORS


def test_a_tuple_of_values_is_mirrored_by_upper_case_names() -> None:
    same = Enum("Same", {"PUSH": "push", "INBOX": "inbox"})  # type: ignore[misc]
    try:
        assert mirrors(("push", "inbox"))(same) is same
        assert MIRRORS[same].values == ("push", "inbox")
    finally:
        MIRRORS.pop(same, None)
    short = Enum("Short", {"PUSH": "push", "INBOX": "inbox"})  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"missing \[\('SMS', 'sms'\)\]"):
        mirrors(("push", "inbox", "sms"))(short)


def test_the_languages_agree_everywhere() -> None:
    languages = tuple(language.value for language in Language)
    assert languages == ("kk", "ru", "en")
    assert tuple(SUPPORTED_LANGUAGES) == tuple(HelpLibrary.LANGUAGES) == languages
    assert tuple(notify_models.LANGUAGES) == tuple(formatting.LANGUAGES) == languages


def test_graphql_value_reads_a_member_before_and_after_strawberry() -> None:
    raw = Enum("Raw", {"A": strawberry.enum_value("a", description="A.")})  # type: ignore[misc]
    assert graphql_value(next(iter(raw))) == "a"
    assert graphql_value(PayerKindType.SELF) == "self"
