"""``auth`` for the desk console: browser sessions and their CSRF tokens, a clinic
administrator's staff management (one-time codes, the audit trail), consent by an SMS code
read out, and an onboarding's progress as the desk follows it.

Real PostgreSQL; the people ``backend`` keeps are the fake directory of ``conftest``; SMS go
to the development sink file, where the tests read them as a phone would.  Times are moved
with SQL on the rows (never by sleeping).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import staff as staff_module
from auth.console import ConsoleSession
from auth.errors import InvalidToken, RateLimited, Refused
from auth.login import PersonDirectory
from auth.service import AuthService
from auth.sessions import Device
from auth.settings import AuthSettings
from auth.sms import DevSmsSink
from auth.staff import OnboardingStage, StaffMember, Window
from tests.auth.conftest import People

NewValue = Callable[[], str]
NewName = Callable[[str], str]

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
CLINIC = "Городская поликлиника № 5"
DESK_PC = Device("Reception PC 2", "web")
NEW_PHONE = Device("Redmi Note 13", "android")


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its smallest cost (the real parameters are tested in test_staff)."""
    monkeypatch.setattr(staff_module, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def sink_service(engine: AsyncEngine, auth_settings: AuthSettings,
                       directory: PersonDirectory) -> AuthService:
    """``auth`` with the development SMS sink (a file of this test's own), as the app runs."""
    return await AuthService.open(engine, auth_settings, directory=directory)


def _name(new_name: NewName, prefix: str) -> str:
    """A username that ``StaffAdmin`` accepts (lower case, at most 32 characters)."""
    return new_name(prefix).lower()[:32]


async def _admin(service: AuthService, new_name: NewName,
                 provider: uuid.UUID | None = None, name: str = "Gulnara Admin") -> StaffMember:
    return await service.desk.create_staff(_name(new_name, "admin"), name, PASSWORD,
                                           provider or uuid.uuid4(), CLINIC, role="admin")


async def _worker(service: AuthService, new_name: NewName,
                  provider: uuid.UUID | None = None, name: str = "Aigerim Worker"
                  ) -> StaffMember:
    return await service.desk.create_staff(_name(new_name, "worker"), name, PASSWORD,
                                           provider or uuid.uuid4(), CLINIC)


async def _refused(reason: str, call: Awaitable[object]) -> Refused:
    with pytest.raises(Refused) as refused:
        await call
    assert refused.value.reason == reason, refused.value.message
    return refused.value


async def _session_row(engine: AsyncEngine, session: ConsoleSession
                       ) -> tuple[datetime, datetime | None, str | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT last_seen_at, ended_at, ended_reason FROM auth.desk_session "
            "WHERE id = :id"), {"id": session.id})).one()
    return row[0], row[1], row[2]


async def _move_session(engine: AsyncEngine, session: ConsoleSession, column: str,
                        seconds_ago: int) -> None:
    assert column in ("last_seen_at", "expires_at")
    async with engine.begin() as conn:
        await conn.execute(text(
            f"UPDATE auth.desk_session SET {column} = now() - make_interval(secs => :s) "
            "WHERE id = :id"), {"s": seconds_ago, "id": session.id})


# -- browser sessions --------------------------------------------------------------------------


