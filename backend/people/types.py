"""The signed-in citizen: profile, and the entry to their status, receipts, care and money."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import strawberry
from strawberry.types import Info

from auth.identifiers import mask_iin
from backend.access import audit
from backend.access.audit import AccessRow
from backend.access.types import AccessEvent, DeviceSession
from backend.allocations.types import MoneyFlowYear, money_flow
from backend.care.types import CoveredServiceType
from backend.contributions import repository as contributions
from backend.contributions.service import month_view, window
from backend.contributions.types import ContributionMonth, ContributionType
from backend.disputes.types import DisputeCaseType, case_page
from backend.errors import BadUserInput, NotFound
from backend.family.types import ChildType
from backend.family.types import children as children_of_parent
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, LanguageCode, PackageType
from backend.gql.nodes import Node, global_id
from backend.gql.pagination import Connection, dated_connection
from backend.inbox.types import NotificationType, PreferencesType, PushDeviceType, inbox_page
from backend.messages import message
from backend.people.lists import contribution_page, covered_page
from backend.people.repository import PersonRow
from backend.reference.types import RegionType
from backend.status import covered_months
from backend.status.types import InsuranceStatus, insurance_status


@strawberry.type(name="Citizen", description="The signed-in person: profile, insurance, "
                                              "receipts, covered care and money flow.")
class CitizenType(Node):
    person_id: strawberry.Private[uuid.UUID]
    region_code: strawberry.Private[str]
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    patronymic: str | None = strawberry.field(description="Patronymic, when the person has one.")
    masked_iin: str = strawberry.field(
        description="The IIN with all but its last 4 digits hidden, for example ••••••••2568.")
    language: LanguageCode = strawberry.field(description="The language the person reads in.")
    unread: strawberry.Private[int | None] = None
    """The unread count when it was read with the person (``backend.people.own``)."""

    @classmethod
    def build(cls, person: PersonRow, unread: int | None = None) -> CitizenType:
        """The citizen's own view of their person row (``unread``: their inbox's unread count,
        when it was read with it)."""
        return cls(
            id=global_id("Citizen", person.id), person_id=person.id, region_code=person.region_code,
            first_name=person.first_name, last_name=person.last_name,
            patronymic=person.patronymic, masked_iin=mask_iin(person.iin),
            language=LanguageCode(person.language), unread=unread,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[CitizenType | None]:
        """Only the signed-in citizen themself."""
        citizen = info.context.require_citizen()
        results: list[CitizenType | None] = []
        for node_id in node_ids:
            person = None
            if node_id == str(citizen.person_id):
                person = await info.context.loaders.person.load(citizen.person_id)
            results.append(None if person is None else cls.build(person))
        return results

    @strawberry.field(description="Region of residence.")
    async def region(self, info: Info[Context, None]) -> RegionType:
        region = await info.context.loaders.region.load(self.region_code)
        if region is None:
            raise NotFound(message("missing_reference"))
        return RegionType.build(region, await info.context.language())

    @strawberry.field(description="Insurance status today: why, until when, what is owed.")
    async def insurance(self, info: Info[Context, None]) -> InsuranceStatus:
        return await insurance_status(info, self.person_id)

    @strawberry.field(description="Contribution receipts, newest month first.")
    async def contributions(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        year: int | None = None, kind: ContributionKindType | None = None,
    ) -> Connection[ContributionType]:
        return await contribution_page(info, self.person_id, first=first, after=after,
                                       year=year, kind=kind)

    @strawberry.field(description="The last months one by one, newest first, gaps included: "
                                  "a month nobody paid for is shown as missing, not skipped.")
    async def contribution_months(
        self, info: Info[Context, None], months: int = 12
    ) -> list[ContributionMonth]:
        if not 1 <= months <= 36:
            raise BadUserInput(message("range", name="months", low=1, high=36))
        today = info.context.today
        language = await info.context.language()
        facts = await info.context.loaders.status_facts.load((self.person_id, language))
        covered = covered_months(as_of=today, contributions=facts.contributions,
                                 rates=await info.context.rates())
        first_month, last_month = window(today, months)
        rows = await contributions.in_periods(
            info.context.reads, self.person_id, first=first_month, last=last_month)
        view = month_view(today=today, months=months, receipts=rows, covered=covered)
        return [ContributionMonth.build(month, language) for month in view]

    @strawberry.field(description="Care the Fund paid for, newest first.")
    async def covered_services(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        year: int | None = None, package: PackageType | None = None,
    ) -> Connection[CoveredServiceType]:
        return await covered_page(info, self.person_id, first=first, after=after, year=year,
                                  package=package)

    @strawberry.field(description="Reports that you did not receive a covered service "
                                  "(\"I did not receive this\"; yours, or a parent's for you), "
                                  "newest first, and where each stands. Reports about your "
                                  "children's care are under `children`, never here.")
    async def cases(self, info: Info[Context, None], first: int | None = None,
                    after: str | None = None) -> Connection[DisputeCaseType]:
        return await case_page(info, self.person_id, first=first, after=after)

    @strawberry.field(description="Your minor children (as parent or legal guardian), youngest "
                                  "last: their status, receipts and care. Each read of a "
                                  "child's data is in the child's access log; a child's rows "
                                  "never appear in your own lists. A child is no longer listed "
                                  "from their 18th birthday.")
    async def children(self, info: Info[Context, None]) -> list[ChildType]:
        return await children_of_parent(info, self.person_id)

    @strawberry.field(description="Where the money went in a year (default: this year).")
    async def money_flow(self, info: Info[Context, None], year: int | None = None
                         ) -> MoneyFlowYear:
        return await money_flow(info, self.person_id, year)

    @strawberry.field(description="Who else looked at your data (registry-desk staff with your "
                                  "consent, integrated systems under their contract), newest "
                                  "first.")
    async def access_log(self, info: Info[Context, None], first: int | None = None,
                         after: str | None = None) -> Connection[AccessEvent]:
        language = await info.context.language()

        async def events(rows: Sequence[AccessRow]) -> list[AccessEvent]:
            return [AccessEvent.of(row, language) for row in rows]

        return await dated_connection(
            info.context, kind="access", first=first, after=after,
            fetch=lambda db, limit, cursor: audit.page(db, self.person_id, limit=limit,
                                                       after=cursor),
            key=lambda row: (row.at, row.id), nodes=events, parse_key=datetime.fromisoformat)

    @strawberry.field(description="The devices you are signed in on, most recently used first.")
    async def signed_in_devices(self, info: Info[Context, None]) -> list[DeviceSession]:
        citizen = info.context.require_citizen()
        sessions = await info.context.auth.sessions.list_active(str(self.person_id))
        return [DeviceSession.of(session, citizen.session_id) for session in sessions]

    @strawberry.field(description="Unread items in the in-app inbox.")
    async def unread_notifications(self, info: Info[Context, None]) -> int:
        if self.unread is not None:
            return self.unread
        return await info.context.notifications.unread(self.person_id)

    @strawberry.field(description="The inbox: what happened to your money and insurance, and "
                                  "news from the Fund, newest first, in your language.")
    async def notifications(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[NotificationType]:
        return await inbox_page(info, self.person_id, first, after, unread_only)

    @strawberry.field(description="The phones your push notifications go to, and whether "
                                  "they get them now.")
    async def push_devices(self, info: Info[Context, None]) -> list[PushDeviceType]:
        center = info.context.notifications
        now = datetime.now().astimezone()
        return [PushDeviceType.build(row, now, center.settings.stale_after_days)
                for row in await center.devices(self.person_id)]

    @strawberry.field(description="What notifications reach you, where, and quiet hours.")
    async def notification_preferences(self, info: Info[Context, None]) -> PreferencesType:
        return PreferencesType.build(
            await info.context.notifications.preferences(self.person_id))
