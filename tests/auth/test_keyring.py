"""Signing keys in the database: the schedule, rotation across processes, sealing, reloads."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.errors import InvalidToken
from auth.keyring import KeyRing, Schedule, arrange
from auth.keys import SigningKey, signing_key_from
from auth.principals import Anonymous, Citizen
from auth.secrets import Secrets
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience, TokenIssuer, TokenVerifier

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(days=1)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _key() -> SigningKey:
    return signing_key_from(Ed25519PrivateKey.generate())


async def _stored_kids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT kid FROM auth.signing_key ORDER BY not_before"))).scalars())


async def _clear_keys(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM auth.signing_key"))


@pytest.fixture
async def no_keys(engine: AsyncEngine) -> AsyncIterator[None]:
    """An empty key table for the test; emptied again after (moved clocks leave odd keys)."""
    await _clear_keys(engine)
    yield
    await _clear_keys(engine)


async def _until_waiting(engine: AsyncEngine, sessions: int) -> None:
    """Wait until ``sessions`` other sessions on this database wait for a lock."""
    async with engine.connect() as conn:
        for _ in range(500):
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar_one()
            if waiting >= sessions:
                return
            await conn.rollback()
            await asyncio.sleep(0.01)
    raise AssertionError(f"only {waiting} sessions waited for a lock")


def _ring(engine: AsyncEngine, settings: AuthSettings, clock: Clock | None = None) -> KeyRing:
    if clock is None:
        return KeyRing(engine, Secrets.from_settings(settings), Schedule.from_settings(settings))
    return KeyRing(engine, Secrets.from_settings(settings), Schedule.from_settings(settings),
                   clock)


def _bearer(token: str) -> str:
    return f"Bearer {token}"


class TestArrange:
    def test_a_single_key_signs(self) -> None:
        key = _key()
        signing, live = arrange([(key, T0)], OVERLAP, T0 + timedelta(days=400))
        assert signing is not None and signing.key is key
        assert signing.verify_until is None
        assert [k.key for k in live] == [key]

    def test_no_key_signs_before_its_not_before(self) -> None:
        key = _key()
        signing, live = arrange([(key, T0)], OVERLAP, T0 - timedelta(seconds=1))
        assert signing is None
        assert [k.key for k in live] == [key]

    def test_the_newest_key_whose_time_has_come_signs(self) -> None:
        old, new = _key(), _key()
        signing, live = arrange([(new, T0 + timedelta(days=30)), (old, T0)], OVERLAP,
                                T0 + timedelta(days=30, seconds=1))
        assert signing is not None and signing.key is new
        assert {k.key.kid for k in live} == {old.kid, new.kid}

    def test_a_prepublished_key_is_published_but_does_not_sign(self) -> None:
        current, upcoming = _key(), _key()
        signing, live = arrange([(current, T0), (upcoming, T0 + timedelta(days=30))], OVERLAP,
                                T0 + timedelta(days=29, hours=23))
        assert signing is not None and signing.key is current
        assert {k.key.kid for k in live} == {current.kid, upcoming.kid}
        assert signing.verify_until == T0 + timedelta(days=30) + OVERLAP

    def test_a_retired_key_verifies_until_the_overlap_ends_then_drops_out(self) -> None:
        old, new = _key(), _key()
        handover = T0 + timedelta(days=30)
        rows = [(old, T0), (new, handover)]
        signing, live = arrange(rows, OVERLAP, handover + OVERLAP - timedelta(seconds=1))
        assert signing is not None and signing.key is new
        assert old.kid in {k.key.kid for k in live}
        signing, live = arrange(rows, OVERLAP, handover + OVERLAP)
        assert signing is not None and signing.key is new
        assert [k.key for k in live] == [new]

    def test_three_generations(self) -> None:
        first, second, third = _key(), _key(), _key()
        rows = [(third, T0 + timedelta(days=60)), (first, T0), (second, T0 + timedelta(days=30))]
        signing, live = arrange(rows, OVERLAP, T0 + timedelta(days=59))
        assert signing is not None and signing.key is second
        assert [k.key for k in live] == [second, third]

    def test_no_keys(self) -> None:
        assert arrange([], OVERLAP, T0) == (None, [])


@pytest.mark.usefixtures("no_keys")
class TestRotation:
    async def test_the_first_refresh_creates_one_key_and_it_signs(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        ring = _ring(engine, auth_settings)
        with pytest.raises(RuntimeError):
            ring.signing_key  # noqa: B018
        await ring.refresh()
        assert await _stored_kids(engine) == [ring.signing_key.kid]
        assert [k["kid"] for k in ring.jwks()["keys"]] == [ring.signing_key.kid]
        await ring.refresh()
        await _ring(engine, auth_settings).refresh()
        assert await _stored_kids(engine) == [ring.signing_key.kid]

    async def test_the_first_key_signs_tokens_the_ring_verifies(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        service = await AuthService.open(engine, auth_settings)
        principal = await service.principal_from_header(
            _bearer(service.mint(str(uuid.uuid4()), Audience.MOBILE)))
        assert isinstance(principal, Citizen)
        jwk = service.jwks()["keys"][0]
        assert jwk["kid"] == service.keyring.signing_key.kid
        assert jwk["crv"] == "Ed25519" and "d" not in jwk

    async def test_a_due_successor_is_made_once_by_concurrent_refreshes(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        first = _ring(engine, auth_settings)
        await first.refresh()
        original = first.signing_key.kid
        schedule = Schedule.from_settings(auth_settings)
        later = Clock(datetime.now(UTC) + schedule.rotate_every - schedule.prepublish
                      + timedelta(minutes=1))
        rings = [_ring(engine, auth_settings, later) for _ in range(3)]
        async with engine.connect() as blocker:
            # Hold every ring at its first look at the table, then let them all go at once.
            await blocker.begin()
            await blocker.execute(text("LOCK TABLE auth.signing_key IN ACCESS EXCLUSIVE MODE"))
            refreshing = asyncio.gather(*(ring.refresh() for ring in rings))
            await _until_waiting(engine, len(rings))
            await blocker.rollback()
        await refreshing
        kids = await _stored_kids(engine)
        assert len(kids) == 2 and kids[0] == original
        for ring in rings:
            assert ring.signing_key.kid == original  # the successor is only prepublished
            assert {k["kid"] for k in ring.jwks()["keys"]} == set(kids)
        await asyncio.gather(*(ring.refresh() for ring in rings))
        assert await _stored_kids(engine) == kids

    async def test_the_successor_signs_after_the_prepublish_interval(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        await _ring(engine, auth_settings).refresh()
        schedule = Schedule.from_settings(auth_settings)
        clock = Clock(datetime.now(UTC) + schedule.rotate_every - schedule.prepublish
                      + timedelta(minutes=1))
        ring = _ring(engine, auth_settings, clock)
        await ring.refresh()
        original, successor = await _stored_kids(engine)
        assert ring.signing_key.kid == original
        clock.now += schedule.prepublish
        await ring.refresh()
        assert ring.signing_key.kid == successor
        assert await _stored_kids(engine) == [original, successor]
        assert original in ring.public_keys()  # tokens it signed run out in peace
        clock.now += schedule.overlap + timedelta(seconds=1)
        await ring.load()
        assert set(ring.public_keys()) == {successor}

    async def test_a_ring_whose_view_is_stale_creates_no_extra_key(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        await _ring(engine, auth_settings).refresh()
        schedule = Schedule.from_settings(auth_settings)
        clock = Clock(datetime.now(UTC) + schedule.rotate_every)
        stale = _ring(engine, auth_settings, clock)
        await stale.load()  # knows only the first key, which is due for a successor
        other = _ring(engine, auth_settings, clock)
        await other.refresh()
        await stale.refresh()
        assert len(await _stored_kids(engine)) == 2

    async def test_immediate_rotation_signs_at_once_and_the_old_key_still_verifies(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        service = await AuthService.open(engine, auth_settings)
        old_kid = service.keyring.signing_key.kid
        subject = str(uuid.uuid4())
        old_token = service.mint(subject, Audience.MOBILE)
        new_kid = await service.keyring.rotate(immediately=True)
        assert new_kid is not None and new_kid != old_kid
        await service.keyring.load()
        assert service.keyring.signing_key.kid == new_kid
        new_token = service.mint(subject, Audience.MOBILE)
        assert jwt.get_unverified_header(new_token)["kid"] == new_kid
        for token in (old_token, new_token):
            principal = await service.principal_from_header(_bearer(token))
            assert isinstance(principal, Citizen) and str(principal.person_id) == subject
        assert {k["kid"] for k in service.jwks()["keys"]} == {old_kid, new_kid}

    async def test_a_lazy_rotation_that_is_not_due_does_nothing(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        ring = _ring(engine, auth_settings)
        await ring.refresh()
        assert await ring.rotate(lazily=True) is None
        assert len(await _stored_kids(engine)) == 1

    async def test_a_scheduled_rotation_is_prepublished(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        ring = _ring(engine, auth_settings)
        await ring.refresh()
        current = ring.signing_key.kid
        upcoming = await ring.rotate()
        await ring.load()
        assert ring.signing_key.kid == current
        assert upcoming in ring.public_keys()


@pytest.mark.usefixtures("no_keys")
class TestSealing:
    async def test_the_private_key_is_stored_sealed(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        ring = _ring(engine, auth_settings)
        await ring.refresh()
        key = ring.signing_key
        async with engine.connect() as conn:
            public, sealed = (await conn.execute(text(
                "SELECT public_key, private_key_sealed FROM auth.signing_key WHERE kid = :k"),
                {"k": key.kid})).one()
        raw = key.private_key.private_bytes(serialization.Encoding.Raw,
                                            serialization.PrivateFormat.Raw,
                                            serialization.NoEncryption())
        der = key.private_key.private_bytes(serialization.Encoding.DER,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
        assert raw not in sealed and der not in sealed
        assert public == key.public_key.public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        secrets = Secrets.from_settings(auth_settings)
        assert secrets.decrypt(sealed, key.kid) == der
        with pytest.raises(InvalidTag):
            Secrets.from_root(bytes(range(1, 33))).decrypt(sealed, key.kid)
        with pytest.raises(InvalidTag):
            secrets.decrypt(sealed, "another kid")

    async def test_a_ring_with_another_secret_cannot_open_the_keys(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        await _ring(engine, auth_settings).refresh()
        stranger = KeyRing(engine, Secrets.from_root(bytes(range(1, 33))),
                           Schedule.from_settings(auth_settings))
        with pytest.raises(RuntimeError, match="AUTH_SECRET_KEY is not the secret"):
            await stranger.load()


class TestReload:
    async def test_a_key_another_process_just_made_is_accepted_after_a_reload(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        here = await AuthService.open(engine, auth_settings)
        there = await AuthService.open(engine, auth_settings)
        new_kid = await there.keyring.rotate(immediately=True)
        await there.keyring.load()
        subject = str(uuid.uuid4())
        token = there.mint(subject, Audience.MOBILE)
        assert jwt.get_unverified_header(token)["kid"] == new_kid
        assert new_kid not in here.keyring.public_keys()
        principal = await here.principal_from_header(_bearer(token))
        assert isinstance(principal, Citizen) and str(principal.person_id) == subject
        assert new_kid in here.keyring.public_keys()

    async def test_a_retired_key_is_refused_when_its_overlap_ends_not_at_the_next_reload(
            self, engine: AsyncEngine, auth_settings: AuthSettings, no_keys: None) -> None:
        clock = Clock(datetime.now(UTC))
        service = AuthService(engine, auth_settings)
        service.keyring = _ring(engine, auth_settings, clock)
        await service.keyring.refresh()
        subject = str(uuid.uuid4())
        old_token = service.mint(subject, Audience.MOBILE)
        await service.keyring.rotate(immediately=True)
        await service.keyring.load()
        new_token = service.mint(subject, Audience.MOBILE)
        for token in (old_token, new_token):
            assert isinstance(await service.principal_from_header(_bearer(token)), Citizen)
        # The overlap ends; the process has not reloaded its keys since (its next scheduled
        # reload may be minutes away).
        assert service.verifier().remembered == 2  # both verified tokens are remembered
        clock.now += timedelta(seconds=auth_settings.key_overlap_seconds + 1)
        refused = await service.principal_from_header(_bearer(old_token))
        assert isinstance(refused, Anonymous) and refused.failure is not None
        assert isinstance(await service.principal_from_header(_bearer(new_token)), Citizen)

    async def test_unknown_keys_reload_at_most_once_per_interval(
            self, engine: AsyncEngine, auth_settings: AuthSettings) -> None:
        service = await AuthService.open(engine, auth_settings)
        forged = TokenIssuer(_key(), auth_settings.issuer, timedelta(minutes=5))
        before = service.keyring.generation
        for _ in range(3):
            principal = await service.principal_from_header(
                _bearer(forged.mint(str(uuid.uuid4()), Audience.MOBILE)))
            assert isinstance(principal, Anonymous) and principal.failure is not None
            assert "unknown key" in principal.failure.message
        assert service.keyring.generation == before + 1

    async def test_a_token_signed_by_a_dropped_key_is_refused(
            self, engine: AsyncEngine, auth_settings: AuthSettings, no_keys: None) -> None:
        ring = _ring(engine, auth_settings)
        await ring.refresh()
        old = TokenIssuer(ring.signing_key, auth_settings.issuer, timedelta(minutes=15))
        await ring.rotate(immediately=True)
        token = old.mint(str(uuid.uuid4()), Audience.MOBILE)
        service = await AuthService.open(engine, auth_settings)
        assert isinstance(await service.principal_from_header(_bearer(token)), Citizen)
        schedule = Schedule.from_settings(auth_settings)
        later = _ring(engine, auth_settings, Clock(
            datetime.now(UTC) + schedule.overlap + timedelta(minutes=1)))
        await later.load()
        assert old.key.kid not in later.public_keys()
        verifier = TokenVerifier(later.public_keys(), auth_settings.issuer)
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(token, Audience.MOBILE)


@pytest.mark.usefixtures("no_keys")
async def test_a_process_whose_clock_is_a_little_behind_still_signs_with_a_new_key(
        engine: AsyncEngine, auth_settings: AuthSettings) -> None:
    creator = _ring(engine, auth_settings)
    await creator.refresh()
    behind = _ring(engine, auth_settings, Clock(datetime.now(UTC) - timedelta(seconds=10)))
    await behind.load()
    assert behind.ready
    assert behind.signing_key.kid == creator.signing_key.kid
