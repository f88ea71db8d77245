"""The desk console's pages over HTTP (ASGI), as a browser without JavaScript uses them: forms,
cookies, redirects, the words on the pages, and what must never be on them.

Staff accounts, sessions and throttles live in the ``auth`` schema, which is not emptied
between tests: every test makes its own clinic and accounts, and every browser comes from a
client address of its own (``new_ip``).  Times are moved with SQL, never by sleeping.
"""

from __future__ import annotations

import base64
import contextlib
import html
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth import staff as staff_module
from auth.service import AuthService
from auth.sessions import Device
from auth.settings import AuthSettings
from auth.staff import StaffMember
from auth.tokens import Audience
from backend.api.app import create_app
from backend.help.library import Article, HelpLibrary
from backend.help.library import Audience as HelpAudience
from backend.i18n import format_date
from backend.models import Person
from backend.settings import AppSettings
from notifications import devices, preferences
from notifications.devices import Registration
from tests.api.conftest import TODAY, new_ip
from tests.api.gql import data, graphql
from tests.api.sms import last_code, new_phone
from tests.factories import create_insured_employee, create_person, create_provider

PASSWORD = "correct horse battery staple"
CLINIC = "Городская поликлиника № 5"
WORKER_NAME = "Айгерим Сапарова"
ADMIN_NAME = "Гульнара Админова"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')
URLS = re.compile(r'(?:href|action|src|data-refresh)="([^"]*)"')
MONEY = ("₸", "KZT", "тг", "теңге", "tiyn", "15 300", "15300", "15,300", "4 250", "4250")

ACCESS_LOG = """{ me { accessLog(first: 50) { edges { node {
  actorKind actorName organization purpose reason } } } } }"""
CITIZEN_REASON = "{ me { insurance { reason { text } } } }"
REDEEM = """mutation Redeem($code: String!) { redeemOnboardingCode(code: $code) {
  challengeId userErrors { code } } }"""


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its smallest cost: these tests make many accounts (the real cost is
    tested in tests/auth)."""
    monkeypatch.setattr(staff_module, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def username() -> str:
    """A staff username no other test uses."""
    return f"desk-{uuid.uuid4().hex[:12]}"


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on ``page``."""
    found = CSRF.search(page.text)
    assert found, page.text[:2000]
    return found.group(1)


def words(page: httpx.Response) -> str:
    """The page's text with its markup's escapes undone (for comparing sentences)."""
    return html.unescape(page.text)


def urls_of(page: httpx.Response) -> list[str]:
    """Every URL a page links, posts or refreshes to."""
    return [html.unescape(url) for url in URLS.findall(page.text)]


def set_cookie(response: httpx.Response, name: str) -> str | None:
    """The ``Set-Cookie`` header that sets ``name``, as sent."""
    for header in response.headers.get_list("set-cookie"):
        if header.split("=", 1)[0].strip() == name:
            return header
    return None


def cookie_attributes(header: str) -> dict[str, str]:
    """A ``Set-Cookie`` header's attributes, lower-cased names (flags map to "")."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return {name.lower(): value for name, _, value in (p.partition("=") for p in parts)}


class Browser:
    """One browser: its own cookies and client address; it reads forms before posting them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.history: list[httpx.Response] = []

    async def get(self, path: str, **options: Any) -> httpx.Response:
        response = await self.http.get(path, **options)
        self.history.append(response)
        return response

    async def post(self, path: str, form: dict[str, str], **options: Any) -> httpx.Response:
        response = await self.http.post(path, data=form, **options)
        self.history.append(response)
        return response

    async def submit(self, path: str, form: dict[str, str], *, on: str = "/desk/",
                     **options: Any) -> httpx.Response:
        """Post ``form`` to ``path`` with the CSRF token of the page ``on``."""
        token = csrf_of(await self.get(on))
        return await self.post(path, {"csrf": token, **form}, **options)

    async def sign_in(self, member: StaffMember, password: str = PASSWORD) -> httpx.Response:
        response = await self.submit("/desk/sign-in", {
            "username": member.username, "password": password}, on="/desk/sign-in")
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/desk/"
        return response

    async def open_patient(self, code: str) -> str:
        """Open a patient with the consent code: the patient page's path."""
        response = await self.submit("/desk/patients", {"how": "code", "consent_code": code})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith("/desk/patients/")
        return location

    def session_token(self) -> str | None:
        return self.http.cookies.get("desk_session", path="/desk")


@dataclass
class Clinic:
    """A clinic with an administrator and a worker."""

    provider_id: uuid.UUID
    admin: StaffMember
    worker: StaffMember
    others: list[StaffMember] = field(default_factory=list)


@dataclass
class Desk:
    """The app, the database and the browsers of one test."""

    app: FastAPI
    engine: AsyncEngine
    committed: AsyncSession
    auth: AuthService
    settings: AuthSettings
    browser: Callable[..., Browser]

    async def clinic(self) -> Clinic:
        provider = await create_provider(self.committed)
        await self.committed.commit()
        admin = await self.auth.desk.create_staff(username(), ADMIN_NAME, PASSWORD,
                                                  provider.id, CLINIC, role="admin")
        worker = await self.auth.desk.create_staff(username(), WORKER_NAME, PASSWORD,
                                                   provider.id, CLINIC)
        return Clinic(provider.id, admin, worker)

    async def worker(self, name: str = "Ерлан Муканов") -> StaffMember:
        """A worker of another clinic."""
        provider = await create_provider(self.committed)
        await self.committed.commit()
        return await self.auth.desk.create_staff(username(), name, PASSWORD, provider.id,
                                                 CLINIC)

    async def signed_in(self, member: StaffMember, language: str = "en") -> Browser:
        browser = self.browser(language=language)
        await browser.sign_in(member)
        return browser

    async def patient(self, **overrides: Any) -> Person:
        values: dict[str, Any] = {"first_name": "Дана", "last_name": "Ахметова",
                                  "phone": new_phone(), "language": "en"}
        return await create_insured_employee(self.committed, **{**values, **overrides})

    async def consent_code(self, person: Person) -> str:
        return (await self.auth.desk.consent_code(person.id)).code

    async def sessions_of(self, member: StaffMember) -> int:
        """The account's browser sessions still open."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(
                "SELECT count(*) FROM auth.desk_session WHERE staff_id = :s "
                "AND ended_at IS NULL"), {"s": member.id})).scalar_one())

    async def checks_of(self, person: Person) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(
                "SELECT count(*) FROM notify.outbox WHERE person_id = :p "
                "AND kind = 'desk.check'"), {"p": person.id})).scalar_one())

    async def window_of(self, path: str) -> uuid.UUID:
        """The consent window's key behind a patient page's path."""
        window_id = unquote(path.removeprefix("/desk/patients/").split("/")[0])
        type_name, _, key = base64.b64decode(window_id).decode().partition(":")
        assert type_name == "PatientWindow"
        return uuid.UUID(key)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[Callable[..., Browser]]:
    """``app`` started (lifespan), and a maker of browsers on it, each from its own address."""
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))

        def make(language: str | None = "en", address: str | None = None,
                 base_url: str = "http://testserver") -> Browser:
            transport = httpx.ASGITransport(app=app, client=(address or new_ip(), 1234))
            headers = {"Accept-Language": language} if language else {}
            http = httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)
            stack.push_async_callback(http.aclose)
            return Browser(http)

        yield make


@pytest.fixture
async def desk(app: FastAPI, engine: AsyncEngine, committed: AsyncSession,
               auth_service: AuthService, auth_settings: AuthSettings) -> AsyncIterator[Desk]:
    async with running(app) as browser:
        yield Desk(app, engine, committed, auth_service, auth_settings, browser)


def assert_strict_page(response: httpx.Response) -> None:
    """An HTML page with the console's security headers."""
    assert response.headers["content-type"].startswith("text/html"), response.headers
    policy = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


