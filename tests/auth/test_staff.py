"""Registry-desk staff: accounts and sign-in, patient consent windows, onboarding codes."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import staff as staff_module
from auth.errors import InvalidToken, RateLimited, Refused
from auth.principals import Citizen, Staff
from auth.secrets import CODE_ALPHABET
from auth.service import AuthService
from auth.sessions import Device
from auth.settings import AuthSettings
from auth.staff import Code, Desk, Helper, StaffMember, Window

NewValue = Callable[[], str]
NewName = Callable[[str], str]

PASSWORD = "correct horse battery"
DESK_PC = Device("Reception PC 2", "web")
NEW_PHONE = Device("Redmi Note 13", "android")
CLINIC = "City Polyclinic No. 5"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
         clock: Clock) -> Desk:
    """The desk on a clock the test moves."""
    return Desk(engine, service.secrets, auth_settings, service.sessions, service.login,
                clock=clock)


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the smallest cost: a default hash takes 0.2 s, and most tests make
    accounts only to have someone at the desk (the real parameters are tested apart)."""
    monkeypatch.setattr(staff_module, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def member(service: AuthService, new_name: NewName, cheap_hashing: None) -> StaffMember:
    """An active desk worker of a clinic."""
    return await service.desk.create_staff(new_name("aigerim"), "Aigerim Nurlanovna",
                                           PASSWORD, uuid.uuid4(), CLINIC)


async def _staff(service: AuthService, access_token: str) -> Staff:
    principal = await service.principal_from_header(f"Bearer {access_token}")
    assert isinstance(principal, Staff), principal
    return principal


async def _refused(reason: str, call: Awaitable[object]) -> Refused:
    with pytest.raises(Refused) as refused:
        await call
    assert refused.value.reason == reason, refused.value.message
    return refused.value


def _retyped(code: str) -> str:
    """The code as a person might type it: lower case, spaced, O for 0, l for 1."""
    return " ".join(code.replace("-", "")).lower().replace("0", "o").replace("1", "l")


async def _window(service: AuthService, desk: Desk, staff: StaffMember,
                  person: uuid.UUID | None = None) -> Window:
    code = await desk.consent_code(person or uuid.uuid4())
    return await desk.open_window(staff.id, staff.provider_id, code.code)


class TestAccounts:
    async def test_sign_in_gives_a_staff_principal_of_the_clinic(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            cheap_hashing: None) -> None:
        provider = uuid.uuid4()
        username = new_name("Dana.K")
        created = await service.desk.create_staff(f"  {username} ", " Dana Kairatovna ",
                                                  PASSWORD, provider, CLINIC)
        assert created.username == username.lower() and created.active
        tokens = await service.desk.sign_in(username.upper(), PASSWORD, DESK_PC, new_ip())
        staff = await _staff(service, tokens.access_token)
        assert staff.staff_id == created.id
        assert staff.provider_id == provider
        assert staff.name == "Dana Kairatovna"
        assert staff.provider_name == CLINIC
        assert staff.session_id == tokens.session_id

    async def test_a_desk_session_refreshes_as_staff(
            self, service: AuthService, member: StaffMember, new_ip: NewValue) -> None:
        tokens = await service.desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        again = await service.sessions.refresh(tokens.refresh_token)
        staff = await _staff(service, again.access_token)
        assert (staff.staff_id, staff.provider_id, staff.provider_name) == (
            member.id, member.provider_id, CLINIC)

    async def test_wrong_password_and_unknown_name_are_refused_alike(
            self, service: AuthService, member: StaffMember, new_name: NewName,
            new_ip: NewValue) -> None:
        wrong_password = await _refused("WRONG_CREDENTIALS", service.desk.sign_in(
            member.username, PASSWORD + "!", DESK_PC, new_ip()))
        unknown_name = await _refused("WRONG_CREDENTIALS", service.desk.sign_in(
            new_name("nobody"), PASSWORD, DESK_PC, new_ip()))
        assert (wrong_password.message, wrong_password.field, wrong_password.code) == (
            unknown_name.message, unknown_name.field, unknown_name.code)

    async def test_a_deactivated_account_cannot_sign_in_and_its_sessions_end(
            self, service: AuthService, member: StaffMember, new_ip: NewValue,
            engine: AsyncEngine) -> None:
        first = await service.desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        second = await service.desk.sign_in(member.username, PASSWORD, Device("Laptop"),
                                            new_ip())
        assert await service.desk.deactivate(member.username.upper())
        for tokens in (first, second):
            with pytest.raises(InvalidToken) as ended:
                await service.sessions.refresh(tokens.refresh_token)
            assert ended.value.reason == "SESSION_ENDED"
        await _refused("WRONG_CREDENTIALS", service.desk.sign_in(
            member.username, PASSWORD, DESK_PC, new_ip()))
        async with engine.connect() as conn:
            found = await service.desk.member(conn, member.id)
        assert found is not None and not found.active

    async def test_deactivating_an_unknown_name_reports_nothing(
            self, service: AuthService, new_name: NewName) -> None:
        assert not await service.desk.deactivate(new_name("ghost"))

    async def test_a_short_password_is_refused(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine,
            cheap_hashing: None) -> None:
        username = new_name("short")
        with pytest.raises(ValueError, match="12"):
            await service.desk.create_staff(username, "Short", "eleven char", uuid.uuid4(),
                                            CLINIC)
        async with engine.connect() as conn:
            assert (await conn.execute(text(
                "SELECT count(*) FROM auth.staff_account WHERE username = :u"),
                {"u": username})).scalar_one() == 0

    async def test_the_password_is_stored_as_an_argon2id_hash(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        member = await service.desk.create_staff(new_name("hash"), "Hash", PASSWORD,
                                                 uuid.uuid4(), CLINIC)
        async with engine.connect() as conn:
            stored = (await conn.execute(text(
                "SELECT password_hash FROM auth.staff_account WHERE id = :id"),
                {"id": member.id})).scalar_one()
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored
        assert PasswordHasher().verify(stored, PASSWORD)
        assert not PasswordHasher().check_needs_rehash(stored)  # the library's default cost

    async def test_wrong_passwords_from_one_address_are_throttled_there_only(
            self, service: AuthService, member: StaffMember, auth_settings: AuthSettings,
            new_ip: NewValue) -> None:
        stranger = new_ip()
        for _ in range(auth_settings.staff_failures_per_source):
            await _refused("WRONG_CREDENTIALS", service.desk.sign_in(
                member.username, "not the password", DESK_PC, stranger))
        with pytest.raises(RateLimited) as limited:
            await service.desk.sign_in(member.username, PASSWORD, DESK_PC, stranger)
        assert 0 < limited.value.retry_after <= auth_settings.staff_sign_ins_window_seconds
        tokens = await service.desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        assert (await _staff(service, tokens.access_token)).staff_id == member.id

    async def test_one_address_guessing_many_names_is_throttled(
            self, engine: AsyncEngine, service: AuthService, member: StaffMember,
            auth_settings: AuthSettings,
            new_name: NewName, new_ip: NewValue) -> None:
        desk = Desk(engine, service.secrets,
                    auth_settings.model_copy(update={"staff_failures_per_address": 3}),
                    service.sessions, service.login)
        guesser = new_ip()
        for _ in range(3):
            await _refused("WRONG_CREDENTIALS", desk.sign_in(
                new_name("nobody"), "not the password", DESK_PC, guesser))
        with pytest.raises(RateLimited):
            await desk.sign_in(member.username, PASSWORD, DESK_PC, guesser)
        tokens = await desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        assert (await _staff(service, tokens.access_token)).staff_id == member.id

    async def test_guessing_one_name_from_many_addresses_meets_a_ceiling(
            self, engine: AsyncEngine, service: AuthService, member: StaffMember,
            auth_settings: AuthSettings,
            new_ip: NewValue) -> None:
        desk = Desk(engine, service.secrets,
                    auth_settings.model_copy(update={"staff_failures_per_name": 3}),
                    service.sessions, service.login)
        for _ in range(3):
            await _refused("WRONG_CREDENTIALS", desk.sign_in(
                member.username, "not the password", DESK_PC, new_ip()))
        with pytest.raises(RateLimited) as limited:
            await desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        assert 0 < limited.value.retry_after <= auth_settings.staff_sign_ins_window_seconds

    async def test_successful_sign_ins_are_not_counted(
            self, service: AuthService, member: StaffMember, auth_settings: AuthSettings,
            new_ip: NewValue) -> None:
        address = new_ip()
        for _ in range(auth_settings.staff_failures_per_source + 2):
            tokens = await service.desk.sign_in(member.username, PASSWORD, DESK_PC, address)
            assert (await _staff(service, tokens.access_token)).staff_id == member.id


class TestConsent:
    async def test_a_consent_code_opens_a_window_on_that_person_once(
            self, service: AuthService, member: StaffMember, auth_settings: AuthSettings
            ) -> None:
        person = uuid.uuid4()
        code = await service.desk.consent_code(person)
        assert len(code.code) == 9 and code.code[4] == "-"
        assert set(code.code.replace("-", "")) <= set(CODE_ALPHABET)
        window = await service.desk.open_window(member.id, member.provider_id, code.code)
        assert window.person_id == person
        assert (window.staff_id, window.provider_id) == (member.id, member.provider_id)
        assert window.expires_at - window.opened_at == timedelta(
            seconds=auth_settings.consent_window_seconds) == timedelta(minutes=15)
        assert await service.desk.window(member.id, window.id) == window
        await _refused("WRONG_CODE", service.desk.open_window(
            member.id, member.provider_id, code.code))

    async def test_a_code_used_twice_at_once_opens_one_window(
            self, service: AuthService, member: StaffMember) -> None:
        code = await service.desk.consent_code(uuid.uuid4())
        results = await asyncio.gather(
            *(service.desk.open_window(member.id, member.provider_id, code.code)
              for _ in range(3)), return_exceptions=True)
        assert len([r for r in results if isinstance(r, Window)]) == 1
        assert [r.reason for r in results if isinstance(r, Refused)] == ["WRONG_CODE"] * 2

    async def test_the_code_expires_after_ten_minutes(
            self, service: AuthService, auth_settings: AuthSettings) -> None:
        before = datetime.now(UTC)
        code = await service.desk.consent_code(uuid.uuid4())
        assert auth_settings.consent_code_ttl_seconds == 600
        assert before + timedelta(minutes=10) <= code.expires_at <= datetime.now(
            UTC) + timedelta(minutes=10)

    async def test_a_code_typed_loosely_still_works(
            self, service: AuthService, member: StaffMember) -> None:
        code = await _code_with_zero_and_one(service)
        retyped = _retyped(code.code)
        assert "o" in retyped and "l" in retyped and " " in retyped
        window = await service.desk.open_window(member.id, member.provider_id, retyped)
        assert window.staff_id == member.id

    async def test_an_expired_code_fails(
            self, desk: Desk, member: StaffMember, clock: Clock,
            auth_settings: AuthSettings) -> None:
        code = await desk.consent_code(uuid.uuid4())
        clock.now += timedelta(seconds=auth_settings.consent_code_ttl_seconds + 1)
        await _refused("WRONG_CODE", desk.open_window(member.id, member.provider_id, code.code))

    async def test_older_codes_stay_valid(
            self, service: AuthService, member: StaffMember) -> None:
        person = uuid.uuid4()
        older = await service.desk.consent_code(person)
        await service.desk.consent_code(person)
        window = await service.desk.open_window(member.id, member.provider_id, older.code)
        assert window.person_id == person

    async def test_another_worker_cannot_use_the_window(
            self, service: AuthService, member: StaffMember, new_name: NewName,
            cheap_hashing: None) -> None:
        colleague = await service.desk.create_staff(new_name("colleague"), "Colleague",
                                                    PASSWORD, member.provider_id, CLINIC)
        window = await _window(service, service.desk, member)
        await _refused("WINDOW_CLOSED", service.desk.window(colleague.id, window.id))
        await _refused("WINDOW_CLOSED", service.desk.onboarding_code(colleague.id, window.id))
        assert await service.desk.open_windows(colleague.id) == []

    async def test_the_window_closes_after_fifteen_minutes(
            self, desk: Desk, service: AuthService, member: StaffMember, clock: Clock) -> None:
        window = await _window(service, desk, member)
        clock.now += timedelta(minutes=14, seconds=59)
        assert await desk.window(member.id, window.id) == window
        assert await desk.open_windows(member.id) == [window]
        clock.now += timedelta(seconds=2)
        refused = await _refused("WINDOW_CLOSED", desk.window(member.id, window.id))
        assert refused.field == "windowId"
        assert await desk.open_windows(member.id) == []

    async def test_an_unknown_window_is_closed(
            self, service: AuthService, member: StaffMember) -> None:
        await _refused("WINDOW_CLOSED", service.desk.window(member.id, uuid.uuid4()))

    async def test_the_window_is_on_that_person_only(
            self, service: AuthService, member: StaffMember) -> None:
        first, second = uuid.uuid4(), uuid.uuid4()
        one = await _window(service, service.desk, member, first)
        two = await _window(service, service.desk, member, second)
        assert (one.person_id, two.person_id) == (first, second)
        assert {w.id for w in await service.desk.open_windows(member.id)} == {one.id, two.id}

    async def test_failures_are_throttled_even_for_a_valid_code(
            self, service: AuthService, member: StaffMember, auth_settings: AuthSettings
            ) -> None:
        for _ in range(auth_settings.consent_failures_per_staff):
            await _refused("WRONG_CODE", service.desk.open_window(
                member.id, member.provider_id, "AAAA-AAAA"))
        valid = await service.desk.consent_code(uuid.uuid4())
        with pytest.raises(RateLimited) as limited:
            await service.desk.open_window(member.id, member.provider_id, valid.code)
        assert 0 < limited.value.retry_after <= auth_settings.consent_failures_window_seconds

    async def test_successes_are_not_counted_as_failures(
            self, service: AuthService, member: StaffMember, auth_settings: AuthSettings
            ) -> None:
        for _ in range(auth_settings.consent_failures_per_staff - 1):
            await _refused("WRONG_CODE", service.desk.open_window(
                member.id, member.provider_id, "AAAA-AAAA"))
        people = [uuid.uuid4() for _ in range(3)]
        for person in people:
            window = await _window(service, service.desk, member, person)
            assert (window.staff_id, window.person_id) == (member.id, person)
        assert {w.person_id for w in await service.desk.open_windows(member.id)} == set(people)
        # One failure is still left before the throttle: the successes took none.
        await _refused("WRONG_CODE", service.desk.open_window(
            member.id, member.provider_id, "AAAA-AAAA"))
        with pytest.raises(RateLimited):
            await _window(service, service.desk, member)


PATIENT_PHONE = "+77051234567"


@pytest.fixture
def patient(people: dict[str, tuple[uuid.UUID, str | None]], new_iin: NewValue) -> uuid.UUID:
    """A patient on record with the phone ``PATIENT_PHONE``."""
    person = uuid.uuid4()
    people[new_iin()] = (person, PATIENT_PHONE)
    return person


def _sms_code(outbox: list[tuple[str, str]]) -> str:
    """The code of the one SMS sent, which went to the patient's phone."""
    [(phone, text_)] = outbox
    assert phone == PATIENT_PHONE
    [code] = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", text_)
    return str(code)


class TestOnboarding:
    async def test_an_onboarding_code_alone_gives_no_session_the_sms_code_does(
            self, service: AuthService, member: StaffMember, patient: uuid.UUID,
            outbox: list[tuple[str, str]], new_ip: NewValue) -> None:
        window = await _window(service, service.desk, member, patient)
        code = await service.desk.onboarding_code(member.id, window.id)
        assert len(code.code) == 14 and code.code.count("-") == 2
        address = new_ip()
        challenge = await service.desk.redeem_onboarding(code.code, address)
        await service.login.drain()
        assert challenge.code_length == 6
        assert await service.sessions.list_active(str(patient)) == []
        await _refused("WRONG_CODE", service.desk.redeem_onboarding(code.code, new_ip()))
        tokens = await service.login.verify(str(challenge.id), _sms_code(outbox), NEW_PHONE,
                                            address)
        principal = await service.principal_from_header(f"Bearer {tokens.access_token}")
        assert isinstance(principal, Citizen)
        assert principal.person_id == patient and principal.session_id == tokens.session_id
        assert tokens.window_id == window.id
        [info] = await service.sessions.list_active(str(patient))
        assert info.signed_in_by == "desk onboarding" and info.device_name == "Redmi Note 13"

    async def test_the_desk_without_the_patients_phone_cannot_finish(
            self, service: AuthService, member: StaffMember, patient: uuid.UUID,
            outbox: list[tuple[str, str]], new_ip: NewValue) -> None:
        window = await _window(service, service.desk, member, patient)
        code = await service.desk.onboarding_code(member.id, window.id)
        address = new_ip()
        challenge = await service.desk.redeem_onboarding(code.code, address)
        await service.login.drain()
        wrong = f"{(int(_sms_code(outbox)) + 1) % 1_000_000:06d}"
        refused = await _refused("WRONG_CODE", service.login.verify(
            str(challenge.id), wrong, DESK_PC, address))
        assert refused.attempts_left == 4
        assert await service.sessions.list_active(str(patient)) == []

    @pytest.mark.parametrize("spelled", [
        pytest.param(lambda code: "MHI1" + code.replace("-", ""), id="the QR form"),
        pytest.param(lambda code: _retyped(code), id="typed loosely"),
    ])
    async def test_the_code_is_read_however_it_is_written(
            self, service: AuthService, member: StaffMember, patient: uuid.UUID,
            outbox: list[tuple[str, str]], new_ip: NewValue,
            spelled: Callable[[str], str]) -> None:
        window = await _window(service, service.desk, member, patient)
        code = await service.desk.onboarding_code(member.id, window.id)
        address = new_ip()
        challenge = await service.desk.redeem_onboarding(spelled(code.code), address)
        await service.login.drain()
        tokens = await service.login.verify(str(challenge.id), _sms_code(outbox), NEW_PHONE,
                                            address)
        principal = await service.principal_from_header(f"Bearer {tokens.access_token}")
        assert isinstance(principal, Citizen) and principal.person_id == patient

    async def test_a_code_whose_patient_lost_the_phone_is_not_used_up(
            self, service: AuthService, member: StaffMember, new_iin: NewValue,
            people: dict[str, tuple[uuid.UUID, str | None]],
            outbox: list[tuple[str, str]], new_ip: NewValue) -> None:
        person, iin = uuid.uuid4(), new_iin()
        people[iin] = (person, PATIENT_PHONE)
        window = await _window(service, service.desk, member, person)
        code = await service.desk.onboarding_code(member.id, window.id)
        people[iin] = (person, None)  # the phone on record is removed meanwhile
        await _refused("NO_PHONE_ON_RECORD", service.desk.redeem_onboarding(code.code,
                                                                           new_ip()))
        await service.login.drain()
        assert outbox == []
        people[iin] = (person, PATIENT_PHONE)  # back: the same code still works, once
        address = new_ip()
        challenge = await service.desk.redeem_onboarding(code.code, address)
        await service.login.drain()
        tokens = await service.login.verify(str(challenge.id), _sms_code(outbox), NEW_PHONE,
                                            address)
        assert tokens.window_id == window.id
        await _refused("WRONG_CODE", service.desk.redeem_onboarding(code.code, address))

    async def test_no_code_for_a_patient_without_a_phone_on_record(
            self, service: AuthService, member: StaffMember,
            people: dict[str, tuple[uuid.UUID, str | None]], new_iin: NewValue) -> None:
        person = uuid.uuid4()
        people[new_iin()] = (person, None)
        window = await _window(service, service.desk, member, person)
        await _refused("NO_PHONE_ON_RECORD", service.desk.onboarding_code(member.id, window.id))

    async def test_who_helped_is_known_for_the_access_log(
            self, service: AuthService, member: StaffMember, patient: uuid.UUID) -> None:
        window = await _window(service, service.desk, member, patient)
        helper = await service.desk.helper(window.id)
        assert helper == Helper(member.id, member.display_name, CLINIC, window.id, patient)
        assert await service.desk.helper(uuid.uuid4()) is None

    async def test_no_code_for_a_closed_window(
            self, desk: Desk, service: AuthService, member: StaffMember, clock: Clock) -> None:
        window = await _window(service, desk, member)
        clock.now += timedelta(minutes=15, seconds=1)
        await _refused("WINDOW_CLOSED", desk.onboarding_code(member.id, window.id))

    async def test_an_onboarding_code_expires(
            self, desk: Desk, service: AuthService, member: StaffMember, patient: uuid.UUID,
            clock: Clock, auth_settings: AuthSettings, new_ip: NewValue) -> None:
        window = await _window(service, desk, member, patient)
        code = await desk.onboarding_code(member.id, window.id)
        clock.now += timedelta(seconds=auth_settings.onboarding_code_ttl_seconds + 1)
        await _refused("WRONG_CODE", desk.redeem_onboarding(code.code, new_ip()))

    async def test_codes_are_stored_only_as_hashes(
            self, service: AuthService, member: StaffMember, patient: uuid.UUID,
            engine: AsyncEngine) -> None:
        consent = await service.desk.consent_code(patient)
        window = await service.desk.open_window(member.id, member.provider_id, consent.code)
        onboarding = await service.desk.onboarding_code(member.id, window.id)
        async with engine.connect() as conn:
            rows = list((await conn.execute(text(
                "SELECT c::text || encode(c.code_hash, 'escape') FROM auth.consent_code c "
                "WHERE c.person_id = :p UNION ALL "
                "SELECT o::text || encode(o.code_hash, 'escape') FROM auth.onboarding_code o "
                "WHERE o.window_id = :w"), {"p": window.person_id, "w": window.id})).scalars())
        assert len(rows) == 2
        for code in (consent, onboarding):
            plain = code.code.replace("-", "")
            assert not [row for row in rows if plain in row.upper() or code.code in row]


async def _code_with_zero_and_one(service: AuthService) -> Code:
    """A consent code with a 0 and a 1 in it (about one in twenty)."""
    for _ in range(500):
        code = await service.desk.consent_code(uuid.uuid4())
        if "0" in code.code and "1" in code.code:
            return code
    raise AssertionError("no code with both 0 and 1 in 500 tries")
