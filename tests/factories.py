"""Small async factories: ``await create_person(session, **overrides)`` and friends."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.identifiers import make_bin, make_iin
from backend.models import Contribution, Payer, Person

_iin_serials = itertools.count(1)
_bin_serials = itertools.count(1)


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


async def create_person(session: AsyncSession, **overrides: Any) -> Person:
    """A person in Almaty who reads Russian, with a valid IIN for their birth date and sex."""
    birth = overrides.pop("birth_date", date(1985, 4, 12))
    sex = overrides.pop("sex", "F")
    values: dict[str, Any] = {
        "iin": new_iin(birth, sex), "last_name": "Иванова", "first_name": "Мария",
        "patronymic": "Петровна", "birth_date": birth, "sex": sex, "region_code": "KZ-75",
        "language": "ru", "phone": "+77011234567",
    }
    values.update(overrides)
    person = Person(**values)
    session.add(person)
    await session.flush()
    return person


async def create_employer(session: AsyncSession, **overrides: Any) -> Payer:
    """An employer in Almaty."""
    values: dict[str, Any] = {
        "kind": "employer", "bin": new_bin(), "name_kk": "«Альфа» ЖШС",
        "name_ru": "ТОО «Альфа»", "name_en": "Alpha LLP", "region_code": "KZ-75",
    }
    values.update(overrides)
    payer = Payer(**values)
    session.add(payer)
    await session.flush()
    return payer


async def create_contribution(session: AsyncSession, person: Person, **overrides: Any
                              ) -> Contribution:
    """A self-payment of 4,250 KZT for October 2025, paid on 20 November 2025."""
    values: dict[str, Any] = {
        "person_id": person.id, "kind": "self_payment", "period": date(2025, 10, 1),
        "amount_tiyn": 425_000, "paid_on": date(2025, 11, 20), "payment_code": 122,
        "source": "test", "source_record_id": uuid.uuid4().hex,
    }
    values.update(overrides)
    row = Contribution(**values)
    session.add(row)
    await session.flush()
    return row