# -- before signing in -------------------------------------------------------------------------


class TestNotSignedIn:
    @pytest.mark.parametrize("path", ["/desk", "/desk/", "/desk/help", "/desk/staff",
                                      "/desk/help/install-the-app",
                                      "/desk/help/install-the-app/handout",
                                      "/desk/patients/UGF0aWVudFdpbmRvdzp4",
                                      "/desk/patients/UGF0aWVudFdpbmRvdzp4/onboarding"])
    async def test_pages_send_the_visitor_to_sign_in(self, desk: Desk, path: str) -> None:
        response = await desk.browser().get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/desk/sign-in"
        assert set_cookie(response, "desk_session") is None

    async def test_forms_send_the_visitor_to_sign_in_and_do_nothing(
            self, desk: Desk) -> None:
        person = await desk.patient()
        browser = desk.browser()
        for path in ("/desk/patients", "/desk/patients/UGF0aWVudFdpbmRvdzp4/checks",
                     "/desk/staff"):
            response = await browser.post(path, {"csrf": "x", "how": "code",
                                                 "consent_code": "AAAA-AAAA"})
            assert response.status_code == 303
            assert response.headers["location"] == "/desk/sign-in"
        assert await desk.checks_of(person) == 0

    async def test_the_sign_in_page_is_in_the_browsers_language(self, desk: Desk) -> None:
        for language, title in (("kk", "Тіркеу орнына кіру"), ("ru", "Вход в регистратуру"),
                                ("en", "Sign in to the registry desk"), (None, "Тіркеу")):
            page = await desk.browser(language=language).get("/desk/sign-in")
            assert page.status_code == 200
            assert title in page.text
            assert f'<html lang="{language or "kk"}">' in page.text


class TestHeaders:
    async def test_every_page_is_html_with_the_strict_headers(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        anonymous = desk.browser()
        pages = [await anonymous.get("/desk/sign-in"), await anonymous.get("/desk/set-password"),
                 await anonymous.post("/desk/sign-in", {"username": "x"})]  # the 403 page
        admin = await desk.signed_in(clinic.admin)
        patient = await admin.open_patient(await desk.consent_code(person))
        pages += [await admin.get(path) for path in (
            "/desk/", patient, f"{patient}/onboarding", f"{patient}/onboarding?fragment=1",
            "/desk/help", "/desk/help/install-the-app",
            "/desk/help/install-the-app/handout?lang=ru", "/desk/help/no-such-article",
            "/desk/staff", "/desk/set-password")]
        pages.append(await admin.submit(f"{patient}/onboarding", {}, on=patient))
        checked = await admin.submit(f"{patient}/checks", {}, on=patient)
        pages.append(await admin.get(checked.headers["location"]))
        statuses = [page.status_code for page in pages]
        assert statuses == [200, 200, 403, 200, 200, 200, 200, 200, 200, 200, 404, 200, 200,
                            200, 200], statuses
        for page in pages:
            assert_strict_page(page)

    async def test_the_static_files_are_served_from_the_console_itself(
            self, desk: Desk) -> None:
        browser = desk.browser()
        for name, kind in (("desk.css", "text/css"), ("desk.js", "text/javascript")):
            response = await browser.get(f"/desk/static/{name}")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(kind)
        missing = await browser.get("/desk/static/../console.py")
        assert missing.status_code == 404
        assert (await browser.get("/desk/static/other.js")).status_code == 404

    async def test_no_page_loads_anything_from_elsewhere(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.admin)
        for path in ("/desk/", "/desk/help", "/desk/staff", "/desk/help/log-in/handout"):
            page = await browser.get(path)
            for url in urls_of(page):
                assert not urlsplit(url).netloc, (path, url)
            assert "<style" not in page.text and " style=" not in page.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), "no inline script"
            assert not re.search(r"\son[a-z]+=", page.text), "no inline event handler"


# -- signing in --------------------------------------------------------------------------------