class TestConsoleSessions:
    async def test_a_session_resolves_to_its_worker_and_touches_last_seen(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine,
            auth_settings: AuthSettings) -> None:
        member = await _worker(service, new_name)
        token, session = await service.console.start(member)
        assert len(token) >= 43  # 256 random bits
        assert session.member == member
        assert session.expires_at - session.created_at == timedelta(
            seconds=auth_settings.desk_session_max_seconds)
        assert session.idle_until - session.created_at == timedelta(
            seconds=auth_settings.desk_idle_seconds)
        await _move_session(engine, session, "last_seen_at", 600)
        before = datetime.now(UTC)
        resolved = await service.console.resolve(token)
        assert resolved is not None
        assert (resolved.id, resolved.member, resolved.expires_at) == (
            session.id, member, session.expires_at)
        last_seen, ended, _ = await _session_row(engine, session)
        assert last_seen >= before - timedelta(seconds=1) and ended is None
        assert resolved.idle_until >= before + timedelta(seconds=auth_settings.desk_idle_seconds
                                                         - 1)

    async def test_the_database_keeps_only_a_digest_of_the_token(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        token, session = await service.console.start(await _worker(service, new_name))
        async with engine.connect() as conn:
            stored = (await conn.execute(text(
                "SELECT token_hash FROM auth.desk_session WHERE id = :id"),
                {"id": session.id})).scalar_one()
        assert token.encode() not in bytes(stored)
        assert token not in bytes(stored).hex()

    async def test_idle_for_longer_than_the_idle_time_ends_it(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine,
            auth_settings: AuthSettings) -> None:
        token, session = await service.console.start(await _worker(service, new_name))
        idle = auth_settings.desk_idle_seconds
        await _move_session(engine, session, "last_seen_at", idle - 30)
        assert await service.console.resolve(token) is not None  # and touched again
        await _move_session(engine, session, "last_seen_at", idle + 1)
        assert await service.console.resolve(token) is None
        assert await service.console.resolve(token) is None, "resolving did not revive it"

    async def test_the_absolute_end_holds_however_busy_the_session(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        token, session = await service.console.start(await _worker(service, new_name))
        assert await service.console.resolve(token) is not None
        await _move_session(engine, session, "expires_at", 1)
        assert await service.console.resolve(token) is None

    async def test_the_idle_end_never_passes_the_absolute_end(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        token, session = await service.console.start(await _worker(service, new_name))
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.desk_session SET expires_at = now() + interval '60 seconds' "
                "WHERE id = :id"), {"id": session.id})
        resolved = await service.console.resolve(token)
        assert resolved is not None
        assert resolved.idle_until == resolved.expires_at

    async def test_sign_out_ends_it(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        token, session = await service.console.start(await _worker(service, new_name))
        assert await service.console.end(token)
        assert await service.console.resolve(token) is None
        assert not await service.console.end(token), "ended once"
        _, ended, reason = await _session_row(engine, session)
        assert ended is not None and reason == "signed out"

    async def test_unknown_empty_and_oversized_tokens_resolve_to_nobody(
            self, service: AuthService) -> None:
        for token in (None, "", "x" * 43, "x" * 129):
            assert await service.console.resolve(token) is None
            assert not await service.console.end(token)

    async def test_other_sessions_of_the_worker_are_not_ended_by_a_sign_out(
            self, service: AuthService, new_name: NewName) -> None:
        member = await _worker(service, new_name)
        first, _ = await service.console.start(member)
        second, _ = await service.console.start(member)
        assert await service.console.end(first)
        assert await service.console.resolve(second) is not None

    async def test_a_deactivated_accounts_session_no_longer_resolves(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        member = await _worker(service, new_name)
        token, session = await service.console.start(member)
        async with engine.begin() as conn:  # inactive, even with the session row still open
            await conn.execute(text(
                "UPDATE auth.staff_account SET active = false WHERE id = :id"),
                {"id": member.id})
        assert await service.console.resolve(token) is None
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.staff_account SET active = true WHERE id = :id"),
                {"id": member.id})
        assert await service.console.resolve(token) is not None
        assert await service.desk.deactivate(member.username)  # the command line's way
        assert await service.console.resolve(token) is None
        _, ended, reason = await _session_row(engine, session)
        assert ended is not None and reason == "account deactivated"

    async def test_a_password_change_ends_every_session(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            engine: AsyncEngine) -> None:
        admin = await _admin(service, new_name)
        member = await _worker(service, new_name, admin.provider_id)
        browser, session = await service.console.start(member)
        api = await service.desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        code = await service.staff_admin.password_code(admin, member.id)
        assert await service.console.resolve(browser) is not None  # a code alone ends nothing
        await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                               new_ip())
        assert await service.console.resolve(browser) is None
        with pytest.raises(InvalidToken) as ended:
            await service.sessions.refresh(api.refresh_token)
        assert ended.value.reason == "SESSION_ENDED"
        _, _, reason = await _session_row(engine, session)
        assert reason == "password changed"
        await _refused("WRONG_CREDENTIALS", service.desk.authenticate(
            member.username, PASSWORD, new_ip()))
        assert (await service.desk.authenticate(member.username, NEW_PASSWORD, new_ip())
                ).id == member.id


class TestCsrf:
    async def test_a_token_matches_only_its_own_cookie_token(
            self, service: AuthService, new_name: NewName) -> None:
        member = await _worker(service, new_name)
        mine, _ = await service.console.start(member)
        theirs, _ = await service.console.start(member)
        console = service.console
        assert console.csrf(mine) == console.csrf(mine), "stable for the session"
        assert console.csrf_matches(mine, console.csrf(mine))
        assert not console.csrf_matches(mine, console.csrf(theirs))
        assert not console.csrf_matches(theirs, console.csrf(mine))
        assert not console.csrf_matches(f"pre:{mine}", console.csrf(mine)), "labels differ"
        assert not console.csrf_matches(mine, console.csrf(mine)[:-1])
        assert not console.csrf_matches(mine, console.csrf(mine).upper())
        for missing in (None, ""):
            assert not console.csrf_matches(mine, missing)
            assert not console.csrf_matches(missing, console.csrf(mine))

    async def test_the_token_reveals_nothing_of_the_cookie(
            self, service: AuthService, new_name: NewName) -> None:
        token, _ = await service.console.start(await _worker(service, new_name))
        csrf = service.console.csrf(token)
        assert re.fullmatch(r"[0-9a-f]{43}", csrf)
        assert token not in csrf and csrf not in token


# -- staff management --------------------------------------------------------------------------


class TestStaffAdmin:
    async def test_a_new_account_sets_its_password_with_the_code_once(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            auth_settings: AuthSettings) -> None:
        admin = await _admin(service, new_name)
        username = _name(new_name, "Dana.K")
        before = datetime.now(UTC)
        member, code = await service.staff_admin.create(admin, f"  {username.upper()} ",
                                                        "  Dana   Kairatovna ", "worker")
        assert (member.username, member.display_name, member.role) == (
            username, "Dana Kairatovna", "worker")
        assert (member.provider_id, member.provider_name) == (admin.provider_id, CLINIC)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code.code), code
        ttl = timedelta(seconds=auth_settings.staff_setup_code_ttl_seconds)
        assert before + ttl <= code.expires_at <= datetime.now(UTC) + ttl
        # No password yet: nobody signs in as the new account.
        await _refused("WRONG_CREDENTIALS", service.desk.authenticate(username, "", new_ip()))
        set_by = await service.staff_admin.set_password(username, code.code.lower(),
                                                        NEW_PASSWORD, new_ip())
        assert set_by.id == member.id
        signed_in = await service.desk.authenticate(username, NEW_PASSWORD, new_ip())
        assert signed_in.id == member.id and signed_in.role == "worker"
        await _refused("WRONG_CODE", service.staff_admin.set_password(
            username, code.code, "yet another passphrase", new_ip()))
        assert (await service.desk.authenticate(username, NEW_PASSWORD, new_ip())).id == \
            member.id

    async def test_an_administrator_may_create_an_administrator(
            self, service: AuthService, new_name: NewName, new_ip: NewValue) -> None:
        admin = await _admin(service, new_name)
        other, code = await service.staff_admin.create(admin, _name(new_name, "boss"),
                                                       "Second Admin", "admin")
        assert other.is_admin
        await service.staff_admin.set_password(other.username, code.code, NEW_PASSWORD,
                                               new_ip())
        assert [m.id for m in await service.staff_admin.staff_of(other)] == [
            m.id for m in await service.staff_admin.staff_of(admin)]

    async def test_an_unknown_role_makes_a_worker(
            self, service: AuthService, new_name: NewName) -> None:
        admin = await _admin(service, new_name)
        member, _ = await service.staff_admin.create(admin, _name(new_name, "w"), "W",
                                                     "superuser")
        assert member.role == "worker"

    async def test_a_worker_may_do_none_of_it(
            self, service: AuthService, new_name: NewName) -> None:
        admin = await _admin(service, new_name)
        worker = await _worker(service, new_name, admin.provider_id)
        other = await _worker(service, new_name, admin.provider_id, "Other Worker")
        admin_ = service.staff_admin
        for call in (admin_.staff_of(worker), admin_.trail(worker),
                     admin_.create(worker, _name(new_name, "x"), "X", "worker"),
                     admin_.create(worker, _name(new_name, "x"), "X", "admin"),
                     admin_.deactivate(worker, other.id), admin_.reactivate(worker, other.id),
                     admin_.password_code(worker, other.id)):
            refused = await _refused("FORBIDDEN", call)
            assert refused.code == "BAD_USER_INPUT"
        assert [m.active for m in await admin_.staff_of(admin) if m.id == other.id] == [True]

    async def test_a_deactivated_or_demoted_administrator_loses_the_right_at_once(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        admin = await _admin(service, new_name)
        assert await service.desk.deactivate(admin.username)
        await _refused("FORBIDDEN", service.staff_admin.staff_of(admin))  # a stale object
        other = await _admin(service, new_name)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE auth.staff_account SET role = 'worker' "
                                    "WHERE id = :id"), {"id": other.id})
        await _refused("FORBIDDEN", service.staff_admin.create(
            other, _name(new_name, "x"), "X", "worker"))

    async def test_another_clinics_staff_do_not_exist(
            self, service: AuthService, new_name: NewName, new_ip: NewValue) -> None:
        admin = await _admin(service, new_name)
        stranger = await _worker(service, new_name)  # another clinic
        for call in (service.staff_admin.deactivate(admin, stranger.id),
                     service.staff_admin.reactivate(admin, stranger.id),
                     service.staff_admin.password_code(admin, stranger.id),
                     service.staff_admin.deactivate(admin, uuid.uuid4())):
            refused = await _refused("NOT_FOUND", call)
            assert stranger.username not in refused.message
        assert stranger.id not in {m.id for m in await service.staff_admin.staff_of(admin)}
        assert (await service.desk.authenticate(stranger.username, PASSWORD, new_ip())
                ).active

    async def test_an_administrator_cannot_deactivate_themself(
            self, service: AuthService, new_name: NewName) -> None:
        admin = await _admin(service, new_name)
        await _refused("NOT_YOURSELF", service.staff_admin.deactivate(admin, admin.id))
        [me] = await service.staff_admin.staff_of(admin)
        assert me.active

    async def test_deactivating_ends_sessions_and_reactivating_restores_the_password(
            self, service: AuthService, new_name: NewName, new_ip: NewValue) -> None:
        admin = await _admin(service, new_name)
        member = await _worker(service, new_name, admin.provider_id)
        browser, _ = await service.console.start(member)
        api = await service.desk.sign_in(member.username, PASSWORD, DESK_PC, new_ip())
        admin_browser, _ = await service.console.start(admin)
        changed = await service.staff_admin.deactivate(admin, member.id)
        assert changed.id == member.id and not changed.active
        assert await service.console.resolve(browser) is None
        with pytest.raises(InvalidToken):
            await service.sessions.refresh(api.refresh_token)
        assert await service.console.resolve(admin_browser) is not None, "only theirs end"
        await _refused("WRONG_CREDENTIALS", service.desk.authenticate(
            member.username, PASSWORD, new_ip()))
        assert (await service.staff_admin.reactivate(admin, member.id)).active
        assert await service.console.resolve(browser) is None, "ended sessions stay ended"
        assert (await service.desk.authenticate(member.username, PASSWORD, new_ip())).id == \
            member.id

    async def test_a_deactivated_account_cannot_set_a_password_with_its_code(
            self, service: AuthService, new_name: NewName, new_ip: NewValue) -> None:
        admin = await _admin(service, new_name)
        member, code = await service.staff_admin.create(admin, _name(new_name, "n"), "N",
                                                        "worker")
        await service.staff_admin.deactivate(admin, member.id)
        await _refused("WRONG_CODE", service.staff_admin.set_password(
            member.username, code.code, NEW_PASSWORD, new_ip()))
        await service.staff_admin.reactivate(admin, member.id)
        await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                               new_ip())  # it was not spent

    async def test_every_change_is_in_the_trail_in_order_with_who_made_it(
            self, service: AuthService, new_name: NewName, new_ip: NewValue) -> None:
        admin = await _admin(service, new_name, name="Gulnara Admin")
        member, code = await service.staff_admin.create(admin, _name(new_name, "t"),
                                                        "Timur Worker", "worker")
        await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                               new_ip())
        await service.staff_admin.password_code(admin, member.id)
        await service.staff_admin.deactivate(admin, member.id)
        await service.staff_admin.reactivate(admin, member.id)
        trail = await service.staff_admin.trail(admin)
        assert [(e.actor_name, e.action, e.target_username) for e in trail] == [
            ("Gulnara Admin", "reactivated", member.username),
            ("Gulnara Admin", "deactivated", member.username),
            ("Gulnara Admin", "password_code_issued", member.username),
            ("Timur Worker", "password_set", member.username),
            ("Gulnara Admin", "created", member.username),
            ("command line", "created", admin.username),
        ]
        assert [e.at for e in trail] == sorted((e.at for e in trail), reverse=True)
        assert len(await service.staff_admin.trail(admin, limit=2)) == 2
        other_clinic = await _admin(service, new_name)
        assert [e.target_username for e in await service.staff_admin.trail(other_clinic)] == [
            other_clinic.username]

    async def test_a_refused_change_leaves_no_trail(
            self, service: AuthService, new_name: NewName) -> None:
        admin = await _admin(service, new_name)
        taken = await _worker(service, new_name, admin.provider_id)
        before = await service.staff_admin.trail(admin)
        await _refused("USERNAME_TAKEN", service.staff_admin.create(
            admin, taken.username, "Again", "worker"))
        await _refused("NOT_YOURSELF", service.staff_admin.deactivate(admin, admin.id))
        assert await service.staff_admin.trail(admin) == before

    @pytest.mark.parametrize("password", [
        pytest.param("eleven char", id="short"),
        pytest.param("{username} is my password", id="containing the username"),
        pytest.param("my {USERNAME} password", id="containing it in capitals"),
    ])
    async def test_a_weak_password_is_refused_and_the_code_kept(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            password: str) -> None:
        admin = await _admin(service, new_name)
        member, code = await service.staff_admin.create(admin, _name(new_name, "p"), "P",
                                                        "worker")
        weak = password.format(username=member.username, USERNAME=member.username.upper())
        refused = await _refused("PASSWORD_WEAK", service.staff_admin.set_password(
            member.username, code.code, weak, new_ip()))
        assert refused.field == "password"
        assert weak not in refused.message
        await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                               new_ip())

    async def test_a_taken_username_is_refused_whatever_its_case(
            self, service: AuthService, new_name: NewName) -> None:
        admin = await _admin(service, new_name)
        elsewhere = await _worker(service, new_name)  # usernames are global
        for taken in (admin.username, elsewhere.username.upper()):
            refused = await _refused("USERNAME_TAKEN", service.staff_admin.create(
                admin, taken, "Someone", "worker"))
            assert refused.field == "username"

    @pytest.mark.parametrize("username", [
        "ab", "a" * 33, "has space", "айгерим", "-dash.first", "semi;colon", "",
        "name@clinic",
    ])
    async def test_an_invalid_username_is_refused(
            self, service: AuthService, new_name: NewName, username: str) -> None:
        admin = await _admin(service, new_name)
        refused = await _refused("USERNAME_INVALID", service.staff_admin.create(
            admin, username, "Someone", "worker"))
        assert refused.field == "username"

    @pytest.mark.parametrize("display_name", ["", "   ", "x" * 81])
    async def test_a_name_is_required(
            self, service: AuthService, new_name: NewName, display_name: str) -> None:
        admin = await _admin(service, new_name)
        await _refused("NAME_REQUIRED", service.staff_admin.create(
            admin, _name(new_name, "n"), display_name, "worker"))

    async def test_a_new_code_stops_the_older_one(
            self, service: AuthService, new_name: NewName, new_ip: NewValue) -> None:
        admin = await _admin(service, new_name)
        member, first = await service.staff_admin.create(admin, _name(new_name, "c"), "C",
                                                         "worker")
        second = await service.staff_admin.password_code(admin, member.id)
        assert first.code != second.code
        await _refused("WRONG_CODE", service.staff_admin.set_password(
            member.username, first.code, NEW_PASSWORD, new_ip()))
        await service.staff_admin.set_password(member.username, second.code, NEW_PASSWORD,
                                               new_ip())

    async def test_a_code_is_bound_to_its_account_and_expires(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            engine: AsyncEngine) -> None:
        admin = await _admin(service, new_name)
        one, one_code = await service.staff_admin.create(admin, _name(new_name, "one"),
                                                         "One", "worker")
        two, _ = await service.staff_admin.create(admin, _name(new_name, "two"), "Two",
                                                  "worker")
        await _refused("WRONG_CODE", service.staff_admin.set_password(
            two.username, one_code.code, NEW_PASSWORD, new_ip()))
        await _refused("WRONG_CODE", service.staff_admin.set_password(
            _name(new_name, "nobody"), one_code.code, NEW_PASSWORD, new_ip()))
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.staff_setup_code SET expires_at = now() - interval '1 second' "
                "WHERE staff_id = :s"), {"s": one.id})
        await _refused("WRONG_CODE", service.staff_admin.set_password(
            one.username, one_code.code, NEW_PASSWORD, new_ip()))

    async def test_codes_are_stored_only_as_hashes(
            self, service: AuthService, new_name: NewName, engine: AsyncEngine) -> None:
        admin = await _admin(service, new_name)
        member, code = await service.staff_admin.create(admin, _name(new_name, "h"), "H",
                                                        "worker")
        async with engine.connect() as conn:
            stored = (await conn.execute(text(
                "SELECT code_hash FROM auth.staff_setup_code WHERE staff_id = :s"),
                {"s": member.id})).scalar_one()
        assert code.code.replace("-", "").encode() not in bytes(stored)

    async def test_wrong_codes_are_throttled_per_address(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            auth_settings: AuthSettings) -> None:
        admin = await _admin(service, new_name)
        member, code = await service.staff_admin.create(admin, _name(new_name, "g"), "G",
                                                        "worker")
        guesser = new_ip()
        for number in range(auth_settings.staff_failures_per_source):
            await _refused("WRONG_CODE", service.staff_admin.set_password(
                member.username, f"AAAA-AAAA-{number:04d}", NEW_PASSWORD, guesser))
        with pytest.raises(RateLimited) as limited:
            await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                                   guesser)
        assert 0 < limited.value.retry_after <= auth_settings.staff_sign_ins_window_seconds
        # Another address is not held, and the right code was not spent by the refusal.
        await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                               new_ip())

    async def test_a_right_code_gives_the_failure_back(
            self, service: AuthService, new_name: NewName, new_ip: NewValue,
            auth_settings: AuthSettings) -> None:
        admin = await _admin(service, new_name)
        address = new_ip()
        for _ in range(auth_settings.staff_failures_per_source + 1):
            member, code = await service.staff_admin.create(admin, _name(new_name, "r"), "R",
                                                            "worker")
            await service.staff_admin.set_password(member.username, code.code, NEW_PASSWORD,
                                                   address)


