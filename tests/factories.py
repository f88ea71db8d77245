"""Small async factories: ``await create_person(session, **overrides)`` and friends."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from auth.identifiers import make_bin, make_iin
from backend.models import (
    CategoryMembership,
    Contribution,
    MedicalService,
    Payer,
    Person,
    Provider,
    ServicePayment,
)

M = TypeVar("M")

_iin_serials = itertools.count(1)
_bin_serials = itertools.count(1)
_service_codes = itertools.count(1)


def new_iin(birth: date, sex: str) -> str:
    """A valid IIN that no other factory call returned."""
    while True:
        iin = make_iin(birth, "M" if sex == "M" else "F", next(_iin_serials) % 10_000)
        if iin is not None:
            return iin


def new_bin() -> str:
    """A valid BIN that no other factory call returned."""
    while True:
        value = make_bin(date(2010, 5, 1), next(_bin_serials) % 100_000)
        if value is not None:
            return value


async def _insert(session: AsyncSession, model: type[M], values: dict[str, Any],
                  overrides: dict[str, Any]) -> M:
    """Add one ``model`` row from ``values`` with ``overrides`` applied, flushed."""
    row = model(**{**values, **overrides})
    session.add(row)
    await session.flush()
    return row


async def create_person(session: AsyncSession, **overrides: Any) -> Person:
    """A person in Almaty who reads Russian, with a valid IIN for their birth date and sex."""
    birth = overrides.pop("birth_date", date(1985, 4, 12))
    sex = overrides.pop("sex", "F")
    values: dict[str, Any] = {
        "iin": new_iin(birth, sex), "last_name": "Иванова", "first_name": "Мария",
        "patronymic": "Петровна", "birth_date": birth, "sex": sex, "region_code": "KZ-75",
        "language": "ru", "phone": "+77011234567",
    }
    return await _insert(session, Person, values, overrides)


async def create_employer(session: AsyncSession, **overrides: Any) -> Payer:
    """An employer in Almaty."""
    values: dict[str, Any] = {
        "kind": "employer", "bin": new_bin(), "name_kk": "«Альфа» ЖШС",
        "name_ru": "ТОО «Альфа»", "name_en": "Alpha LLP", "region_code": "KZ-75",
    }
    return await _insert(session, Payer, values, overrides)


async def create_contribution(session: AsyncSession, person: Person, **overrides: Any
                              ) -> Contribution:
    """A self-payment of 4,250 KZT for October 2025, paid on 20 November 2025."""
    values: dict[str, Any] = {
        "person_id": person.id, "kind": "self_payment", "period": date(2025, 10, 1),
        "amount_tiyn": 425_000, "paid_on": date(2025, 11, 20), "payment_code": 122,
        "source": "test", "source_record_id": uuid.uuid4().hex,
    }
    return await _insert(session, Contribution, values, overrides)


async def create_insured_employee(session: AsyncSession, **overrides: Any) -> Person:
    """A committed employee whose employer paid May to October 2026 (insured on 2026-11-23)."""
    person = await create_person(session, **overrides)
    employer = await create_employer(session)
    for number in range(5, 11):
        await create_contribution(
            session, person, kind="employer_deduction", payment_code=121,
            payer_id=employer.id, payer_kind="employer", period=date(2026, number, 1),
            paid_on=date(2026, number + 1, 10), amount_tiyn=1_530_000)
    await session.commit()
    return person


async def create_state_payer(session: AsyncSession, **overrides: Any) -> Payer:
    """The republican budget."""
    values: dict[str, Any] = {
        "kind": "state", "name_kk": "Республикалық бюджет", "name_ru": "Республиканский бюджет",
        "name_en": "Republican budget",
    }
    return await _insert(session, Payer, values, overrides)


async def create_membership(session: AsyncSession, person: Person, **overrides: Any
                            ) -> CategoryMembership:
    """Pensioner since 2020, open-ended."""
    values: dict[str, Any] = {"person_id": person.id, "category_code": "pensioner",
                              "valid_from": date(2020, 1, 1), "valid_to": None}
    return await _insert(session, CategoryMembership, values, overrides)


async def create_provider(session: AsyncSession, **overrides: Any) -> Provider:
    """A green-zone city polyclinic in Almaty."""
    values: dict[str, Any] = {
        "bin": new_bin(), "region_code": "KZ-75", "kind": "polyclinic", "ownership": "public",
        "quality_zone": "green", "name_kk": "№ 5 қалалық емхана",
        "name_ru": "Городская поликлиника № 5", "name_en": "City Polyclinic No. 5",
    }
    return await _insert(session, Provider, values, overrides)


async def create_medical_service(session: AsyncSession, **overrides: Any) -> MedicalService:
    """A GP visit in the guaranteed volume."""
    values: dict[str, Any] = {
        "code": f"T{next(_service_codes):05d}", "package": "gobmp", "category": "primary_care",
        "sex": None, "name_kk": "Жалпы практика дәрігерінің қабылдауы",
        "name_ru": "Приём врача общей практики", "name_en": "General practitioner visit",
    }
    return await _insert(session, MedicalService, values, overrides)


async def create_service_payment(
    session: AsyncSession, person: Person, provider: Provider, service: MedicalService,
    **overrides: Any,
) -> ServicePayment:
    """12,400 KZT paid for care on 3 November 2025, paid on 20 November."""
    values: dict[str, Any] = {
        "person_id": person.id, "provider_id": provider.id, "service_code": service.code,
        "care_date": date(2025, 11, 3), "amount_tiyn": 1_240_000, "package": service.package,
        "paid_on": date(2025, 11, 20), "source": "test", "source_record_id": uuid.uuid4().hex,
    }
    return await _insert(session, ServicePayment, values, overrides)