class TestSignIn:
    async def test_the_form_sets_a_pre_session_cookie(self, desk: Desk) -> None:
        page = await desk.browser().get("/desk/sign-in")
        header = set_cookie(page, "desk_pre")
        assert header is not None
        attributes = cookie_attributes(header)
        assert "httponly" in attributes and attributes["samesite"].lower() == "strict"
        assert attributes["path"] == "/desk" and "secure" not in attributes
        assert csrf_of(page)

    @pytest.mark.parametrize("token", [None, "", "0" * 43, "from another browser"])
    async def test_a_post_without_its_own_csrf_token_signs_nobody_in(
            self, desk: Desk, token: str | None) -> None:
        clinic = await desk.clinic()
        browser = desk.browser()
        await browser.get("/desk/sign-in")
        if token == "from another browser":
            token = csrf_of(await desk.browser().get("/desk/sign-in"))
        form = {"username": clinic.worker.username, "password": PASSWORD}
        if token is not None:
            form["csrf"] = token
        response = await browser.post("/desk/sign-in", form)
        assert response.status_code == 403
        assert "This form has expired" in response.text
        assert set_cookie(response, "desk_session") is None
        assert await desk.sessions_of(clinic.worker) == 0
        assert (await browser.get("/desk/")).headers["location"] == "/desk/sign-in"

    async def test_a_csrf_token_without_the_cookie_it_came_with_is_refused(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = desk.browser()
        token = csrf_of(await browser.get("/desk/sign-in"))
        browser.http.cookies.clear()  # a forged form from another site has no cookie
        response = await browser.post("/desk/sign-in", {
            "csrf": token, "username": clinic.worker.username, "password": PASSWORD})
        assert response.status_code == 403
        assert await desk.sessions_of(clinic.worker) == 0

    async def test_right_credentials_start_a_session_in_a_strict_cookie(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = desk.browser()
        response = await browser.sign_in(clinic.worker)
        header = set_cookie(response, "desk_session")
        assert header is not None
        attributes = cookie_attributes(header)
        assert "httponly" in attributes
        assert attributes["samesite"].lower() == "strict"
        assert attributes["path"] == "/desk"
        assert "secure" not in attributes, "development serves plain HTTP"
        assert int(attributes["max-age"]) == desk.settings.desk_session_max_seconds
        assert await desk.sessions_of(clinic.worker) == 1
        home = await browser.get("/desk/")
        assert home.status_code == 200
        assert f"Signed in as {WORKER_NAME}, {CLINIC}" in words(home)

    async def test_the_username_is_read_in_any_case(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = desk.browser()
        response = await browser.submit("/desk/sign-in", {
            "username": f" {clinic.worker.username.upper()} ", "password": PASSWORD},
            on="/desk/sign-in")
        assert response.status_code == 303

    @pytest.mark.parametrize("environment", ["production", "test"])
    async def test_cookies_are_secure_outside_development(
            self, engine: AsyncEngine, committed: AsyncSession, auth_service: AuthService,
            auth_settings: AuthSettings, environment: str) -> None:
        app = create_app(AppSettings(environment=environment), auth_settings, engine=engine,
                         today=lambda: TODAY)
        provider = await create_provider(committed)
        await committed.commit()
        member = await auth_service.desk.create_staff(username(), WORKER_NAME, PASSWORD,
                                                      provider.id, CLINIC)
        async with running(app) as make:
            browser = make(base_url="https://testserver")
            page = await browser.get("/desk/sign-in")
            pre = set_cookie(page, "desk_pre")
            assert pre is not None and "secure" in cookie_attributes(pre)
            response = await browser.sign_in(member)
            session = set_cookie(response, "desk_session")
            assert session is not None
            attributes = cookie_attributes(session)
            assert {"secure", "httponly"} <= set(attributes)
            assert attributes["samesite"].lower() == "strict"
            home = await browser.get("/desk/")
            assert home.status_code == 200 and WORKER_NAME in home.text
            switched = await browser.get("/desk/language/ru")
            language = set_cookie(switched, "desk_lang")
            assert language is not None and "secure" in cookie_attributes(language)

    @pytest.mark.parametrize(("language", "cookie", "expected"), [
        ("en", None, "The name or the password is not right."),
        ("ru", None, "Неверный логин или пароль."),
        ("kk", None, "Логин немесе құпиясөз дұрыс емес."),
        ("en", "ru", "Неверный логин или пароль."),
        ("ru", "en", "The name or the password is not right."),
    ])
    async def test_a_wrong_password_is_answered_in_the_readers_language(
            self, desk: Desk, language: str, cookie: str | None, expected: str) -> None:
        clinic = await desk.clinic()
        browser = desk.browser(language=language)
        if cookie:
            browser.http.cookies.set("desk_lang", cookie, domain="testserver.local",
                                     path="/desk")
        for name in (clinic.worker.username, username()):  # a wrong name: the same words
            response = await browser.submit("/desk/sign-in", {
                "username": name, "password": PASSWORD + "!"}, on="/desk/sign-in")
            assert response.status_code == 400
            assert expected in words(response)
            assert f'lang="{cookie or language}"' in response.text
            assert PASSWORD not in response.text
            assert set_cookie(response, "desk_session") is None
        assert await desk.sessions_of(clinic.worker) == 0

    async def test_an_account_without_a_password_cannot_sign_in(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        member, _ = await desk.auth.staff_admin.create(clinic.admin, username(), "New", "worker")
        response = await desk.browser().submit("/desk/sign-in", {
            "username": member.username, "password": ""}, on="/desk/sign-in")
        assert response.status_code == 400
        assert await desk.sessions_of(member) == 0

    async def test_wrong_passwords_from_one_address_are_throttled(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        guesser = desk.browser()
        for _ in range(desk.settings.staff_failures_per_source):
            response = await guesser.submit("/desk/sign-in", {
                "username": clinic.worker.username, "password": "guess guess guess"},
                on="/desk/sign-in")
            assert response.status_code == 400
        held = await guesser.submit("/desk/sign-in", {
            "username": clinic.worker.username, "password": PASSWORD}, on="/desk/sign-in")
        assert held.status_code == 429
        retry = int(held.headers["retry-after"])
        assert 0 < retry <= desk.settings.staff_sign_ins_window_seconds
        assert "Too many attempts" in held.text
        assert_strict_page(held)
        assert await desk.sessions_of(clinic.worker) == 0
        await (await desk.signed_in(clinic.worker)).get("/desk/")  # elsewhere: not held

    async def test_signed_in_as_is_on_every_signed_in_page(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.admin)
        patient = await browser.open_patient(await desk.consent_code(person))
        for path in ("/desk/", patient, f"{patient}/onboarding", "/desk/help",
                     "/desk/help/log-in", "/desk/staff", "/desk/help/nothing-here",
                     "/desk/set-password"):
            page = await browser.get(path)
            assert f"Signed in as {ADMIN_NAME}, {CLINIC}" in words(page), path
            assert 'action="/desk/sign-out"' in page.text

    async def test_a_signed_in_visitor_of_the_sign_in_page_goes_home(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        response = await browser.get("/desk/sign-in")
        assert response.status_code == 303 and response.headers["location"] == "/desk/"


class TestLanguage:
    async def test_the_switch_sets_a_cookie_and_the_next_page_follows_it(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)  # Accept-Language: en
        home = await browser.get("/desk/help")
        links = [url for url in urls_of(home) if url.startswith("/desk/language/")]
        assert sorted(links) == ["/desk/language/kk?next=/desk/help",
                                 "/desk/language/ru?next=/desk/help"]
        switched = await browser.get("/desk/language/ru?next=/desk/help")
        assert switched.status_code == 303
        assert switched.headers["location"] == "/desk/help"
        header = set_cookie(switched, "desk_lang")
        assert header is not None and header.startswith("desk_lang=ru")
        assert cookie_attributes(header)["path"] == "/desk"
        page = await browser.get("/desk/help")
        assert '<html lang="ru">' in page.text
        assert "Справка" in page.text and "Для регистратуры" in page.text
        assert f"Вы вошли как {WORKER_NAME}, {CLINIC}" in words(page)
        assert (await browser.get("/desk/language/kk")).headers["location"] == "/desk/"
        assert '<html lang="kk">' in (await browser.get("/desk/")).text

    async def test_an_unknown_language_changes_nothing(self, desk: Desk) -> None:
        browser = desk.browser()
        response = await browser.get("/desk/language/de?next=/desk/sign-in")
        assert response.status_code == 303
        assert set_cookie(response, "desk_lang") is None
        assert '<html lang="en">' in (await browser.get("/desk/sign-in")).text

    @pytest.mark.parametrize("target", [
        "//evil.example", "https://evil.example/desk", "/\\evil.example", "\\\\evil.example",
        "/desk//evil.example", "/desk/\\evil.example", "javascript:alert(1)",
        "http:/desk", "evil.example/desk", "/%2F%2Fevil.example", " //evil.example",
    ])
    async def test_next_never_leaves_the_console(self, desk: Desk, target: str) -> None:
        response = await desk.browser().get(f"/desk/language/ru?next={quote(target)}")
        assert response.status_code == 303
        location = response.headers["location"]
        parts = urlsplit(location)
        assert not parts.scheme and not parts.netloc, location
        assert location.startswith("/desk") and not location.startswith("//")
        assert "\\" not in location


# -- a patient ---------------------------------------------------------------------------------


class TestPatient:
    async def test_a_consent_code_opens_the_patient_page(
            self, desk: Desk, engine: AsyncEngine) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        async with engine.begin() as conn:  # a phone signed in, and registered for pushes
            await desk.auth.sessions.start(conn, Audience.MOBILE, str(person.id),
                                           Device("Samsung Galaxy A14", "android"), "sms")
            await devices.register(conn, person.id, Registration(
                token="console-test-token-1", platform="android", app_version="2.1.0",
                language="kk", time_zone="Asia/Almaty"))
        browser = await desk.signed_in(clinic.worker)
        code = await desk.consent_code(person)
        response = await browser.submit("/desk/patients", {
            "how": "code", "consent_code": code.replace("-", " ").lower()})
        assert response.status_code == 303
        location = response.headers["location"]
        assert re.fullmatch(r"/desk/patients/[A-Za-z0-9%_-]+", location), location
        page = await browser.get(location)
        assert page.status_code == 200
        shown = words(page)
        assert "Дана Ахметова" in shown
        masked = re.search(r'<dd class="mono">([^<]*)</dd>', page.text)
        assert masked is not None and masked.group(1).endswith(person.iin[-4:])
        assert person.iin not in page.text and person.iin[:8] not in page.text
        assert "Insured" in shown
        reason = data(await graphql(browser.http, CITIZEN_REASON, token=desk.auth.mint(
            str(person.id), Audience.MOBILE)))["me"]["insurance"]["reason"]["text"]
        assert reason and reason in shown
        assert f"care is guaranteed until {format_date(date(2027, 1, 31), 'en')}" in shown
        assert "Android, app 2.1.0" in shown and "Notifications arrive" in shown
        assert "Samsung Galaxy A14" in shown
        assert "console-test-token-1" not in page.text
        for money in MONEY:
            assert money not in shown, money
        assert "The desk never sees payments or medical care." in shown
        home = await browser.get("/desk/")
        assert location in urls_of(home), "listed among the open consents"

    async def test_the_page_says_which_pushes_the_patient_switched_off(
            self, desk: Desk, engine: AsyncEngine) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        async with engine.begin() as conn:  # the patient's own choices, made in the app
            await preferences.set_switch(conn, person.id, "announcements", "push", False)
            await preferences.set_switch(conn, person.id, "payments", "push", False)
            await preferences.set_switch(conn, person.id, "status", "inbox", False)
            await preferences.set_quiet_hours(conn, person.id, preferences.Quiet(
                time(22, 0), time(8, 0), "Asia/Almaty"))
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        shown = words(await browser.get(patient))
        assert "The patient switched off: payments, news from the Fund." in shown
        assert "Quiet hours: 22:00–08:00" in shown
        await browser.get("/desk/language/ru?next=" + quote(patient))
        shown = words(await browser.get(patient))
        assert "Пациент отключил уведомления: взносы, новости Фонда." in shown

    async def test_no_iin_in_any_url_of_the_flows(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        await browser.get(patient)
        await browser.submit(f"{patient}/onboarding", {}, on=patient)
        await browser.get(f"{patient}/onboarding?fragment=1")
        checked = await browser.submit(f"{patient}/checks", {}, on=patient)
        await browser.get(checked.headers["location"])
        await browser.submit("/desk/patients", {"how": "sms", "iin": person.iin})
        phone = person.phone
        assert phone is not None
        sms = await browser.get("/desk/")
        assert sms.status_code == 200
        for response in browser.history:
            addresses = [str(response.url), response.headers.get("location", ""),
                         *urls_of(response)]
            for address in addresses:
                assert person.iin not in address and person.iin[:6] not in unquote(address), \
                    address
            assert person.iin not in response.text

    async def test_a_wrong_consent_code_is_answered_on_the_form(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        response = await browser.submit("/desk/patients", {"how": "code",
                                                           "consent_code": "ZZZZ-ZZZZ"})
        assert response.status_code == 400
        assert 'id="error-code"' in response.text
        assert 'aria-invalid="true"' in response.text
        assert_strict_page(response)

    async def test_a_patient_without_the_app_consents_by_sms(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient(first_name="Нурлан")
        assert person.phone is not None
        browser = await desk.signed_in(clinic.worker)
        asked = await browser.submit("/desk/patients", {"how": "sms",
                                                        "iin": f" {person.iin} "})
        assert asked.status_code == 200
        assert f"+7 ••• ••• •• {person.phone[-2:]}" in asked.text
        assert person.phone not in asked.text
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">',
                                 asked.text.split('name="how" value="sms-code"', 1)[1]))
        assert set(hidden) == {"challenge", "phone", "expires"}
        code = await last_code(desk.app, desk.settings, person.phone)
        form = {"how": "sms-code", **{k: html.unescape(v) for k, v in hidden.items()},
                "csrf": csrf_of(asked)}
        wrong = await browser.post("/desk/patients", {
            **form, "code": f"{(int(code) + 1) % 10 ** 6:06d}"})
        assert wrong.status_code == 400
        assert "Attempts left: 4" in wrong.text
        assert 'name="challenge"' in wrong.text, "the code form stays for another try"
        right = await browser.post("/desk/patients", {**form, "csrf": csrf_of(wrong),
                                                      "code": code})
        assert right.status_code == 303
        page = await browser.get(right.headers["location"])
        assert page.status_code == 200 and "Нурлан" in page.text

    @pytest.mark.parametrize(("iin", "expected"), [
        ("123456789012", 400), ("not an iin", 400), ("", 400), ("9" * 40, 400)])
    async def test_an_iin_that_cannot_be_is_answered_on_the_form(
            self, desk: Desk, iin: str, expected: int) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        response = await browser.submit("/desk/patients", {"how": "sms", "iin": iin})
        assert response.status_code == expected
        assert 'id="error-sms"' in response.text

    async def test_no_phone_on_record_is_said(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await create_person(desk.committed, phone=None)
        await desk.committed.commit()
        browser = await desk.signed_in(clinic.worker)
        response = await browser.submit("/desk/patients", {"how": "sms", "iin": person.iin})
        assert response.status_code == 400
        assert "phone" in response.text.lower()
        assert person.iin not in response.text

    async def test_a_closed_window_is_a_403_page(self, desk: Desk, engine: AsyncEngine) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.consent_window SET expires_at = now() - interval '1 second' "
                "WHERE id = :id"), {"id": await desk.window_of(patient)})
        for response in (await browser.get(patient),
                         await browser.get(f"{patient}/onboarding"),
                         await browser.submit(f"{patient}/checks", {})):
            assert response.status_code == 403
            assert "The consent has ended" in response.text
            assert "Дана" not in response.text
            assert_strict_page(response)
        assert await desk.checks_of(person) == 0
        assert patient not in urls_of(await browser.get("/desk/"))

    async def test_another_workers_window_is_a_403_page(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        mine = await desk.signed_in(clinic.worker)
        patient = await mine.open_patient(await desk.consent_code(person))
        colleague = await desk.signed_in(clinic.admin)  # same clinic, still not theirs
        for response in (await colleague.get(patient),
                         await colleague.get(f"{patient}/onboarding?fragment=1"),
                         await colleague.submit(f"{patient}/onboarding", {}),
                         await colleague.submit(f"{patient}/checks", {})):
            assert response.status_code == 403
            assert "Дана" not in response.text
        assert await desk.checks_of(person) == 0

    async def test_a_made_up_window_is_refused(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        for window in ("nonsense", "UGF0aWVudFdpbmRvdzp4", "%00", "x" * 300):
            response = await browser.get(f"/desk/patients/{window}")
            assert response.status_code in (403, 404), (window, response.status_code)
            assert_strict_page(response)

    async def test_the_onboarding_page_shows_the_qr_and_follows_the_steps(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        before = await browser.get(f"{patient}/onboarding")
        assert "No code has been made in this consent yet." in words(before)
        made = await browser.submit(f"{patient}/onboarding", {}, on=patient)
        assert made.status_code == 200
        assert re.search(r"<svg[^>]*class=\"qr\"", made.text)
        code = re.search(r'id="onboarding-code">([0-9A-Z-]{14})<', made.text)
        assert code is not None
        again = await browser.get(f"{patient}/onboarding")
        assert code.group(1) not in again.text, "the code is shown once"
        assert 'id="step-code_shown" ' not in again.text
        assert re.search(r'class="done" id="step-code_shown"', again.text)
        assert re.search(r'class="waiting" id="step-scanned"', again.text)
        redeemed = data(await graphql(browser.http, REDEEM, {"code": code.group(1)}))
        assert redeemed["redeemOnboardingCode"]["userErrors"] == []
        steps = await browser.get(f"{patient}/onboarding?fragment=1")
        assert "<html" not in steps.text
        assert re.search(r'class="done" id="step-scanned"', steps.text)
        assert re.search(r'class="waiting" id="step-signed_in"', steps.text)


class TestNotificationCheck:
    async def test_a_check_is_sent_and_followed_three_an_hour(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        for number in range(1, desk.settings.desk_checks_per_person + 1):
            sent = await browser.submit(f"{patient}/checks", {}, on=patient)
            assert sent.status_code == 303
            location = sent.headers["location"]
            assert location.startswith(f"{patient}/checks/")
            page = await browser.get(location)
            assert page.status_code == 200
            assert "A test notification was sent" in page.text
            assert await desk.checks_of(person) == number
        over = await browser.submit(f"{patient}/checks", {}, on=patient)
        assert over.status_code == 429
        assert 0 < int(over.headers["retry-after"]) <= 3600
        assert "Too many attempts" in over.text
        assert_strict_page(over)
        assert await desk.checks_of(person) == desk.settings.desk_checks_per_person

    async def test_a_check_form_without_its_token_sends_nothing(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        other = await desk.signed_in(await desk.worker())
        for token in (None, "", csrf_of(await other.get("/desk/")), "pre"):
            form = {} if token is None else {"csrf": token}
            if token == "pre":  # the token of the sign-in form, not of the session
                form = {"csrf": csrf_of(await desk.browser().get("/desk/sign-in"))}
            response = await browser.post(f"{patient}/checks", form)
            assert response.status_code == 403
            assert "This form has expired" in response.text
        assert await desk.checks_of(person) == 0

    async def test_a_check_of_another_patient_is_not_found(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        first, second = await desk.patient(), await desk.patient(first_name="Ерлан")
        browser = await desk.signed_in(clinic.worker)
        one = await browser.open_patient(await desk.consent_code(first))
        two = await browser.open_patient(await desk.consent_code(second))
        sent = await browser.submit(f"{one}/checks", {}, on=one)
        check = sent.headers["location"].rsplit("/", 1)[1]
        response = await browser.get(f"{two}/checks/{check}")
        assert response.status_code == 404
        assert_strict_page(response)


# -- staff management --------------------------------------------------------------------------


class TestStaff:
    async def test_the_administrator_sees_the_clinics_staff_a_worker_does_not(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        stranger = await desk.worker("Чужой Сотрудник")
        admin = await desk.signed_in(clinic.admin)
        page = await admin.get("/desk/staff")
        assert page.status_code == 200
        assert clinic.worker.username in page.text and WORKER_NAME in page.text
        assert stranger.username not in page.text
        assert "/desk/staff" in urls_of(await admin.get("/desk/"))
        worker = await desk.signed_in(clinic.worker)
        refused = await worker.get("/desk/staff")
        assert refused.status_code == 403
        assert clinic.admin.username not in refused.text
        assert "/desk/staff" not in urls_of(await worker.get("/desk/"))
        created = await worker.submit("/desk/staff", {
            "action": "create", "username": username(), "display_name": "X",
            "role": "admin"})
        assert created.status_code == 403
        deactivated = await worker.submit("/desk/staff", {
            "action": "deactivate", "staff": str(clinic.admin.id)})
        assert deactivated.status_code == 403
        assert await desk.sessions_of(clinic.admin) == 1

    async def test_a_new_account_gets_a_code_shown_once_sets_a_password_and_signs_in(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        admin = await desk.signed_in(clinic.admin)
        name = username()
        created = await admin.submit("/desk/staff", {
            "action": "create", "username": name, "display_name": "Тимур Новый",
            "role": "worker"}, on="/desk/staff")
        assert created.status_code == 200
        issued = re.search(rf"One-time code for {name}: ([0-9A-Z]{{4}}-[0-9A-Z]{{4}}-"
                           r"[0-9A-Z]{4})\.", created.text)
        assert issued is not None, created.text
        code = issued.group(1)
        assert code not in (await admin.get("/desk/staff")).text, "shown once"
        assert code not in str(created.url) and code not in created.headers.get("location", "")
        newcomer = desk.browser()
        differ = await newcomer.submit("/desk/set-password", {
            "username": name, "code": code, "password": "a brand new passphrase",
            "repeat": "a brand new passphrase!"}, on="/desk/set-password")
        assert differ.status_code == 400 and "The two passwords differ." in differ.text
        weak = await newcomer.submit("/desk/set-password", {
            "username": name, "code": code, "password": f"{name}-pass",
            "repeat": f"{name}-pass"}, on="/desk/set-password")
        assert weak.status_code == 400
        assert "must not contain the username" in weak.text
        saved = await newcomer.submit("/desk/set-password", {
            "username": name, "code": code.lower(), "password": "a brand new passphrase",
            "repeat": "a brand new passphrase"}, on="/desk/set-password")
        assert saved.status_code == 303
        assert saved.headers["location"] == "/desk/sign-in?saved=1"
        notice = await newcomer.get(saved.headers["location"])
        assert "Your password is saved." in notice.text
        signed_in = await newcomer.submit("/desk/sign-in", {
            "username": name, "password": "a brand new passphrase"}, on="/desk/sign-in")
        assert signed_in.status_code == 303
        home = await newcomer.get("/desk/")
        assert f"Signed in as Тимур Новый, {CLINIC}" in words(home)
        used = await desk.browser().submit("/desk/set-password", {
            "username": name, "code": code, "password": "another new passphrase",
            "repeat": "another new passphrase"}, on="/desk/set-password")
        assert used.status_code == 400
        assert "Ask your administrator for a new one." in words(used)
        trail = await admin.get("/desk/staff")
        assert f"Тимур Новый — set a password: {name}" in words(trail)
        assert f"{ADMIN_NAME} — created: {name}" in words(trail)

    async def test_refusals_are_said_on_the_page(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        admin = await desk.signed_in(clinic.admin)
        taken = await admin.submit("/desk/staff", {
            "action": "create", "username": clinic.worker.username, "display_name": "X",
            "role": "worker"}, on="/desk/staff")
        assert taken.status_code == 400 and "This username is taken" in taken.text
        invalid = await admin.submit("/desk/staff", {
            "action": "create", "username": "a b", "display_name": "X", "role": "worker"},
            on="/desk/staff")
        assert invalid.status_code == 400 and "A username is 3 to 32" in invalid.text
        myself = await admin.submit("/desk/staff", {
            "action": "deactivate", "staff": str(clinic.admin.id)}, on="/desk/staff")
        assert myself.status_code == 400
        assert "You cannot deactivate your own account." in myself.text
        stranger = await desk.worker()
        for action in ("deactivate", "reactivate", "password-code"):
            for target in (str(stranger.id), "not-a-uuid", ""):
                response = await admin.submit("/desk/staff", {
                    "action": action, "staff": target}, on="/desk/staff")
                assert response.status_code == 400, (action, target)
                assert "There is no such account at your clinic." in response.text
        assert await desk.sessions_of(clinic.admin) == 1
        assert (await desk.signed_in(stranger)).session_token()

    async def test_deactivating_ends_the_accounts_live_session(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        worker = await desk.signed_in(clinic.worker)
        assert (await worker.get("/desk/")).status_code == 200
        admin = await desk.signed_in(clinic.admin)
        response = await admin.submit("/desk/staff", {
            "action": "deactivate", "staff": str(clinic.worker.id)}, on="/desk/staff")
        assert response.status_code == 303 and response.headers["location"] == "/desk/staff"
        ended = await worker.get("/desk/")
        assert ended.status_code == 303
        assert ended.headers["location"] == "/desk/sign-in?ended=1"
        again = await desk.browser().submit("/desk/sign-in", {
            "username": clinic.worker.username, "password": PASSWORD}, on="/desk/sign-in")
        assert again.status_code == 400
        page = await admin.get("/desk/staff")
        assert f"{ADMIN_NAME} — deactivated: {clinic.worker.username}" in words(page)
        back = await admin.submit("/desk/staff", {
            "action": "reactivate", "staff": str(clinic.worker.id)}, on="/desk/staff")
        assert back.status_code == 303
        await desk.signed_in(clinic.worker)

    async def test_a_password_reset_code_is_shown_and_works(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        worker = await desk.signed_in(clinic.worker)
        admin = await desk.signed_in(clinic.admin)
        response = await admin.submit("/desk/staff", {
            "action": "password-code", "staff": str(clinic.worker.id)}, on="/desk/staff")
        assert response.status_code == 200
        issued = re.search(rf"One-time code for {clinic.worker.username}: ([0-9A-Z-]{{14}})",
                           response.text)
        assert issued is not None
        assert (await worker.get("/desk/")).status_code == 200, "a code alone ends nothing"
        saved = await desk.browser().submit("/desk/set-password", {
            "username": clinic.worker.username, "code": issued.group(1),
            "password": "a brand new passphrase", "repeat": "a brand new passphrase"},
            on="/desk/set-password")
        assert saved.status_code == 303
        ended = await worker.get("/desk/")
        assert ended.headers["location"] == "/desk/sign-in?ended=1"

    async def test_a_staff_form_without_its_token_changes_nothing(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        worker = await desk.signed_in(clinic.worker)
        admin = await desk.signed_in(clinic.admin)
        name = username()
        for form in ({"action": "create", "username": name, "display_name": "X",
                      "role": "admin"},
                     {"action": "deactivate", "staff": str(clinic.worker.id)},
                     {"action": "password-code", "staff": str(clinic.worker.id)}):
            response = await admin.post("/desk/staff", form)
            assert response.status_code == 403
            assert "One-time code" not in response.text
        assert name not in (await admin.get("/desk/staff")).text
        assert (await worker.get("/desk/")).status_code == 200
        trail = await desk.auth.staff_admin.trail(clinic.admin)
        assert [entry.action for entry in trail] == ["created", "created"]

    async def test_wrong_setup_codes_are_throttled_per_address(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        member, code = await desk.auth.staff_admin.create(clinic.admin, username(), "N",
                                                          "worker")
        guesser = desk.browser()
        form = {"username": member.username, "password": "a brand new passphrase",
                "repeat": "a brand new passphrase"}
        for number in range(desk.settings.staff_failures_per_source):
            response = await guesser.submit("/desk/set-password", {
                **form, "code": f"AAAA-AAAA-{number:04d}"}, on="/desk/set-password")
            assert response.status_code == 400
        held = await guesser.submit("/desk/set-password", {**form, "code": code.code},
                                    on="/desk/set-password")
        assert held.status_code == 429
        saved = await desk.browser().submit("/desk/set-password", {**form, "code": code.code},
                                            on="/desk/set-password")
        assert saved.status_code == 303


# -- leaving -----------------------------------------------------------------------------------


class TestSessionEnds:
    async def test_sign_out_ends_the_session(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        token = browser.session_token()
        assert token
        response = await browser.submit("/desk/sign-out", {})
        assert response.status_code == 303
        assert response.headers["location"] == "/desk/sign-in?out=1"
        deleted = set_cookie(response, "desk_session")
        assert deleted is not None and "max-age=0" in deleted.lower()
        assert "You have signed out." in (await browser.get("/desk/sign-in?out=1")).text
        assert await desk.sessions_of(clinic.worker) == 0
        replay = desk.browser()
        replay.http.cookies.set("desk_session", token, domain="testserver.local", path="/desk")
        again = await replay.get("/desk/")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/desk/sign-in")

    async def test_sign_out_without_its_token_keeps_the_session(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        for form in ({}, {"csrf": "nope"}):
            response = await browser.post("/desk/sign-out", form)
            assert response.status_code == 403
        assert (await browser.get("/desk/")).status_code == 200
        assert await desk.sessions_of(clinic.worker) == 1

    async def test_idle_too_long_sends_the_worker_to_sign_in_again(
            self, desk: Desk, engine: AsyncEngine) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.desk_session SET last_seen_at = now() - make_interval(secs => :s) "
                "WHERE staff_id = :staff"),
                {"s": desk.settings.desk_idle_seconds - 60, "staff": clinic.worker.id})
        assert (await browser.get("/desk/")).status_code == 200, "not idle long enough"
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE auth.desk_session SET last_seen_at = now() - make_interval(secs => :s) "
                "WHERE staff_id = :staff"),
                {"s": desk.settings.desk_idle_seconds + 1, "staff": clinic.worker.id})
        ended = await browser.get("/desk/help")
        assert ended.status_code == 303
        assert ended.headers["location"] == "/desk/sign-in?ended=1"
        notice = await browser.get(ended.headers["location"])
        assert notice.status_code == 200
        assert "Your session has ended" in notice.text
        assert (await browser.get("/desk/")).headers["location"] == "/desk/sign-in"


# -- help --------------------------------------------------------------------------------------


HOSTILE = """# Ordinary heading

<script>alert("body")</script>

<img src=x onerror="alert(1)">

[click me](javascript:alert(2)) and [fine](https://example.org)

<iframe src="https://evil.example"></iframe>
"""


@pytest.fixture
async def hostile_desk(engine: AsyncEngine, committed: AsyncSession,
                       auth_service: AuthService, auth_settings: AuthSettings,
                       monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    """The console with one more help article, written to attack the page it is shown on."""
    bundled = HelpLibrary.load()
    extra = [Article(slug="desk-hostile", language=language, audience=HelpAudience.STAFF,
                     title="<script>alert('title')</script>Hostile", summary="Summary",
                     tags=("desk",), order=999, updated=date(2026, 11, 1), body=HOSTILE,
                     etag='"x"') for language in HelpLibrary.LANGUAGES]
    library = HelpLibrary([*(a for lang in HelpLibrary.LANGUAGES
                             for a in bundled.articles(lang)), *extra])
    monkeypatch.setattr(HelpLibrary, "load", classmethod(lambda cls, root=None: library))
    app = create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                     today=lambda: TODAY)
    async with running(app) as browser:
        yield Desk(app, engine, committed, auth_service, auth_settings, browser)


class TestHelp:
    async def test_the_index_lists_staff_and_citizen_articles(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        page = await browser.get("/desk/help")
        assert page.status_code == 200
        library = HelpLibrary.load()
        staff = [a for a in library.articles("en") if a.audience is HelpAudience.STAFF]
        citizens = [a for a in library.articles("en") if a.audience is HelpAudience.CITIZEN]
        assert staff and citizens
        shown = words(page)
        assert shown.index("For the desk") < shown.index("For citizens")
        for article in staff:
            assert shown.index(article.title) < shown.index("For citizens"), article.slug
        for article in citizens:
            assert shown.index(article.title) > shown.index("For citizens"), article.slug
        links = urls_of(page)
        for article in [*staff, *citizens]:
            assert f"/desk/help/{article.slug}" in links

    async def test_an_article_and_its_handout_in_another_language(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        library = HelpLibrary.load()
        english, russian = library.get("install-the-app", "en"), library.get(
            "install-the-app", "ru")
        assert english is not None and russian is not None
        page = await browser.get("/desk/help/install-the-app")
        assert page.status_code == 200 and english.title in words(page)
        assert 'action="/desk/help/install-the-app/handout"' in page.text
        handout = await browser.get("/desk/help/install-the-app/handout?lang=ru")
        assert handout.status_code == 200
        assert '<html lang="ru">' in handout.text
        assert russian.title in words(handout) and english.title not in words(handout)
        assert "Отсканируйте, чтобы скачать приложение" in handout.text
        assert re.search(r"<svg[^>]*class=\"qr\"", handout.text), "an inline SVG QR code"
        assert "<img" not in handout.text
        assert 'lang="en"' in handout.text, "the desk's own words stay in its language"
        unknown = await browser.get("/desk/help/install-the-app/handout?lang=xx")
        assert '<html lang="en">' in unknown.text

    async def test_an_unknown_article_is_a_404_page(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        browser = await desk.signed_in(clinic.worker)
        for path in ("/desk/help/no-such-article", "/desk/help/no-such-article/handout"):
            response = await browser.get(path)
            assert response.status_code == 404, path
            assert "There is no such article." in response.text
            assert_strict_page(response)
        for path in ("/desk/help/%2E%2E%2Fsecret", "/desk/help/a/b/c"):
            response = await browser.get(path)
            assert response.status_code == 404, path
            assert_strict_page(response)

    async def test_an_article_is_sanitised(self, hostile_desk: Desk) -> None:
        clinic = await hostile_desk.clinic()
        browser = await hostile_desk.signed_in(clinic.worker)
        for path in ("/desk/help/desk-hostile", "/desk/help/desk-hostile/handout?lang=kk",
                     "/desk/help"):
            page = await browser.get(path)
            assert page.status_code == 200, path
            body = page.text
            assert "<script>" not in body and "<iframe" not in body and "<img" not in body
            assert not re.search(r"<[a-z][^>]*\son[a-z]+=", body), "no event handler"
            assert 'href="javascript:' not in body
            assert len(re.findall(r"<script", body)) == 1  # desk.js, by src
            assert "&lt;script&gt;alert(&#39;title&#39;)" in body, "the title is escaped"
        article = await browser.get("/desk/help/desk-hostile")
        assert '<a href="https://example.org"' in article.text
        assert "<h2>Ordinary heading</h2>" in article.text


# -- what a browser (or an attacker) may send --------------------------------------------------


class TestGarbage:
    async def test_a_body_over_8_kb_is_refused(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        anonymous = desk.browser()
        token = csrf_of(await anonymous.get("/desk/sign-in"))
        big = await anonymous.post("/desk/sign-in", {"csrf": token, "username": "x" * 9000,
                                                     "password": PASSWORD})
        assert big.status_code == 413
        assert_strict_page(big)
        signed_in = await desk.signed_in(clinic.worker)
        token = csrf_of(await signed_in.get("/desk/"))
        for path in ("/desk/patients", "/desk/staff", "/desk/sign-out"):
            response = await signed_in.post(path, {"csrf": token, "how": "code",
                                                   "consent_code": "A" * 9000})
            assert response.status_code == 413, path
        assert (await signed_in.get("/desk/")).status_code == 200, "still signed in"

    @pytest.mark.parametrize("body", [
        b"\xff\xfe\xfd", b"csrf=\xc3\x28&username=x", b"%ZZ%%%&&&===", b"a=" + b"\x00" * 10,
        b"&".join(b"f%d=1" % n for n in range(30)), b"csrf",
    ])
    async def test_form_garbage_is_refused_never_an_error(
            self, desk: Desk, body: bytes) -> None:
        clinic = await desk.clinic()
        anonymous = desk.browser()
        await anonymous.get("/desk/sign-in")
        signed_in = await desk.signed_in(clinic.worker)
        headers = {"content-type": "application/x-www-form-urlencoded"}
        for browser, path in ((anonymous, "/desk/sign-in"), (anonymous, "/desk/set-password"),
                              (signed_in, "/desk/patients"), (signed_in, "/desk/sign-out"),
                              (signed_in, "/desk/staff")):
            response = await browser.http.post(path, content=body, headers=headers)
            assert response.status_code == 403, (path, response.status_code)
            assert_strict_page(response)

    @pytest.mark.parametrize("field", ["username", "password"])
    async def test_a_nul_in_a_field_is_no_error(self, desk: Desk, field: str) -> None:
        clinic = await desk.clinic()
        form = {"username": clinic.worker.username, "password": PASSWORD,
                field: "a\x00b"}
        response = await desk.browser().submit("/desk/sign-in", form, on="/desk/sign-in")
        assert response.status_code in (400, 403), response.status_code

    async def test_a_nul_in_any_form_is_no_error(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        admin = await desk.signed_in(clinic.admin)
        patient = await admin.open_patient(await desk.consent_code(person))
        cases: list[tuple[str, dict[str, str], str]] = [
            ("/desk/patients", {"how": "code", "consent_code": "AB\x00CD"}, "/desk/"),
            ("/desk/patients", {"how": "sms", "iin": "\x00" * 12}, "/desk/"),
            ("/desk/patients", {"how": "sms-code", "challenge": "\x00", "code": "1\x00"},
             "/desk/"),
            ("/desk/staff", {"action": "create", "username": "new\x00name",
                             "display_name": "X", "role": "worker"}, "/desk/staff"),
            ("/desk/staff", {"action": "create", "username": username(),
                             "display_name": "X\x00Y", "role": "worker"}, "/desk/staff"),
            ("/desk/staff", {"action": "deactivate", "staff": "\x00"}, "/desk/staff"),
            (f"{patient}/checks", {"x": "\x00"}, patient),
        ]
        for path, form, on in cases:
            response = await admin.submit(path, form, on=on)
            assert response.status_code < 500, (path, form, response.status_code)
        anonymous = desk.browser()
        response = await anonymous.submit("/desk/set-password", {
            "username": "a\x00", "code": "\x00", "password": "long enough pass\x00",
            "repeat": "long enough pass\x00"}, on="/desk/set-password")
        assert response.status_code < 500

    @pytest.mark.parametrize("expires", ["", "garbage", "2026-13-45T99:00:00", "\u0661" * 8,
                                         "0001-01-01T00:00", "9999-12-31T23:59+00:00"])
    async def test_a_tampered_hidden_field_is_no_error(self, desk: Desk, expires: str) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        asked = await browser.submit("/desk/patients", {"how": "sms", "iin": person.iin})
        challenge = re.search(r'name="challenge" value="([^"]+)"', asked.text)
        assert challenge is not None
        response = await browser.post("/desk/patients", {
            "csrf": csrf_of(asked), "how": "sms-code", "challenge": challenge.group(1),
            "phone": "<b>tampered</b>", "expires": expires, "code": "000000"})
        assert response.status_code == 400, response.status_code
        assert "<b>tampered</b>" not in response.text

    async def test_any_content_type_and_method_is_answered(self, desk: Desk) -> None:
        browser = desk.browser()
        await browser.get("/desk/sign-in")
        json_post = await browser.http.post("/desk/sign-in", json={"username": "x"})
        assert json_post.status_code == 403
        multipart = await browser.http.post("/desk/sign-in", files={"f": b"x"})
        assert multipart.status_code == 403
        assert (await browser.http.put("/desk/sign-in")).status_code == 405


# -- the patient's view of the desk's looks ----------------------------------------------------


class TestAccessLog:
    async def test_looks_are_listed_once_per_window_and_purpose(
            self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        for _ in range(4):
            assert (await browser.get(patient)).status_code == 200
            assert (await browser.get(f"{patient}/onboarding?fragment=1")).status_code == 200
        citizen = desk.auth.mint(str(person.id), Audience.MOBILE)
        events = [edge["node"] for edge in data(await graphql(
            browser.http, ACCESS_LOG, token=citizen))["me"]["accessLog"]["edges"]]
        purposes = sorted(event["purpose"] for event in events)
        assert purposes == ["devices", "insurance_status", "profile"], events
        for event in events:
            assert (event["actorKind"], event["actorName"], event["organization"],
                    event["reason"]) == ("STAFF", WORKER_NAME, CLINIC, "consent")
        # A second consent is a second window: its looks are listed again.
        again = await browser.open_patient(await desk.consent_code(person))
        await browser.get(again)
        await browser.get(again)
        events = [edge["node"] for edge in data(await graphql(
            browser.http, ACCESS_LOG, token=citizen))["me"]["accessLog"]["edges"]]
        assert sorted(event["purpose"] for event in events) == sorted(
            ["devices", "insurance_status", "profile"] * 2)

    async def test_a_check_is_listed_once_per_window(self, desk: Desk) -> None:
        clinic = await desk.clinic()
        person = await desk.patient()
        browser = await desk.signed_in(clinic.worker)
        patient = await browser.open_patient(await desk.consent_code(person))
        sent = await browser.submit(f"{patient}/checks", {}, on=patient)
        for _ in range(3):
            await browser.get(sent.headers["location"])
            await browser.get(sent.headers["location"] + "?fragment=1")
        citizen = desk.auth.mint(str(person.id), Audience.MOBILE)
        events = [edge["node"] for edge in data(await graphql(
            browser.http, ACCESS_LOG, token=citizen))["me"]["accessLog"]["edges"]]
        assert sorted(e["purpose"] for e in events).count("notification_check") == 1

