"""Sessions: refresh-token families, rotation, reuse detection, signing out."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.errors import InvalidToken
from auth.principals import Anonymous, Citizen, Staff
from auth.service import AuthService
from auth.sessions import Device, Mint, Sessions, Tokens
from auth.settings import AuthSettings
from auth.tokens import Audience

SignIn = Callable[[uuid.UUID, Device], Awaitable[Tokens]]
PHONE = Device("Pixel 8", "android")
TABLET = Device("iPad", "ios")


async def _refresh_fails(service: AuthService, refresh_token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as ended:
        await service.sessions.refresh(refresh_token)
    assert ended.value.reason == "SESSION_ENDED"
    return ended.value


async def _citizen(service: AuthService, access_token: str) -> Citizen:
    principal = await service.principal_from_header(f"Bearer {access_token}")
    assert isinstance(principal, Citizen), principal
    return principal


class TestSignIn:
    async def test_sign_in_hands_out_access_and_refresh_tokens(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        before = datetime.now(UTC)
        tokens = await sign_in(person, PHONE)
        assert tokens.refresh_token.startswith("rt.") and len(tokens.refresh_token) > 40
        assert tokens.access_token.count(".") == 2
        assert before < tokens.access_expires_at <= before + timedelta(minutes=16)
        assert tokens.refresh_expires_at > before + timedelta(days=29)

    async def test_the_access_token_names_its_session(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        tokens = await sign_in(person, PHONE)
        claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
        assert claims["sid"] == str(tokens.session_id)
        assert claims["sub"] == str(person) and claims["aud"] == "mobile"
        citizen = await _citizen(service, tokens.access_token)
        assert citizen.person_id == person
        assert citizen.session_id == tokens.session_id

    async def test_the_session_records_the_device(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        tokens = await sign_in(person, PHONE)
        [info] = await service.sessions.list_active(str(person))
        assert info.id == tokens.session_id
        assert (info.device_name, info.platform, info.signed_in_by) == (
            "Pixel 8", "android", "sms")


class TestRefresh:
    async def test_refresh_rotates_the_refresh_token(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        first = await sign_in(person, PHONE)
        second = await service.sessions.refresh(first.refresh_token)
        assert second.refresh_token != first.refresh_token
        assert second.session_id == first.session_id
        citizen = await _citizen(service, second.access_token)
        assert citizen.person_id == person and citizen.session_id == first.session_id
        third = await service.sessions.refresh(second.refresh_token)
        assert third.session_id == first.session_id

    async def test_a_used_refresh_token_does_not_work_again(
            self, service: AuthService, sign_in: SignIn) -> None:
        first = await sign_in(uuid.uuid4(), PHONE)
        await service.sessions.refresh(first.refresh_token)
        await _refresh_fails(service, first.refresh_token)

    async def test_reuse_revokes_the_whole_family(
            self, service: AuthService, sign_in: SignIn) -> None:
        first = await sign_in(uuid.uuid4(), PHONE)
        second = await service.sessions.refresh(first.refresh_token)
        await _refresh_fails(service, first.refresh_token)  # a stolen copy comes back
        await _refresh_fails(service, second.refresh_token)  # so the newest one ends too

    async def test_reuse_is_recorded_on_the_family(
            self, service: AuthService, sign_in: SignIn, engine: AsyncEngine) -> None:
        first = await sign_in(uuid.uuid4(), PHONE)
        await service.sessions.refresh(first.refresh_token)
        await _refresh_fails(service, first.refresh_token)
        async with engine.connect() as conn:
            revoked_at, reason = (await conn.execute(text(
                "SELECT revoked_at, revoked_reason FROM auth.session_family WHERE id = :id"),
                {"id": first.session_id})).one()
        assert revoked_at is not None and reason == "refresh token reused"

    async def test_reuse_in_one_family_leaves_another_alone(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        phone, tablet = await sign_in(person, PHONE), await sign_in(person, TABLET)
        await service.sessions.refresh(phone.refresh_token)
        await _refresh_fails(service, phone.refresh_token)
        await service.sessions.refresh(tablet.refresh_token)

    @pytest.mark.parametrize("token", ["", "rt.", "rt.nonsense", "not a token at all"])
    async def test_an_unknown_refresh_token_ends_nothing_and_fails(
            self, service: AuthService, token: str) -> None:
        await _refresh_fails(service, token)

    async def test_surrounding_whitespace_is_ignored(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        first = await sign_in(person, PHONE)
        again = await service.sessions.refresh(f"  {first.refresh_token}\n")
        assert again.session_id == first.session_id
        assert again.refresh_token != first.refresh_token
        assert (await _citizen(service, again.access_token)).person_id == person
        await _refresh_fails(service, first.refresh_token)  # it was the token, and it is used

    async def test_an_idle_refresh_token_expires(
            self, service: AuthService, sign_in: SignIn, auth_settings: AuthSettings,
            engine: AsyncEngine) -> None:
        first = await sign_in(uuid.uuid4(), PHONE)
        later = datetime.now(UTC) + timedelta(days=auth_settings.refresh_idle_days, minutes=1)
        future = Sessions(engine, service.secrets, auth_settings, _mint_with(service),
                          clock=lambda: later)
        await _refresh_fails_with(future, first.refresh_token)

    async def test_a_family_ends_after_its_maximum_age(
            self, service: AuthService, sign_in: SignIn, auth_settings: AuthSettings,
            engine: AsyncEngine) -> None:
        person = uuid.uuid4()
        tokens = await sign_in(person, PHONE)
        now = datetime.now(UTC)
        clock_value = [now]
        moving = Sessions(engine, service.secrets, auth_settings, _mint_with(service),
                          clock=lambda: clock_value[0])
        # used every 20 days, never idle for long, but 90 days is the limit
        for _ in range(4):
            clock_value[0] += timedelta(days=20)
            tokens = await moving.refresh(tokens.refresh_token)
        assert tokens.refresh_expires_at <= now + timedelta(days=auth_settings.session_max_days,
                                                            seconds=5)
        clock_value[0] = now + timedelta(days=auth_settings.session_max_days, minutes=1)
        await _refresh_fails_with(moving, tokens.refresh_token)


class TestSignOut:
    async def test_ending_one_device_leaves_the_other_signed_in(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        phone, tablet = await sign_in(person, PHONE), await sign_in(person, TABLET)
        assert phone.session_id != tablet.session_id
        assert await service.sessions.end(phone.session_id, str(person))
        await _refresh_fails(service, phone.refresh_token)
        await service.sessions.refresh(tablet.refresh_token)

    async def test_nobody_ends_another_persons_session(
            self, service: AuthService, sign_in: SignIn) -> None:
        victim = await sign_in(uuid.uuid4(), PHONE)
        assert not await service.sessions.end(victim.session_id, str(uuid.uuid4()))
        await service.sessions.refresh(victim.refresh_token)

    async def test_ending_twice_reports_nothing_ended(
            self, service: AuthService, sign_in: SignIn) -> None:
        person = uuid.uuid4()
        tokens = await sign_in(person, PHONE)
        assert await service.sessions.end(tokens.session_id, str(person))
        assert not await service.sessions.end(tokens.session_id, str(person))

    async def test_end_all_ends_every_device(
            self, service: AuthService, sign_in: SignIn, engine: AsyncEngine) -> None:
        person, bystander = uuid.uuid4(), uuid.uuid4()
        phone, tablet = await sign_in(person, PHONE), await sign_in(person, TABLET)
        tablet = await service.sessions.refresh(tablet.refresh_token)
        other = await sign_in(bystander, PHONE)
        assert await service.sessions.end_all(str(person), Audience.MOBILE) == 2
        await _refresh_fails(service, phone.refresh_token)
        await _refresh_fails(service, tablet.refresh_token)
        assert await service.sessions.list_active(str(person)) == []
        await service.sessions.refresh(other.refresh_token)
        assert await service.sessions.end_all(str(person), Audience.MOBILE) == 0

    async def test_active_lists_the_devices_most_recent_first(
            self, service: AuthService, sign_in: SignIn, engine: AsyncEngine) -> None:
        person = uuid.uuid4()
        phone = await sign_in(person, PHONE)
        tablet = await sign_in(person, TABLET)
        await service.sessions.refresh(phone.refresh_token)
        listed = await service.sessions.list_active(str(person))
        assert [info.id for info in listed] == [phone.session_id, tablet.session_id]


class TestStorage:
    async def test_refresh_tokens_are_stored_only_as_their_hash(
            self, service: AuthService, sign_in: SignIn, engine: AsyncEngine) -> None:
        first = await sign_in(uuid.uuid4(), PHONE)
        second = await service.sessions.refresh(first.refresh_token)
        rows = await _rows_of_family(engine, first.session_id)
        for token in (first.refresh_token, second.refresh_token):
            secret_part = token.removeprefix("rt.")
            assert all(secret_part not in row for row in rows)
        async with engine.connect() as conn:
            hashes = set((await conn.execute(text(
                "SELECT token_hash FROM auth.refresh_token WHERE family_id = :f"),
                {"f": first.session_id})).scalars())
        assert hashes == {service.secrets.digest("refresh", first.refresh_token),
                          service.secrets.digest("refresh", second.refresh_token)}
        for token in (first.refresh_token, second.refresh_token):
            assert all(token.encode() not in stored for stored in hashes)



class TestHeader:
    async def test_no_header_is_anonymous_without_a_failure(self, service: AuthService) -> None:
        assert await service.principal_from_header(None) == Anonymous()
        assert await service.principal_from_header("") == Anonymous()

    @pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ",
                                        "Bearer not.a.token", "token"])
    async def test_a_bad_header_is_anonymous_with_the_reason(
            self, service: AuthService, header: str) -> None:
        principal = await service.principal_from_header(header)
        assert isinstance(principal, Anonymous) and principal.failure is not None

    async def test_an_expired_access_token_is_refused(self, service: AuthService) -> None:
        old = service.issuer().mint(str(uuid.uuid4()), Audience.MOBILE,
                                    now=datetime.now(UTC) - timedelta(hours=1))
        principal = await service.principal_from_header(f"Bearer {old}")
        assert isinstance(principal, Anonymous) and principal.failure is not None
        assert "expired" in principal.failure.message

    async def test_the_audience_decides_the_kind_of_principal(
            self, service: AuthService) -> None:
        subject, clinic = uuid.uuid4(), uuid.uuid4()
        desk = service.mint(str(subject), Audience.DESK, {"org": str(clinic), "name": "A"})
        staff = await service.principal_from_header(f"Bearer {desk}")
        assert isinstance(staff, Staff) and staff.provider_id == clinic
        mobile = service.mint(str(subject), Audience.MOBILE)
        citizen = await service.principal_from_header(f"bearer {mobile}")
        assert isinstance(citizen, Citizen) and citizen.session_id is None

    async def test_a_desk_token_without_a_clinic_is_refused(self, service: AuthService) -> None:
        token = service.mint(str(uuid.uuid4()), Audience.DESK)
        principal = await service.principal_from_header(f"Bearer {token}")
        assert isinstance(principal, Anonymous) and principal.failure is not None


async def _rows_of_family(engine: AsyncEngine, family: uuid.UUID) -> list[str]:
    """Every row about the family, as text (bytea columns in hex and as escaped bytes)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT f::text FROM auth.session_family f WHERE f.id = :f "
            "UNION ALL SELECT t::text || encode(t.token_hash, 'escape') "
            "FROM auth.refresh_token t WHERE t.family_id = :f"), {"f": family})).scalars()
        return [str(row) for row in rows]


def _mint_with(service: AuthService) -> Mint:
    """Minting as the service does, for a ``Sessions`` on a moved clock."""
    def mint(subject: str, audience: Audience, extra: Mapping[str, str]) -> tuple[str, datetime]:
        return service.issuer().mint_with_expiry(subject, audience, extra=extra)
    return mint


async def _refresh_fails_with(sessions: Sessions, refresh_token: str) -> None:
    with pytest.raises(InvalidToken) as ended:
        await sessions.refresh(refresh_token)
    assert ended.value.reason == "SESSION_ENDED"

