"""What a parent reads of their minor children: each child's name, status, receipts and care.

Every field that reads a child's data records a look in the child's access log (actor: the
parent, kind ``guardian``; reason ``guardianship``; reference: the link), once per request
and purpose.  A child's rows come only from here: the parent's own lists read the parent's id.
Part of a child's data a parent may act on later (reporting a service) should ask
``guardian_of`` first.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.care.types import CoveredServiceType
from backend.contributions.types import ContributionType
from backend.disputes.types import LOOK, DisputeCaseType, case_page
from backend.family.looks import record_look
from backend.family.repository import ChildRow, children_of
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, PackageType, mirrors
from backend.gql.nodes import global_id
from backend.gql.pagination import Connection
from backend.models.family import GuardianshipKind
from backend.people.lists import contribution_page, covered_page
from backend.status.types import InsuranceStatus, insurance_status


@strawberry.enum(name="GuardianshipKind", description="How a parent stands to a child.")
@mirrors(GuardianshipKind)
class GuardianshipKindType(Enum):
    PARENT = strawberry.enum_value("parent", description="A parent.")
    GUARDIAN = strawberry.enum_value("guardian", description="A legal guardian.")


async def look(info: Info[Context, None], child: ChildType, purpose: str) -> None:
    """Record the parent's look at ``child``'s data for ``purpose`` (once per request)."""
    await record_look(info, child_id=child.person_id, guardian_id=child.guardian_id,
                      link_id=child.link_id, purpose=purpose)


@strawberry.type(name="Child", description="A minor child of the signed-in person (as parent "
                                           "or legal guardian): name, status, receipts and "
                                           "care. Each read is in the child's access log.")
class ChildType:
    person_id: strawberry.Private[uuid.UUID]
    guardian_id: strawberry.Private[uuid.UUID]
    link_id: strawberry.Private[int]
    id: strawberry.ID = strawberry.field(description="The child's id (stable; a global id).")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    patronymic: str | None = strawberry.field(description="Patronymic, when the child has one.")
    birth_date: date = strawberry.field(description="Date of birth.")
    relationship: GuardianshipKindType = strawberry.field(
        description="Parent or legal guardian, as the link says.")
    linked_since: date = strawberry.field(description="The first day of the link.")
    linked_until: date = strawberry.field(
        description="The last day the link holds: its own end, or at the latest the eve of "
                    "the child's 18th birthday (it ends then without anyone acting).")

    @classmethod
    def build(cls, row: ChildRow, guardian_id: uuid.UUID) -> ChildType:
        """The parent's view of one linked child."""
        return cls(person_id=row.id, guardian_id=guardian_id, link_id=row.link_id,
                   id=global_id("Child", row.id), first_name=row.first_name,
                   last_name=row.last_name, patronymic=row.patronymic,
                   birth_date=row.birth_date,
                   relationship=GuardianshipKindType(row.kind),
                   linked_since=row.valid_from, linked_until=row.valid_until)

    @strawberry.field(description="The child's insurance status today (children are covered "
                                  "by the state).")
    async def insurance(self, info: Info[Context, None]) -> InsuranceStatus:
        await look(info, self, "insurance_status")
        return await insurance_status(info, self.person_id)

    @strawberry.field(description="Contributions paid for the child, newest month first.")
    async def contributions(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        year: int | None = None, kind: ContributionKindType | None = None,
    ) -> Connection[ContributionType]:
        page = await contribution_page(info, self.person_id, first=first, after=after,
                                       year=year, kind=kind)
        await look(info, self, "contributions")
        return page

    @strawberry.field(description="Care the Fund paid for the child, newest first.")
    async def covered_services(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        year: int | None = None, package: PackageType | None = None,
    ) -> Connection[CoveredServiceType]:
        page = await covered_page(info, self.person_id, first=first, after=after, year=year,
                                  package=package)
        await look(info, self, "covered_services")
        return page


    @strawberry.field(description="Reports that the child did not receive a covered service "
                                  "(yours for them, or theirs), newest first.")
    async def cases(self, info: Info[Context, None], first: int | None = None,
                    after: str | None = None) -> Connection[DisputeCaseType]:
        page = await case_page(info, self.person_id, first=first, after=after)
        await look(info, self, LOOK)
        return page


async def children(info: Info[Context, None], guardian_id: uuid.UUID) -> list[ChildType]:
    """The minor children of ``guardian_id`` today; listing them is a look at their names."""
    rows = await children_of(info.context.reads, guardian_id, info.context.today)
    listed = [ChildType.build(row, guardian_id) for row in rows]
    for child in listed:
        await look(info, child, "child_profile")
    return listed


async def guardian_of(info: Info[Context, None], guardian_id: uuid.UUID,
                      child_id: uuid.UUID) -> ChildType | None:
    """The child ``child_id`` when ``guardian_id`` may act for them today, else None."""
    rows = await children_of(info.context.reads, guardian_id, info.context.today,
                             child_id=child_id)
    return ChildType.build(rows[0], guardian_id) if rows else None
