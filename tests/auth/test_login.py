"""Citizen sign-in by IIN, phone and a one-time SMS code (``auth.login``)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.errors import RateLimited, Refused
from auth.login import Challenge, CitizenLogin, PersonDirectory, normalize_phone
from auth.principals import Citizen
from auth.service import AuthService, gateway_for
from auth.sessions import Device, Tokens
from auth.settings import AuthSettings
from auth.sms import DevSmsSink, DisabledGateway, SmsGateway

People = dict[str, tuple[uuid.UUID, str | None]]
Outbox = list[tuple[str, str]]
NewValue = Callable[[], str]

PHONE = "+77011234567"
DEVICE = Device("Galaxy A54", "android")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _code(text_: str) -> str:
    found = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", text_)
    assert len(found) == 1, text_
    return str(found[0])


def _other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _refused(reason: str, login: CitizenLogin, challenge: Challenge, code: str,
                   address: str) -> Refused:
    with pytest.raises(Refused) as refused:
        await login.verify(str(challenge.id), code, DEVICE, address)
    assert refused.value.reason == reason
    return refused.value


async def _person_of(service: AuthService, tokens: Tokens) -> uuid.UUID:
    """The person the tokens sign in (their access token, read as the API reads it)."""
    principal = await service.principal_from_header(f"Bearer {tokens.access_token}")
    assert isinstance(principal, Citizen), principal
    assert principal.session_id == tokens.session_id
    return principal.person_id


def _login(engine: AsyncEngine, service: AuthService, settings: AuthSettings,
           directory: PersonDirectory, gateway: SmsGateway, **overrides: int) -> CitizenLogin:
    """A login on the service's database with some settings changed."""
    return CitizenLogin(engine, service.secrets, settings.model_copy(update=overrides),
                        directory, gateway, service.sessions)


@pytest.fixture
def person(people: People, new_iin: NewValue) -> tuple[str, uuid.UUID]:
    """A person on record with phone ``PHONE``: (IIN, id)."""
    iin, person_id = new_iin(), uuid.uuid4()
    people[iin] = (person_id, PHONE)
    return iin, person_id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def login_on_clock(engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
                   directory: PersonDirectory, gateway: SmsGateway,
                   clock: Clock) -> CitizenLogin:
    """The service's login, on a clock the test moves."""
    return CitizenLogin(engine, service.secrets, auth_settings, directory, gateway,
                        service.sessions, clock=clock)


