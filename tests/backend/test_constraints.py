"""The database itself refuses rows that cannot be true, whatever door they come through."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_contribution, create_employer, create_person, new_iin


def _flip_check_digit(iin: str) -> str:
    return iin[:11] + str((int(iin[11]) + 1) % 10)


class TestPerson:
    async def test_valid_person_is_stored(self, session: AsyncSession) -> None:
        person = await create_person(session)
        assert person.id is not None

    @pytest.mark.parametrize("iin", ["061211600012", "790303402568"])
    async def test_sql_check_digit_agrees_with_the_examples(
        self, session: AsyncSession, iin: str
    ) -> None:
        ok = await session.execute(text("SELECT core.iin_check_digit_ok(:v)"), {"v": iin})
        assert ok.scalar_one() is True
        bad = await session.execute(
            text("SELECT core.iin_check_digit_ok(:v)"), {"v": _flip_check_digit(iin)})
        assert bad.scalar_one() is False

    async def test_wrong_check_digit_is_refused(self, session: AsyncSession) -> None:
        iin = _flip_check_digit(new_iin(date(1985, 4, 12), "F"))
        with pytest.raises(IntegrityError, match="ck_person_iin_valid"):
            await create_person(session, iin=iin)

    async def test_iin_that_disagrees_with_the_birth_date_is_refused(
        self, session: AsyncSession
    ) -> None:
        iin = new_iin(date(1985, 4, 13), "F")
        with pytest.raises(IntegrityError, match="ck_person_iin_matches_birth_date"):
            await create_person(session, iin=iin, birth_date=date(1985, 4, 12))

    async def test_iin_that_disagrees_with_the_sex_is_refused(self, session: AsyncSession) -> None:
        iin = new_iin(date(1985, 4, 12), "M")
        with pytest.raises(IntegrityError, match="ck_person_iin_matches_century_and_sex"):
            await create_person(session, iin=iin, sex="F")

    async def test_iin_is_unique(self, session: AsyncSession) -> None:
        first = await create_person(session)
        with pytest.raises(IntegrityError, match="pk_person_iin"):
            await create_person(session, iin=first.iin)

    async def test_phone_must_be_a_kazakhstan_mobile_number(self, session: AsyncSession) -> None:
        with pytest.raises(IntegrityError, match="ck_person_phone_format"):
            await create_person(session, phone="87011234567")


class TestContribution:
    async def test_employer_deduction_needs_code_121_and_an_employer(
        self, session: AsyncSession
    ) -> None:
        person = await create_person(session)
        employer = await create_employer(session)
        await create_contribution(session, person, kind="employer_deduction", payment_code=121,
                                  payer_id=employer.id, payer_kind="employer")
        with pytest.raises(IntegrityError, match="ck_contribution_kind_payer_code"):
            await create_contribution(session, person, kind="employer_deduction",
                                      payment_code=122, payer_id=employer.id,
                                      payer_kind="employer")

    async def test_self_payment_has_no_payer(self, session: AsyncSession) -> None:
        person = await create_person(session)
        employer = await create_employer(session)
        with pytest.raises(IntegrityError, match="ck_contribution_kind_payer_code"):
            await create_contribution(session, person, payer_id=employer.id,
                                      payer_kind="employer")

    async def test_period_is_a_calendar_month(self, session: AsyncSession) -> None:
        person = await create_person(session)
        with pytest.raises(IntegrityError, match="ck_contribution_period_is_month"):
            await create_contribution(session, person, period=date(2025, 10, 15))

    @pytest.mark.parametrize("amount", [0, -100])
    async def test_amount_is_positive_unless_a_refund(self, session: AsyncSession,
                                                      amount: int) -> None:
        person = await create_person(session)
        with pytest.raises(IntegrityError, match="ck_contribution_amount_sign"):
            await create_contribution(session, person, amount_tiyn=amount)

    async def test_a_refund_is_negative_and_names_its_original(
        self, session: AsyncSession
    ) -> None:
        person = await create_person(session)
        original = await create_contribution(session, person)
        refund = await create_contribution(session, person, amount_tiyn=-100,
                                           refund_of=original.id)
        assert refund.refund_of == original.id
        with pytest.raises(IntegrityError, match="ck_contribution_amount_sign"):
            await create_contribution(session, person, amount_tiyn=100, refund_of=original.id)

    async def test_sender_record_id_is_unique_per_source(self, session: AsyncSession) -> None:
        person = await create_person(session)
        await create_contribution(session, person, source="gfss", source_record_id="R1")
        await create_contribution(session, person, source="other", source_record_id="R1")
        with pytest.raises(IntegrityError, match="pk_contribution_key"):
            await create_contribution(session, person, source="gfss", source_record_id="R1")

    async def test_employer_bin_must_be_valid(self, session: AsyncSession) -> None:
        with pytest.raises(IntegrityError, match="ck_payer_bin_valid"):
            await create_employer(session, bin="100540000001")
