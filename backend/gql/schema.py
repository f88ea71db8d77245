"""The GraphQL schema: the root types and the extensions every request goes through."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from backend.errors import NotFound
from backend.gql.context import Context
from backend.gql.errors import ErrorCodes
from backend.people import repository as people
from backend.people.types import ProfileType


@strawberry.type(description="Everything a client can read.")
class Query:
    @strawberry.field(description="The signed-in citizen's own profile.")
    async def me(self, info: Info[Context, None]) -> ProfileType:
        citizen = info.context.require_citizen()
        async with info.context.read_session() as session:
            person = await people.get_person(session, citizen.person_id)
            if person is None:
                raise NotFound("Your profile was not found.")
            region = await people.get_region(session, person.region_code)
        if region is None:
            raise NotFound("Your region was not found.")
        return ProfileType.build(person, region)


def build_schema() -> strawberry.Schema:
    """The schema with error codes and masking on."""
    return strawberry.Schema(query=Query, extensions=[ErrorCodes])