# -- consent by SMS ----------------------------------------------------------------------------


def _phone() -> str:
    return f"+7705{uuid.uuid4().int % 10 ** 7:07d}"


def _messages_to(settings: AuthSettings, phone: str) -> list[str]:
    """The texts the development sink holds for ``phone``, oldest first."""
    return [sms.text for sms in reversed(DevSmsSink(settings.dev_sms_file).recent(10_000))
            if sms.phone == phone]


def _code_in(message: str) -> str:
    [code] = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", message)
    return str(code)


class Patient:
    """A person on record: IIN, id and phone."""

    def __init__(self, people: People, iin: str, phone: str | None) -> None:
        self.iin = iin
        self.id = uuid.uuid4()
        self.phone = phone
        people[iin] = (self.id, phone)


@pytest.fixture
def patient(people: People, new_iin: NewValue) -> Patient:
    return Patient(people, new_iin(), _phone())


class TestConsentBySms:
    async def test_the_code_goes_to_the_phone_on_record_in_three_languages(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        before = datetime.now(UTC)
        sent = await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        await sink_service.login.drain()
        assert patient.phone is not None
        assert sent.masked_phone == f"+7 ••• ••• •• {patient.phone[-2:]}"
        assert patient.phone[2:-2] not in sent.masked_phone
        ttl = timedelta(seconds=auth_settings.consent_sms_ttl_seconds)
        assert before + ttl <= sent.expires_at <= datetime.now(UTC) + ttl
        [message] = _messages_to(auth_settings, patient.phone)
        assert CLINIC in message
        for words in ("Тіркеу орнына көмек коды", "код для помощи в регистратуре",
                      "code for the registry desk"):
            assert words in message
        assert patient.iin not in message
        window = await sink_service.desk.open_window_by_sms(
            member.id, member.provider_id, sent.id, _code_in(message))
        assert (window.person_id, window.staff_id, window.provider_id) == (
            patient.id, member.id, member.provider_id)
        assert window.expires_at - window.opened_at == timedelta(
            seconds=auth_settings.consent_window_seconds)
        assert await sink_service.desk.window(member.id, window.id) == window
        await _refused("WRONG_CODE", sink_service.desk.open_window_by_sms(
            member.id, member.provider_id, sent.id, _code_in(message)))  # once

    async def test_the_code_may_be_typed_with_spaces(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        sent = await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        await sink_service.login.drain()
        assert patient.phone is not None
        code = _code_in(_messages_to(auth_settings, patient.phone)[-1])
        window = await sink_service.desk.open_window_by_sms(
            member.id, member.provider_id, sent.id, f" {code[:3]} {code[3:]} ")
        assert window.person_id == patient.id

    async def test_wrong_codes_count_down_and_five_exhaust_it(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        sent = await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        await sink_service.login.drain()
        assert patient.phone is not None
        right = _code_in(_messages_to(auth_settings, patient.phone)[-1])
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        left = []
        for _ in range(auth_settings.consent_sms_max_attempts):
            refused = await _refused("WRONG_CODE", sink_service.desk.open_window_by_sms(
                member.id, member.provider_id, sent.id, wrong))
            left.append(refused.attempts_left)
        assert left == [4, 3, 2, 1, 0]
        await _refused("CODE_ATTEMPTS_EXHAUSTED", sink_service.desk.open_window_by_sms(
            member.id, member.provider_id, sent.id, right))
        assert await sink_service.desk.open_windows(member.id) == []

    async def test_the_fifth_attempt_may_still_be_right(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        sent = await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        await sink_service.login.drain()
        assert patient.phone is not None
        right = _code_in(_messages_to(auth_settings, patient.phone)[-1])
        for _ in range(auth_settings.consent_sms_max_attempts - 1):
            await _refused("WRONG_CODE", sink_service.desk.open_window_by_sms(
                member.id, member.provider_id, sent.id, f"{(int(right) + 7) % 10 ** 6:06d}"))
        window = await sink_service.desk.open_window_by_sms(member.id, member.provider_id,
                                                            sent.id, right)
        assert window.person_id == patient.id

    async def test_an_expired_code_is_refused(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings, engine: AsyncEngine) -> None:
        member = await _worker(sink_service, new_name)
        sent = await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        await sink_service.login.drain()
        assert patient.phone is not None
        right = _code_in(_messages_to(auth_settings, patient.phone)[-1])
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.consent_challenge SET expires_at = now() - interval '1 second' "
                "WHERE id = :id"), {"id": sent.id})
        await _refused("CODE_EXPIRED", sink_service.desk.open_window_by_sms(
            member.id, member.provider_id, sent.id, right))

    async def test_another_worker_cannot_use_the_challenge(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        colleague = await _worker(sink_service, new_name, member.provider_id, "Colleague")
        sent = await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        await sink_service.login.drain()
        assert patient.phone is not None
        right = _code_in(_messages_to(auth_settings, patient.phone)[-1])
        for _ in range(auth_settings.consent_sms_max_attempts + 1):
            refused = await _refused("WRONG_CODE", sink_service.desk.open_window_by_sms(
                colleague.id, colleague.provider_id, sent.id, right))
            assert refused.attempts_left == 0
        assert await sink_service.desk.open_windows(colleague.id) == []
        # The colleague's tries were not counted on the worker's challenge.
        window = await sink_service.desk.open_window_by_sms(member.id, member.provider_id,
                                                            sent.id, right)
        assert window.person_id == patient.id

    async def test_an_unknown_challenge_is_a_wrong_code(
            self, sink_service: AuthService, new_name: NewName) -> None:
        member = await _worker(sink_service, new_name)
        refused = await _refused("WRONG_CODE", sink_service.desk.open_window_by_sms(
            member.id, member.provider_id, uuid.uuid4(), "123456"))
        assert refused.attempts_left == 0

    async def test_no_phone_on_record(
            self, sink_service: AuthService, new_name: NewName, people: People,
            new_iin: NewValue, auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        without = Patient(people, new_iin(), None)
        unknown = new_iin()  # nobody has it
        for iin in (without.iin, unknown):
            refused = await _refused("NO_PHONE_ON_RECORD", sink_service.desk.send_consent_sms(
                member.id, CLINIC, iin))
            assert refused.field == "iin" and iin not in refused.message
        await sink_service.login.drain()

    @pytest.mark.parametrize("iin", ["123456789012", "12345678901", "abcdefghijkl", "",
                                     "9001011234567"])
    async def test_an_invalid_iin_is_refused(
            self, sink_service: AuthService, new_name: NewName, iin: str) -> None:
        member = await _worker(sink_service, new_name)
        refused = await _refused("IIN_INVALID", sink_service.desk.send_consent_sms(
            member.id, CLINIC, iin))
        assert refused.field == "iin"

    async def test_a_worker_sends_a_limited_number_an_hour(
            self, sink_service: AuthService, new_name: NewName, new_iin: NewValue,
            people: People, auth_settings: AuthSettings) -> None:
        member = await _worker(sink_service, new_name)
        budget = auth_settings.consent_sms_per_staff
        for _ in range(budget // 2):  # patients with a phone and asking about nobody count
            await sink_service.desk.send_consent_sms(member.id, CLINIC,
                                                     Patient(people, new_iin(), _phone()).iin)
        for _ in range(budget - budget // 2):
            await _refused("NO_PHONE_ON_RECORD", sink_service.desk.send_consent_sms(
                member.id, CLINIC, new_iin()))
        somebody = Patient(people, new_iin(), _phone())
        with pytest.raises(RateLimited) as limited:
            await sink_service.desk.send_consent_sms(member.id, CLINIC, somebody.iin)
        assert 0 < limited.value.retry_after <= 3600
        colleague = await _worker(sink_service, new_name, member.provider_id)
        await sink_service.desk.send_consent_sms(colleague.id, CLINIC, somebody.iin)
        await sink_service.login.drain()
        assert somebody.phone is not None
        assert len(_messages_to(auth_settings, somebody.phone)) == 1

    async def test_a_patient_receives_a_limited_number_a_day_from_all_workers(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings) -> None:
        provider = uuid.uuid4()
        for _ in range(auth_settings.consent_sms_per_person):
            member = await _worker(sink_service, new_name, provider)
            await sink_service.desk.send_consent_sms(member.id, CLINIC, patient.iin)
        with pytest.raises(RateLimited) as limited:
            await sink_service.desk.send_consent_sms(
                (await _worker(sink_service, new_name, provider)).id, CLINIC, patient.iin)
        assert 0 < limited.value.retry_after <= 86_400
        await sink_service.login.drain()
        assert patient.phone is not None
        assert len(_messages_to(auth_settings, patient.phone)) == \
            auth_settings.consent_sms_per_person


# -- onboarding progress -----------------------------------------------------------------------


async def _sms_window(service: AuthService, member: StaffMember, patient: Patient) -> Window:
    code = await service.desk.consent_code(patient.id)
    return await service.desk.open_window(member.id, member.provider_id, code.code)


class TestOnboardingProgress:
    async def test_the_steps_as_they_happen(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings, new_ip: NewValue) -> None:
        desk = sink_service.desk
        member = await _worker(sink_service, new_name)
        window = await _sms_window(sink_service, member, patient)
        assert await desk.onboarding(member.id, window.id) is None
        made = await desk.onboarding_code(member.id, window.id)
        shown = await desk.onboarding(member.id, window.id)
        assert shown is not None
        assert shown.expires_at == made.expires_at
        assert (shown.scanned_at, shown.signed_in_at, shown.session_id, shown.device_name) == (
            None, None, None, None)
        assert shown.stage(desk.now(), False) is OnboardingStage.CODE_SHOWN

        address = new_ip()
        challenge = await desk.redeem_onboarding(made.code, address)
        await sink_service.login.drain()
        scanned = await desk.onboarding(member.id, window.id)
        assert scanned is not None and scanned.scanned_at is not None
        assert scanned.signed_in_at is None and scanned.session_id is None
        assert scanned.stage(desk.now(), False) is OnboardingStage.SCANNED
        assert patient.phone is not None
        sms = _code_in(_messages_to(auth_settings, patient.phone)[-1])

        await _refused("WRONG_CODE", sink_service.login.verify(
            str(challenge.id), f"{(int(sms) + 1) % 10 ** 6:06d}", NEW_PHONE, address))
        still = await desk.onboarding(member.id, window.id)
        assert still is not None and still.stage(desk.now(), False) is OnboardingStage.SCANNED

        tokens = await sink_service.login.verify(str(challenge.id), sms, NEW_PHONE, address)
        signed_in = await desk.onboarding(member.id, window.id)
        assert signed_in is not None and signed_in.signed_in_at is not None
        assert signed_in.scanned_at is not None
        assert signed_in.scanned_at <= signed_in.signed_in_at
        assert signed_in.session_id == tokens.session_id
        assert signed_in.device_name == "Redmi Note 13"
        assert signed_in.stage(desk.now(), False) is OnboardingStage.SIGNED_IN
        assert signed_in.stage(desk.now(), True) is OnboardingStage.NOTIFICATIONS_ON
        later = desk.now() + timedelta(days=1)
        assert signed_in.stage(later, False) is OnboardingStage.SIGNED_IN, "done stays done"

    async def test_an_unused_code_expires(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            engine: AsyncEngine) -> None:
        desk = sink_service.desk
        member = await _worker(sink_service, new_name)
        window = await _sms_window(sink_service, member, patient)
        await desk.onboarding_code(member.id, window.id)
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.onboarding_code SET expires_at = now() - interval '1 second' "
                "WHERE window_id = :w"), {"w": window.id})
        progress = await desk.onboarding(member.id, window.id)
        assert progress is not None
        assert progress.stage(desk.now(), False) is OnboardingStage.CODE_EXPIRED
        await desk.onboarding_code(member.id, window.id)  # a new code starts again
        again = await desk.onboarding(member.id, window.id)
        assert again is not None and again.stage(desk.now(), False) is \
            OnboardingStage.CODE_SHOWN

    async def test_a_new_code_after_a_sign_in_starts_the_steps_again(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings, new_ip: NewValue) -> None:
        desk = sink_service.desk
        member = await _worker(sink_service, new_name)
        window = await _sms_window(sink_service, member, patient)
        made = await desk.onboarding_code(member.id, window.id)
        address = new_ip()
        challenge = await desk.redeem_onboarding(made.code, address)
        await sink_service.login.drain()
        assert patient.phone is not None
        await sink_service.login.verify(
            str(challenge.id), _code_in(_messages_to(auth_settings, patient.phone)[-1]),
            NEW_PHONE, address)
        await desk.onboarding_code(member.id, window.id)
        progress = await desk.onboarding(member.id, window.id)
        assert progress is not None
        assert progress.stage(desk.now(), False) is OnboardingStage.CODE_SHOWN
        assert progress.session_id is None and progress.device_name is None

    async def test_a_sign_in_of_the_patient_elsewhere_is_not_the_onboarding(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            auth_settings: AuthSettings, new_ip: NewValue) -> None:
        desk = sink_service.desk
        member = await _worker(sink_service, new_name)
        window = await _sms_window(sink_service, member, patient)
        await desk.onboarding_code(member.id, window.id)
        assert patient.phone is not None
        address = new_ip()
        own = await sink_service.login.request_code(patient.iin, patient.phone, address)
        await sink_service.login.drain()
        await sink_service.login.verify(
            str(own.id), _code_in(_messages_to(auth_settings, patient.phone)[-1]),
            Device("Own phone", "ios"), address)
        progress = await desk.onboarding(member.id, window.id)
        assert progress is not None
        assert progress.stage(desk.now(), False) is OnboardingStage.CODE_SHOWN

    async def test_only_the_windows_worker_follows_it(
            self, sink_service: AuthService, new_name: NewName, patient: Patient,
            engine: AsyncEngine) -> None:
        desk = sink_service.desk
        member = await _worker(sink_service, new_name)
        colleague = await _worker(sink_service, new_name, member.provider_id, "Colleague")
        window = await _sms_window(sink_service, member, patient)
        await desk.onboarding_code(member.id, window.id)
        await _refused("WINDOW_CLOSED", desk.onboarding(colleague.id, window.id))
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.consent_window SET expires_at = now() - interval '1 second' "
                "WHERE id = :id"), {"id": window.id})
        await _refused("WINDOW_CLOSED", desk.onboarding(member.id, window.id))