class TestCode:
    async def test_a_matching_person_gets_one_sms_whose_code_signs_them_in(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        iin, person_id = person
        address = new_ip()
        challenge = await service.login.request_code(iin, "8 701 123 45 67", address)
        assert challenge.code_length == 6
        await service.login.drain()
        assert len(outbox) == 1
        phone, message = outbox[0]
        assert phone == PHONE
        tokens = await service.login.verify(str(challenge.id), _code(message), DEVICE, address)
        principal = await service.principal_from_header(f"Bearer {tokens.access_token}")
        assert isinstance(principal, Citizen)
        assert principal.person_id == person_id
        assert principal.session_id == tokens.session_id

    async def test_the_code_may_be_typed_with_spaces(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        code = _code(outbox[0][1])
        await service.login.verify(str(challenge.id), f" {code[:3]} {code[3:]} ", DEVICE,
                                   address)

    async def test_the_challenge_expires_after_the_code_lifetime(
            self, service: AuthService, person: tuple[str, uuid.UUID],
            auth_settings: AuthSettings, new_ip: NewValue) -> None:
        before = datetime.now(UTC)
        challenge = await service.login.request_code(person[0], PHONE, new_ip())
        lifetime = timedelta(seconds=auth_settings.otp_ttl_seconds)
        assert before + lifetime <= challenge.expires_at <= datetime.now(UTC) + lifetime

    async def test_a_code_works_once(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        code = _code(outbox[0][1])
        await service.login.verify(str(challenge.id), code, DEVICE, address)
        await _refused("WRONG_CODE", service.login, challenge, code, address)

    async def test_a_wrong_code_says_how_many_attempts_are_left(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        wrong = _other_code(_code(outbox[0][1]))
        for left in (4, 3, 2, 1):
            refused = await _refused("WRONG_CODE", service.login, challenge, wrong, address)
            assert refused.attempts_left == left
            assert refused.field == "code"

    async def test_the_fifth_attempt_may_still_be_right(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        code = _code(outbox[0][1])
        for _ in range(4):
            await _refused("WRONG_CODE", service.login, challenge, _other_code(code), address)
        tokens = await service.login.verify(str(challenge.id), code, DEVICE, address)
        assert await _person_of(service, tokens) == person[1]

    async def test_after_five_attempts_even_the_right_code_fails(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        code = _code(outbox[0][1])
        for _ in range(4):
            await _refused("WRONG_CODE", service.login, challenge, _other_code(code), address)
        await _refused("CODE_ATTEMPTS_EXHAUSTED", service.login, challenge, _other_code(code),
                       address)
        await _refused("CODE_ATTEMPTS_EXHAUSTED", service.login, challenge, code, address)

    async def test_an_expired_code_fails(
            self, login_on_clock: CitizenLogin, person: tuple[str, uuid.UUID], outbox: Outbox,
            clock: Clock, auth_settings: AuthSettings, new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await login_on_clock.request_code(person[0], PHONE, address)
        await login_on_clock.drain()
        code = _code(outbox[0][1])
        clock.now += timedelta(seconds=auth_settings.otp_ttl_seconds + 1)
        await _refused("CODE_EXPIRED", login_on_clock, challenge, code, address)

    async def test_a_code_just_before_expiry_works(
            self, login_on_clock: CitizenLogin, service: AuthService,
            person: tuple[str, uuid.UUID], outbox: Outbox,
            clock: Clock, auth_settings: AuthSettings, new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await login_on_clock.request_code(person[0], PHONE, address)
        await login_on_clock.drain()
        clock.now += timedelta(seconds=auth_settings.otp_ttl_seconds - 1)
        tokens = await login_on_clock.verify(str(challenge.id), _code(outbox[0][1]), DEVICE,
                                             address)
        assert tokens.refresh_token.startswith("rt.")
        assert await _person_of(service, tokens) == person[1]

    async def test_a_code_of_another_challenge_fails(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        first = await service.login.request_code(person[0], PHONE, address)
        second = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        codes = [_code(message) for _, message in outbox]
        if codes[0] != codes[1]:
            await _refused("WRONG_CODE", service.login, first, codes[1], address)
        await service.login.verify(str(second.id), codes[1], DEVICE, address)

    async def test_two_verifications_at_once_sign_in_once(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        address = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        code = _code(outbox[0][1])
        results = await asyncio.gather(
            *(service.login.verify(str(challenge.id), code, DEVICE, address) for _ in range(3)),
            return_exceptions=True)
        assert len([r for r in results if isinstance(r, Tokens)]) == 1
        refusals = [r for r in results if not isinstance(r, Tokens)]
        assert [r.reason for r in refusals if isinstance(r, Refused)] == ["WRONG_CODE"] * 2

    @pytest.mark.parametrize("challenge_id", ["", "not-a-uuid", str(uuid.uuid4())])
    async def test_an_unknown_challenge_fails(
            self, service: AuthService, new_ip: NewValue, challenge_id: str) -> None:
        with pytest.raises(Refused) as refused:
            await service.login.verify(challenge_id, "123456", DEVICE, new_ip())
        assert refused.value.reason == "WRONG_CODE"


class TestNoOneMatches:
    async def test_an_unknown_iin_gets_the_same_answer_and_no_sms(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_iin: NewValue, new_ip: NewValue) -> None:
        known = await service.login.request_code(person[0], PHONE, new_ip())
        unknown = await service.login.request_code(new_iin(), PHONE, new_ip())
        await service.login.drain()
        assert len(outbox) == 1
        assert type(unknown) is type(known)
        assert unknown.code_length == known.code_length
        assert abs(unknown.expires_at - known.expires_at) < timedelta(seconds=5)
        assert unknown.id != known.id

    async def test_a_wrong_phone_gets_the_same_answer_and_no_sms(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        challenge = await service.login.request_code(person[0], "+77019999999", new_ip())
        await service.login.drain()
        assert outbox == []
        assert isinstance(challenge, Challenge) and challenge.code_length == 6

    @pytest.mark.parametrize("who", ["unknown IIN", "wrong phone"])
    async def test_no_code_ever_signs_in_details_that_match_no_one(
            self, service: AuthService, person: tuple[str, uuid.UUID], new_iin: NewValue,
            new_ip: NewValue, engine: AsyncEngine, who: str) -> None:
        address = new_ip()
        iin, phone = (new_iin(), PHONE) if who == "unknown IIN" else (person[0], "+77019999999")
        challenge = await service.login.request_code(iin, phone, address)
        async with engine.connect() as conn:
            person_id = (await conn.execute(text(
                "SELECT person_id FROM auth.login_challenge WHERE id = :id"),
                {"id": challenge.id})).scalar_one()
        assert person_id is None
        for code in ("000000", "123456", "999999"):
            refused = await _refused("WRONG_CODE", service.login, challenge, code, address)
            assert refused.attempts_left is not None and refused.attempts_left > 0

    async def test_a_person_without_a_phone_gets_no_sms_even_for_the_placeholder(
            self, service: AuthService, people: People, outbox: Outbox, new_iin: NewValue,
            new_ip: NewValue, engine: AsyncEngine) -> None:
        iin = new_iin()
        people[iin] = (uuid.uuid4(), None)
        for phone in ("+77011234567", "+70000000000"):
            challenge = await service.login.request_code(iin, phone, new_ip())
            async with engine.connect() as conn:
                person_id = (await conn.execute(text(
                    "SELECT person_id FROM auth.login_challenge WHERE id = :id"),
                    {"id": challenge.id})).scalar_one()
            assert person_id is None, phone
        await service.login.drain()
        assert outbox == []

    async def test_known_and_unknown_iins_run_the_same_statements(
            self, service: AuthService, person: tuple[str, uuid.UUID], engine: AsyncEngine,
            new_iin: NewValue, new_ip: NewValue) -> None:
        await service.login.request_code(new_iin(), PHONE, new_ip())  # warm the pool
        with _statements(engine) as known:
            await service.login.request_code(person[0], PHONE, new_ip())
            await service.login.drain()
        with _statements(engine) as unknown:
            await service.login.request_code(new_iin(), PHONE, new_ip())
            await service.login.drain()
        with _statements(engine) as wrong_phone:
            await service.login.request_code(person[0], "+77019999999", new_ip())
            await service.login.drain()
        assert len(known) > 0
        assert known == unknown == wrong_phone


class TestThrottles:
    async def test_the_fourth_request_for_one_iin_from_one_address_waits(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            auth_settings: AuthSettings, new_ip: NewValue) -> None:
        address = new_ip()
        for _ in range(3):
            await service.login.request_code(person[0], PHONE, address)
        with pytest.raises(RateLimited) as limited:
            await service.login.request_code(person[0], PHONE, address)
        assert 0 < limited.value.retry_after <= auth_settings.otp_sends_per_iin_window_seconds
        await service.login.drain()
        assert len(outbox) == 3

    async def test_an_unknown_iin_is_throttled_alike(
            self, service: AuthService, new_iin: NewValue, auth_settings: AuthSettings,
            new_ip: NewValue) -> None:
        iin, address = new_iin(), new_ip()
        for _ in range(3):
            await service.login.request_code(iin, PHONE, address)
        with pytest.raises(RateLimited) as limited:
            await service.login.request_code(iin, PHONE, address)
        assert 0 < limited.value.retry_after <= auth_settings.otp_sends_per_iin_window_seconds

    async def test_iins_are_throttled_apart(
            self, service: AuthService, person: tuple[str, uuid.UUID], new_iin: NewValue,
            outbox: Outbox, new_ip: NewValue) -> None:
        other, address = new_iin(), new_ip()
        for _ in range(3):
            await service.login.request_code(other, PHONE, address)
        with pytest.raises(RateLimited):
            await service.login.request_code(other, PHONE, address)
        challenge = await service.login.request_code(person[0], PHONE, address)
        await service.login.drain()
        assert [phone for phone, _ in outbox] == [PHONE]  # only the person matches
        tokens = await service.login.verify(str(challenge.id), _code(outbox[0][1]), DEVICE,
                                            address)
        assert await _person_of(service, tokens) == person[1]

    async def test_one_address_asks_for_codes_a_limited_number_of_times(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, new_iin: NewValue,
            new_ip: NewValue) -> None:
        strict = auth_settings.model_copy(update={"otp_sends_per_ip": 3})
        login = CitizenLogin(engine, service.secrets, strict, directory, gateway,
                             service.sessions)
        address = new_ip()
        for _ in range(3):
            await login.request_code(new_iin(), PHONE, address)
        with pytest.raises(RateLimited) as limited:
            await login.request_code(new_iin(), PHONE, address)
        assert 0 < limited.value.retry_after <= strict.otp_sends_per_ip_window_seconds
        await login.request_code(new_iin(), PHONE, new_ip())  # another address is not held

    async def test_one_address_verifies_a_limited_number_of_times(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, person: tuple[str, uuid.UUID],
            outbox: Outbox, new_ip: NewValue) -> None:
        strict = auth_settings.model_copy(update={"verifies_per_ip": 2})
        login = CitizenLogin(engine, service.secrets, strict, directory, gateway,
                             service.sessions)
        address = new_ip()
        challenge = await login.request_code(person[0], PHONE, address)
        await login.drain()
        code = _code(outbox[0][1])
        for _ in range(2):
            await _refused("WRONG_CODE", login, challenge, _other_code(code), address)
        with pytest.raises(RateLimited):
            await login.verify(str(challenge.id), code, DEVICE, address)
        tokens: Tokens = await login.verify(str(challenge.id), code, DEVICE, new_ip())
        assert tokens.refresh_token


class TestStrangers:
    """Someone who knows a person's IIN and phone (both easy to know) cannot lock them out."""

    async def test_a_strangers_requests_leave_the_persons_own_alone(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        stranger = new_ip()
        for _ in range(3):
            await service.login.request_code(person[0], PHONE, stranger)
        with pytest.raises(RateLimited) as limited:
            await service.login.request_code(person[0], PHONE, stranger)
        assert limited.value.retry_after > 0
        own = new_ip()
        challenge = await service.login.request_code(person[0], PHONE, own)
        await service.login.drain()
        assert len(outbox) == 4
        tokens = await service.login.verify(str(challenge.id), _code(outbox[-1][1]), DEVICE, own)
        assert await _person_of(service, tokens) == person[1]

    async def test_over_the_sms_ceiling_the_code_already_sent_still_signs_in(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, person: tuple[str, uuid.UUID],
            outbox: Outbox, new_ip: NewValue) -> None:
        login = _login(engine, service, auth_settings, directory, gateway,
                       otp_sms_per_subject=3)
        for _ in range(3):  # strangers, from three addresses
            await login.request_code(person[0], PHONE, new_ip())
        own = new_ip()
        challenge = await login.request_code(person[0], PHONE, own)
        await login.drain()
        assert len(outbox) == 3, "no SMS over the ceiling"
        assert (challenge.code_length, challenge.expires_at > datetime.now(UTC)) == (6, True)
        tokens = await login.verify(str(challenge.id), _code(outbox[-1][1]), DEVICE, own)
        assert await _person_of(service, tokens) == person[1]
        await _refused("WRONG_CODE", login, challenge, _code(outbox[-1][1]), own)

    async def test_over_the_ceiling_an_expired_code_is_not_revived(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, person: tuple[str, uuid.UUID],
            outbox: Outbox, clock: Clock, new_ip: NewValue) -> None:
        login = CitizenLogin(engine, service.secrets,
                             auth_settings.model_copy(update={"otp_sms_per_subject": 1}),
                             directory, gateway, service.sessions, clock=clock)
        await login.request_code(person[0], PHONE, new_ip())
        clock.now += timedelta(seconds=auth_settings.otp_ttl_seconds + 1)
        address = new_ip()
        challenge = await login.request_code(person[0], PHONE, address)
        await login.drain()
        assert len(outbox) == 1
        await _refused("WRONG_CODE", login, challenge, _code(outbox[0][1]), address)

    async def test_over_the_ceiling_known_and_unknown_iins_run_the_same_statements(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, person: tuple[str, uuid.UUID],
            new_iin: NewValue, new_ip: NewValue) -> None:
        login = _login(engine, service, auth_settings, directory, gateway,
                       otp_sms_per_subject=1)
        unknown = new_iin()
        for iin in (person[0], unknown):
            await login.request_code(iin, PHONE, new_ip())
        address = new_ip()
        with _statements(engine) as known_statements:
            known = await login.request_code(person[0], PHONE, address)
            await login.drain()
            await _refused("WRONG_CODE", login, known, "000000", address)
        with _statements(engine) as unknown_statements:
            unknown_challenge = await login.request_code(unknown, PHONE, address)
            await login.drain()
            await _refused("WRONG_CODE", login, unknown_challenge, "000000", address)
        assert any("ORDER BY created_at DESC" in s for s in known_statements)
        assert known_statements == unknown_statements

    async def test_a_code_allows_five_attempts_however_many_challenges_take_it(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, person: tuple[str, uuid.UUID],
            outbox: Outbox, new_ip: NewValue) -> None:
        login = _login(engine, service, auth_settings, directory, gateway,
                       otp_sms_per_subject=1)
        owner = new_ip()
        first = await login.request_code(person[0], PHONE, owner)
        await login.drain()
        code = _code(outbox[0][1])
        wrong, left = _other_code(code), []
        for _ in range(2):  # a stranger's challenges over the ceiling take the same code
            stranger = new_ip()
            taken = await login.request_code(person[0], PHONE, stranger)
            for _ in range(2):
                left.append((await _refused("WRONG_CODE", login, taken, wrong,
                                            stranger)).attempts_left)
        assert left == [4, 3, 2, 1]
        await _refused("CODE_ATTEMPTS_EXHAUSTED", login, first, wrong, owner)
        await _refused("CODE_ATTEMPTS_EXHAUSTED", login, first, code, owner)
        later = await login.request_code(person[0], PHONE, new_ip())  # nothing left to take
        await _refused("WRONG_CODE", login, later, code, owner)
        assert len(outbox) == 1

    async def test_new_challenges_give_no_new_guesses_to_one_address(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            auth_settings: AuthSettings, new_ip: NewValue) -> None:
        guesser = new_ip()
        assert auth_settings.otp_failures_per_source == 2 * auth_settings.otp_max_attempts
        for _ in range(2):
            challenge = await service.login.request_code(person[0], PHONE, guesser)
            await service.login.drain()
            wrong = _other_code(_code(outbox[-1][1]))
            for _ in range(auth_settings.otp_max_attempts - 1):
                await _refused("WRONG_CODE", service.login, challenge, wrong, guesser)
            await _refused("CODE_ATTEMPTS_EXHAUSTED", service.login, challenge, wrong, guesser)
        third = await service.login.request_code(person[0], PHONE, guesser)
        await service.login.drain()
        with pytest.raises(RateLimited) as limited:  # even with the right code
            await service.login.verify(str(third.id), _code(outbox[-1][1]), DEVICE, guesser)
        assert 0 < limited.value.retry_after <= auth_settings.otp_failures_window_seconds
        own = new_ip()  # the person, elsewhere, is not held
        challenge = await service.login.request_code(person[0], PHONE, own)
        await service.login.drain()
        tokens = await service.login.verify(str(challenge.id), _code(outbox[-1][1]), DEVICE, own)
        assert await _person_of(service, tokens) == person[1]

    async def test_guessing_from_many_addresses_meets_a_ceiling_per_iin(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, gateway: SmsGateway, person: tuple[str, uuid.UUID],
            outbox: Outbox, new_ip: NewValue) -> None:
        login = _login(engine, service, auth_settings, directory, gateway,
                       otp_failures_per_iin=4)
        for _ in range(2):
            address = new_ip()
            challenge = await login.request_code(person[0], PHONE, address)
            await login.drain()
            for _ in range(2):
                await _refused("WRONG_CODE", login, challenge,
                               _other_code(_code(outbox[-1][1])), address)
        address = new_ip()
        challenge = await login.request_code(person[0], PHONE, address)
        await login.drain()
        with pytest.raises(RateLimited) as limited:
            await login.verify(str(challenge.id), _code(outbox[-1][1]), DEVICE, address)
        assert 0 < limited.value.retry_after <= auth_settings.otp_failures_window_seconds

    async def test_a_wrong_code_for_no_one_counts_alike(
            self, service: AuthService, new_iin: NewValue, auth_settings: AuthSettings,
            new_ip: NewValue) -> None:
        iin, guesser = new_iin(), new_ip()
        for _ in range(2):
            challenge = await service.login.request_code(iin, PHONE, guesser)
            for _ in range(auth_settings.otp_max_attempts - 1):
                await _refused("WRONG_CODE", service.login, challenge, "000000", guesser)
            await _refused("CODE_ATTEMPTS_EXHAUSTED", service.login, challenge, "000000",
                           guesser)
        third = await service.login.request_code(iin, PHONE, guesser)
        with pytest.raises(RateLimited):
            await service.login.verify(str(third.id), "000000", DEVICE, guesser)


class TestStorage:
    async def test_the_code_is_stored_only_as_its_hash(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            engine: AsyncEngine, new_ip: NewValue) -> None:
        challenge = await service.login.request_code(person[0], PHONE, new_ip())
        await service.login.drain()
        code = _code(outbox[0][1])
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT code_hash, person_id, attempts, consumed_at FROM auth.login_challenge "
                "WHERE id = :id"), {"id": challenge.id})).one()
        code_hash = bytes(row.code_hash)
        assert code_hash == service.secrets.digest("otp", f"{challenge.id}:{code}")
        assert code.encode() not in code_hash and code not in code_hash.hex()
        assert (row.person_id, row.attempts, row.consumed_at) == (person[1], 0, None)

    async def test_throttle_buckets_hold_no_iin_and_no_address(
            self, service: AuthService, person: tuple[str, uuid.UUID], engine: AsyncEngine,
            new_ip: NewValue) -> None:
        address = new_ip()
        await service.login.request_code(person[0], PHONE, address)
        async with engine.connect() as conn:
            buckets = list((await conn.execute(text(
                "SELECT bucket FROM auth.throttle WHERE bucket LIKE 'otp-send:%'"))).scalars())
        assert buckets
        assert not [b for b in buckets if person[0] in b or address in b]


class TestInput:
    @pytest.mark.parametrize("typed", ["8 701 123 45 67", "+7 (701) 123-45-67", "87011234567",
                                       "77011234567", "7011234567", "+77011234567"])
    def test_phone_numbers_are_normalised(self, typed: str) -> None:
        assert normalize_phone(typed) == "+77011234567"

    @pytest.mark.parametrize("typed", ["", "701 123 45", "8 701 123 45", "+1 202 555 0143 9",
                                       "+7 701 123 45 67 8", "phone"])
    def test_numbers_that_are_not_kazakh_numbers_are_refused(self, typed: str) -> None:
        with pytest.raises(Refused) as refused:
            normalize_phone(typed)
        assert refused.value.reason == "PHONE_INVALID"
        assert refused.value.field == "phone"

    async def test_a_short_phone_is_refused_before_anything_is_counted(
            self, service: AuthService, person: tuple[str, uuid.UUID], outbox: Outbox,
            new_ip: NewValue) -> None:
        for _ in range(5):
            with pytest.raises(Refused) as refused:
                await service.login.request_code(person[0], "701 12", new_ip())
            assert refused.value.reason == "PHONE_INVALID"
        await service.login.request_code(person[0], PHONE, new_ip())  # not throttled

    @pytest.mark.parametrize("change", ["check digit", "letters", "short", "month 13"])
    async def test_an_invalid_iin_is_refused_without_repeating_it(
            self, service: AuthService, person: tuple[str, uuid.UUID], new_ip: NewValue,
            change: str) -> None:
        iin = person[0]
        bad = {
            "check digit": iin[:11] + str((int(iin[11]) + 1) % 10),
            "letters": iin[:6] + "ABCDEF",
            "short": iin[:11],
            "month 13": "901303" + iin[6:],
        }[change]
        with pytest.raises(Refused) as refused:
            await service.login.request_code(bad, PHONE, new_ip())
        assert refused.value.reason == "IIN_INVALID"
        assert refused.value.field == "iin"
        assert bad not in refused.value.message and bad not in str(refused.value)
        assert refused.value.__cause__ is None


class FailingGateway:
    """An operator that is down."""

    async def send(self, phone: str, text: str) -> None:
        raise ConnectionError(f"could not deliver {text!r} to {phone}")


class TestSending:
    async def test_a_failing_gateway_neither_fails_the_request_nor_logs_the_code(
            self, engine: AsyncEngine, service: AuthService, auth_settings: AuthSettings,
            directory: PersonDirectory, person: tuple[str, uuid.UUID], new_ip: NewValue,
            caplog: pytest.LogCaptureFixture) -> None:
        login = CitizenLogin(engine, service.secrets, auth_settings, directory,
                             FailingGateway(), service.sessions)
        with caplog.at_level(logging.DEBUG, logger="auth"):
            challenge = await login.request_code(person[0], PHONE, new_ip())
            await login.drain()
        assert isinstance(challenge, Challenge)
        assert caplog.records, "the failure is logged"
        logged = caplog.text
        assert PHONE not in logged and person[0] not in logged
        assert not re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", logged)

    async def test_the_development_sink_keeps_messages_private(
            self, tmp_path: Path) -> None:
        sink = DevSmsSink(tmp_path / "dev" / "sms.jsonl")
        await sink.send(PHONE, "first")
        await sink.send("+77020000000", "second")
        assert sink.path.stat().st_mode & 0o777 == 0o600
        assert [(m.phone, m.text) for m in sink.recent()] == [
            ("+77020000000", "second"), (PHONE, "first")]
        assert [m.text for m in sink.recent(1)] == ["second"]

    def test_production_refuses_the_development_sink(self, auth_settings: AuthSettings) -> None:
        production = auth_settings.model_copy(update={"environment": "production"})
        with pytest.raises(RuntimeError):
            gateway_for(production)
        assert isinstance(gateway_for(auth_settings), DevSmsSink)
        disabled = auth_settings.model_copy(update={"sms_gateway": "disabled"})
        assert isinstance(gateway_for(disabled), DisabledGateway)
