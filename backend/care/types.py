"""GraphQL types of care the Fund paid for: providers, services, covered services."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from backend.care import repository
from backend.care.repository import ProviderRow, ServicePaymentRow
from backend.errors import NotFound
from backend.gql.context import Context
from backend.gql.enums import PackageType, QualityZoneType, ServiceCategoryType
from backend.gql.nodes import Node, global_id
from backend.gql.scalars import Money
from backend.i18n import Texts, pick
from backend.messages import message
from backend.reference.cache import ServiceRow
from backend.reference.types import RegionType
from backend.tlog.gql import LogProof, proof_of

if TYPE_CHECKING:
    from backend.disputes.types import DisputeCaseType


@strawberry.type(name="Provider", description="A medical organisation under contract with the "
                                               "Fund (public information).")
class ProviderType(Node):
    region_code: strawberry.Private[str]
    name: str = strawberry.field(description="Name in the reader's language.")
    bin: str = strawberry.field(description="The organisation's BIN (12 digits).")
    quality_zone: QualityZoneType = strawberry.field(
        description="The Fund's rating by its result coefficient (green, yellow, red).")

    @strawberry.field(description="Region where the provider works.")
    async def region(self, info: Info[Context, None]) -> RegionType:
        region = await info.context.loaders.region.load(self.region_code)
        if region is None:
            raise NotFound(message("missing_reference"))
        return RegionType.build(region, await info.context.language())

    @classmethod
    def build(cls, row: ProviderRow, language: str) -> ProviderType:
        """The provider in ``language``."""
        return cls(id=global_id("Provider", row.id), region_code=row.region_code,
                   name=row.name_in(language), bin=row.bin,
                   quality_zone=QualityZoneType(row.quality_zone))

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[ProviderType | None]:
        """Providers by id (public: any reader may look one up)."""
        keys = [_uuid(value) for value in node_ids]
        language = await info.context.language()
        rows = await info.context.loaders.provider.load_many([k for k in keys if k is not None])
        found = {row.id: row for row in rows if row is not None}
        return [cls.build(found[key], language) if key in found else None for key in keys]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@strawberry.type(name="MedicalService", description="A service of the Fund's catalogue.")
class MedicalServiceType:
    code: str = strawberry.field(description="Catalogue code.")
    name: str = strawberry.field(description="Name in the reader's language.")
    package: PackageType = strawberry.field(description="The package it normally belongs to.")
    category: ServiceCategoryType = strawberry.field(description="Group of services.")

    @classmethod
    def build(cls, row: ServiceRow, language: str) -> MedicalServiceType:
        """The catalogue entry in ``language``."""
        return cls(code=row.code, name=row.name_in(language),
                   package=PackageType(row.package),
                   category=ServiceCategoryType(row.category))


@strawberry.type(name="CoveredService",
                 description="Care given to the person that the Fund paid a provider for.")
class CoveredServiceType(Node):
    payment_id: strawberry.Private[int]
    care_date: date = strawberry.field(description="The day of care.")
    package: PackageType = strawberry.field(description="The package that paid.")
    amount: Money = strawberry.field(description="What the Fund paid the provider.")
    paid_on: date = strawberry.field(description="The day the Fund paid.")

    provider: ProviderType = strawberry.field(description="Who gave the care.")
    service: MedicalServiceType = strawberry.field(description="What was done, from the catalogue.")
    withheld: bool = strawberry.field(
        description="True for money the Fund took back from the provider for a defect in "
                    "this care (the amount is negative); the original payment stays listed.")
    looks_unusual: bool = strawberry.field(
        description="The Fund's checks found something odd about this bill (for example "
                    "care dated after a death, or a service for the other sex).")
    unusual_note: str | None = strawberry.field(
        description="When it looks unusual: a gentle sentence saying so and what to do, in "
                    "the reader's language.")

    @classmethod
    def build(cls, row: ServicePaymentRow, service: ServiceRow, language: str
              ) -> CoveredServiceType:
        """A service-payment row and its catalogue entry, names in ``language``."""
        unusual = bool(row.flags)
        return cls(id=global_id("CoveredService", row.id), payment_id=row.id,
                   provider=ProviderType.build(row.provider, language),
                   service=MedicalServiceType.build(service, language), care_date=row.care_date,
                   package=PackageType(row.package),
                   amount=Money.of_tiyn(row.amount_tiyn), paid_on=row.paid_on,
                   withheld=row.withdrawal_of is not None, looks_unusual=unusual,
                   unusual_note=pick(UNUSUAL_NOTE, language) if unusual else None)

    @strawberry.field(description="Your report that you did not receive this care, and "
                                  "where it stands: the open case, else the last one (null: "
                                  "never reported; always null for a withdrawal).")
    async def case(self, info: Info[Context, None]
                   ) -> Annotated[DisputeCaseType, strawberry.lazy("backend.disputes.types")
                                  ] | None:
        if self.withheld:
            return None
        from backend.disputes.types import case_of_service  # the types refer to each other

        return await case_of_service(info, self.payment_id)

    @strawberry.field(description="This payment (or withdrawal) in the Fund's public log, "
                                  "with the proof (null until it is in a checkpoint the "
                                  "witnesses cosigned, usually within a minute).")
    async def proof(self, info: Info[Context, None]) -> LogProof | None:
        return await proof_of(info, "service_payment", self.payment_id)

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[CoveredServiceType | None]:
        """The signed-in citizen's covered services among ``node_ids`` (nobody else's)."""
        citizen = info.context.require_citizen()
        ids = [int(value) if value.isdigit() else -1 for value in node_ids]
        found = await repository.by_ids(info.context.reads, citizen.person_id, ids)
        built = dict(zip(found, await covered_services(info.context, list(found.values())),
                         strict=True))
        return [built.get(key) for key in ids]


UNUSUAL_NOTE: Texts = {
    "kk": "Бұл жазба әдеттен тыс көрінеді. Егер сіз бұл көмекті алмаған болсаңыз, "
          "1406 нөміріне хабарласыңыз.",
    "ru": "Эта запись выглядит необычно. Если вы не получали эту помощь, сообщите "
          "по номеру 1406.",
    "en": "This looks unusual. If you did not receive this care, tell the Fund on 1406.",
}


async def covered_services(context: Context, rows: Sequence[ServicePaymentRow]
                           ) -> list[CoveredServiceType]:
    """Covered services for ``rows`` with their catalogue entries (one cached lookup)."""
    language = await context.language()
    services = await context.loaders.medical_service.load_many(
        [row.service_code for row in rows])
    built = []
    for row, service in zip(rows, services, strict=True):
        if service is None:  # the foreign key makes this impossible; say so if it happens
            raise NotFound(message("missing_reference"))
        built.append(CoveredServiceType.build(row, service, language))
    return built
