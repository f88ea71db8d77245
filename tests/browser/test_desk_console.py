"""The registry-desk console in a real browser (Debian's chromium under Playwright) against the
live stack: a clinic's staff sign in, open a patient with consent (the app's code, or a code
sent by SMS and read out), read the status and the phones, check that notifications arrive
(fcm-local records the push), sign a patient in on a new phone with the QR code (decoded from
the screenshot, completed as the app would), and manage the clinic's staff.  Every page is
checked with axe-core and kept as a screenshot in kk, ru and en (``.screenshots/desk-*``)."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.service import AuthService
from auth.staff import StaffMember
from auth.tokens import Audience
from backend.models import Person
from notifications import preferences
from tests.api.sms import new_phone
from tests.browser.helpers import (
    TABLET,
    NewPage,
    Stack,
    assert_accessible,
    decode_qr,
    looked_at,
)
from tests.factories import create_insured_employee, create_person, create_provider
from tests.notifications.dispatch_helpers import add_device, pushes

PASSWORD = "desk password 2026"
ALMATY = ZoneInfo("Asia/Almaty")
LANGUAGES = ("kk", "ru", "en")
SIGNED_IN_AS = {"kk": "Сіз кірдіңіз", "ru": "Вы вошли как", "en": "Signed in as"}


@dataclass(frozen=True)
class Clinic:
    """A clinic with its administrator and one desk worker."""

    name: str
    admin: StaffMember
    worker: StaffMember


def auth_of(stack: Stack) -> AuthService:
    """The stack's own ``auth``."""
    service: AuthService = stack.app.state.runtime.auth
    return service


async def new_clinic(stack: Stack, committed: AsyncSession) -> Clinic:
    """A clinic of this test's own with an administrator and a worker (password ``PASSWORD``)."""
    provider = await create_provider(committed)
    await committed.commit()
    desk = auth_of(stack).desk
    tag = uuid.uuid4().hex[:8]
    admin = await desk.create_staff(f"admin-{tag}", "Айгерим Сапарова", PASSWORD, provider.id,
                                    provider.name_ru, role="admin")
    worker = await desk.create_staff(f"desk-{tag}", "Данияр Ахметов", PASSWORD, provider.id,
                                     provider.name_ru)
    return Clinic(provider.name_ru, admin, worker)


async def sign_in(page: Page, member: StaffMember, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person types, and wait for the page that answers (a
    check of the page before it arrives would read the one being left)."""
    await page.goto("/desk/sign-in")
    await page.locator("#username").fill(member.username)
    await page.locator("#password").fill(password)
    async with page.expect_navigation():  # the answer (the home page, or the form again)
        await page.locator("form.card button[type=submit]").click()


async def app_call(stack: Stack, query: str, variables: dict[str, Any] | None = None,
                   token: str | None = None) -> dict[str, Any]:
    """What the patient's app sends: GraphQL over HTTP to the stack."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        answer = await http.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=headers)
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def consent_code(stack: Stack, person: Person) -> str:
    """The consent code the patient's app shows."""
    token = auth_of(stack).mint(str(person.id), Audience.MOBILE)
    data = await app_call(stack, "mutation { createConsentCode { code } }", token=token)
    code: str = data["createConsentCode"]["code"]
    return code


async def open_by_app_code(page: Page, stack: Stack, person: Person) -> str:
    """Open the patient with their app's consent code; the window page's URL."""
    await page.goto("/desk/")
    await page.locator("#consent_code").fill(await consent_code(stack, person))
    await page.get_by_role("button", name=re.compile("Open the patient|Пациентті ашу|"
                                                     "Открыть пациента")).click()
    await expect(page.locator("h1")).to_have_text(f"{person.first_name} {person.last_name}")
    return page.url


async def choose_language(page: Page, language: str) -> None:
    """Switch the console's language with its own links."""
    names = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
    link = page.get_by_role("link", name=names[language])
    if await link.count():
        await link.click()
    await expect(page.locator("html")).to_have_attribute("lang", language)


async def shot(page: Page, name: str) -> None:
    """No serious or critical axe violation, and a screenshot to look at; what axe found
    (minor and moderate included) is appended to ``.screenshots/desk-axe.txt``."""
    result = await assert_accessible(page, name)
    path = await looked_at(page, name)
    found = Counter(v["impact"] for v in result["violations"])
    rules = sorted({v["id"] for v in result["violations"]})
    with (path.parent / "desk-axe.txt").open("a", encoding="utf-8") as summary:
        summary.write(f"{name}: {len(result['passes'])} rules passed, violations "
                      f"{dict(found) or 'none'} {rules or ''}\n")


class TestSigningIn:
    async def test_sign_in_shows_who_and_where_and_sign_out_ends_it(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        await page.goto("/desk/")
        await expect(page).to_have_url(re.compile(r"/desk/sign-in$"))
        for language in LANGUAGES:
            await choose_language(page, language)
            await shot(page, f"desk-sign-in-{language}")
        await choose_language(page, "en")
        await sign_in(page, clinic.worker)
        await expect(page.locator("#who")).to_have_text(
            f"Signed in as Данияр Ахметов, {clinic.name}")
        cookies = {c["name"]: c for c in await page.context.cookies()}
        session = cookies["desk_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert session["path"] == "/desk"
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.locator(".notice")).to_have_text("You have signed out.")
        await page.goto("/desk/")  # the old session is over
        await expect(page).to_have_url(re.compile(r"/desk/sign-in$"))

    async def test_a_wrong_password_is_refused_and_repeated_ones_are_throttled(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        await sign_in(page, clinic.worker, "not the password at all")
        await expect(page.locator(".error")).to_have_text(
            "The name or the password is not right.")
        await expect(page.locator("#username")).to_have_value(clinic.worker.username)
        await shot(page, "desk-sign-in-wrong-en")
        for _ in range(auth_of(stack).settings.staff_failures_per_source):
            await sign_in(page, clinic.worker, "still not the password")
        await expect(page.locator(".error")).to_contain_text("Too many attempts")
        await sign_in(page, clinic.worker)  # even the right one waits now
        await expect(page.locator(".error")).to_contain_text("Too many attempts")

    async def test_an_idle_session_ends_and_says_so(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        await sign_in(page, clinic.worker)
        await expect(page.locator("#who")).to_be_visible()
        async with stack.engine.begin() as conn:  # 16 minutes without a click
            await conn.execute(text(
                "UPDATE auth.desk_session SET last_seen_at = now() - interval '16 minutes' "
                "WHERE staff_id = :s"), {"s": clinic.worker.id})
        await page.goto("/desk/help")
        await expect(page).to_have_url(re.compile(r"/desk/sign-in\?ended=1$"))
        await expect(page.locator(".notice")).to_contain_text("Your session has ended")


class TestHelpingAPatient:
    async def test_open_by_app_code_read_status_and_phones_and_check_notifications(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        person = await create_insured_employee(committed, phone=new_phone())
        phone = await add_device(stack.engine, person.id, language="ru")
        await sign_in(page, clinic.worker)
        window_url = await open_by_app_code(page, stack, person)
        assert person.iin not in window_url
        await expect(page.locator(".status-name")).to_have_text("Insured")
        await expect(page.locator(".status")).to_contain_text("guaranteed until")
        await expect(page.locator(".devices .on")).to_contain_text("Notifications arrive")
        await expect(page.locator("main")).to_contain_text(person.iin[-4:])
        assert person.iin not in await page.content()
        for language in LANGUAGES:
            await choose_language(page, language)
            await shot(page, f"desk-patient-{language}")
        await choose_language(page, "en")
        await page.get_by_role("button", name="Check that notifications work").click()
        # The page follows the push as the worker sends it (desk.js), until it is sent.
        await expect(page.locator(".devices")).to_contain_text("Sent", timeout=15_000)
        assert [push["data"]["type"] for push in pushes(stack.fcm, phone.token)] == [
            "desk.check"]
        for language in LANGUAGES:
            await choose_language(page, language)
            await shot(page, f"desk-check-{language}")

    async def test_a_check_shows_a_rejected_phone_and_one_held_for_quiet_hours(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        person = await create_insured_employee(committed, phone=new_phone())
        working = await add_device(stack.engine, person.id, language="ru")
        gone = await add_device(stack.engine, person.id, language="ru")
        stack.fcm.unregister([gone.token])  # the app was removed from this phone
        sleeper = await create_insured_employee(committed, phone=new_phone())
        await add_device(stack.engine, sleeper.id)
        now = datetime.now(ALMATY)
        async with stack.engine.begin() as conn:  # quiet hours around this very moment
            await preferences.set_quiet_hours(conn, sleeper.id, preferences.Quiet(
                (now - timedelta(hours=1)).time().replace(microsecond=0),
                (now + timedelta(hours=2)).time().replace(second=0, microsecond=0),
                "Asia/Almaty"))
        await sign_in(page, clinic.worker)
        await open_by_app_code(page, stack, person)
        await choose_language(page, "ru")
        await page.get_by_role("button", name="Проверить уведомления").click()
        await expect(page.locator(".state-sent")).to_contain_text("Отправлено",
                                                                  timeout=15_000)
        await expect(page.locator(".state-rejected")).to_contain_text("Отклонено",
                                                                      timeout=15_000)
        assert len(pushes(stack.fcm, working.token)) == 1
        await shot(page, "desk-check-rejected-ru")

        await open_by_app_code(page, stack, sleeper)
        await choose_language(page, "kk")
        await expect(page.locator("#quiet-hours")).to_contain_text("Тыныштық сағаттары")
        await page.get_by_role("button", name="Хабарландыруларды тексеру").click()
        held_until = (now + timedelta(hours=2)).strftime("%H:%M")
        await expect(page.locator(".state-pending")).to_contain_text(
            f"Тыныштық сағаттары: {held_until} жіберіледі", timeout=15_000)
        await shot(page, "desk-check-quiet-kk")

    async def test_open_by_sms_code_then_sign_the_patient_in_on_a_new_phone(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        phone = new_phone()
        person = await create_insured_employee(committed, phone=phone, language="kk")
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))
        await sign_in(page, clinic.worker)
        await page.locator("#iin").fill(person.iin)
        await page.get_by_role("button", name="Send the SMS").click()
        await expect(page.locator(".notice")).to_contain_text(f"•• {phone[-2:]}")
        await shot(page, "desk-home-sms-en")
        [code] = await stack.sms_codes(phone)
        await page.locator("#sms_code").fill(code)
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.locator("h1")).to_have_text(f"{person.first_name} {person.last_name}")

        await page.get_by_role("button", name="Sign in on a new phone").click()
        qr_text = await decode_qr(page.locator("svg.qr"))
        typed = await page.locator("#onboarding-code").inner_text()
        assert qr_text == "MHI1" + typed.replace("-", "")
        await shot(page, "desk-onboarding-code-en")  # shown once; kk and ru: the steps below

        # The patient's app: the scanned code, the SMS to the phone on record, the session.
        redeemed = (await app_call(stack, """mutation R($code: String!) {
            redeemOnboardingCode(code: $code) { challengeId userErrors { code } } }""",
            {"code": qr_text}))["redeemOnboardingCode"]
        await expect(page.locator("#step-scanned")).to_have_class("done", timeout=10_000)
        sms = await stack.sms_codes(phone)
        session = (await app_call(stack, """mutation S($c: ID!, $code: String!) {
            signIn(challengeId: $c, code: $code, device: {name: "Samsung A14",
              platform: "android"}) { session { accessToken } userErrors { code } } }""",
            {"c": redeemed["challengeId"], "code": sms[-1]}))["signIn"]["session"]
        await expect(page.locator("#step-signed_in")).to_have_class("done", timeout=10_000)
        await expect(page.locator("#step-signed_in")).to_contain_text("Samsung A14")
        await app_call(stack, """mutation P($d: PushDeviceInput!) {
            registerPushDevice(device: $d) { id } }""", {"d": {
                "token": f"onboarded-{uuid.uuid4().hex}", "platform": "ANDROID",
                "appVersion": "1.4.0", "language": "kk"}}, token=session["accessToken"])
        await expect(page.locator("#step-notifications_on")).to_have_class(
            "done", timeout=10_000)
        await shot(page, "desk-onboarding-done-en")
        for language in ("kk", "ru"):
            await page.goto(page.url)  # the steps page (no code: it was shown once)
            await choose_language(page, language)
            await shot(page, f"desk-onboarding-steps-{language}")
        assert not [url for url in seen if person.iin in url]

    async def test_the_page_closes_when_the_consent_ends(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        person = await create_insured_employee(committed, phone=new_phone())
        await sign_in(page, clinic.worker)
        await open_by_app_code(page, stack, person)
        async with stack.engine.begin() as conn:  # the 15 minutes are nearly over
            await conn.execute(text(
                "UPDATE auth.consent_window SET expires_at = now() + interval '2 seconds' "
                "WHERE staff_id = :s"), {"s": clinic.worker.id})
        await page.reload()
        await expect(page.locator(".countdown")).to_have_text("1 min left")
        # desk.js reloads the page when the time is up; the server then refuses.
        await expect(page.locator("h1")).to_have_text("The consent has ended",
                                                      timeout=10_000)
        for language in LANGUAGES:
            await choose_language(page, language)
            await shot(page, f"desk-consent-ended-{language}")

    async def test_another_clinics_worker_and_a_deactivated_worker_are_refused(
        self, stack: Stack, page: Page, new_page: NewPage, committed: AsyncSession
    ) -> None:
        ours, theirs = await new_clinic(stack, committed), await new_clinic(stack, committed)
        person = await create_insured_employee(committed, phone=new_phone())
        await sign_in(page, ours.worker)
        window_url = await open_by_app_code(page, stack, person)
        stranger = await new_page()
        await sign_in(stranger, theirs.worker)
        await stranger.goto(window_url)
        await expect(stranger.locator("h1")).to_have_text("The consent has ended")
        assert person.last_name not in await stranger.content()

        await auth_of(stack).desk.deactivate(ours.worker.username)
        await page.reload()
        await expect(page).to_have_url(re.compile(r"/desk/sign-in"))
        await sign_in(page, ours.worker)
        await expect(page.locator(".error")).to_have_text(
            "The name or the password is not right.")

    async def test_the_main_flow_with_the_keyboard_alone(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        person = await create_insured_employee(committed, phone=new_phone())
        await add_device(stack.engine, person.id)
        await page.goto("/desk/sign-in")
        await page.keyboard.type(clinic.worker.username)  # the name field has the focus
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("#who")).to_be_visible()
        await tab_to(page, "#consent_code")
        await page.keyboard.type(await consent_code(stack, person))
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text(f"{person.first_name} {person.last_name}")
        await tab_to(page, "button:has-text('Check that notifications work')")
        await page.keyboard.press("Enter")
        await expect(page.locator(".devices")).to_contain_text("Sent", timeout=15_000)
        await tab_to(page, "a:has-text('Back to the patient')")
        await page.keyboard.press("Enter")
        await tab_to(page, "button:has-text('Sign in on a new phone')")
        await page.keyboard.press("Enter")
        await expect(page.locator("svg.qr")).to_be_visible()


async def tab_to(page: Page, selector: str, presses: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (it must be reachable), and check that the
    focus can be seen."""
    target = page.locator(selector).first
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            outline = await target.evaluate(
                "element => getComputedStyle(element).outlineStyle")
            assert outline != "none", f"{selector} shows no focus"
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


class TestStaffManagement:
    async def test_the_administrator_creates_and_deactivates_a_worker(
        self, stack: Stack, page: Page, new_page: NewPage, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        await sign_in(page, clinic.admin)
        await page.get_by_role("link", name="Staff").click()
        await expect(page.locator("h1")).to_have_text("Your clinic's staff")
        await shot(page, "desk-staff-en")
        username = f"new-{uuid.uuid4().hex[:8]}"
        await page.locator("#display_name").fill("Сауле Нурланова")
        await page.locator("#new_username").fill(username)
        await page.get_by_role("button", name="Create").click()
        issued = await page.locator("#issued").inner_text()
        code = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", issued)
        assert code is not None and username in issued
        await shot(page, "desk-staff-created-en")

        newcomer = await new_page(viewport=TABLET, locale="ru")
        await newcomer.goto("/desk/sign-in")
        await newcomer.get_by_role("link", name=re.compile("одноразовый код")).click()
        await expect(newcomer.locator("h1")).to_have_text("Задать пароль")
        await shot(newcomer, "desk-set-password-ru-tablet")
        await newcomer.locator("#username").fill(username)
        await newcomer.locator("#code").fill(code.group(0))
        await newcomer.locator("#password").fill("a brand new password")
        await newcomer.locator("#repeat").fill("a brand new password")
        await newcomer.get_by_role("button", name="Сохранить").click()
        await expect(newcomer.locator(".notice")).to_contain_text("Пароль сохранён")
        await newcomer.locator("#username").fill(username)
        await newcomer.locator("#password").fill("a brand new password")
        await newcomer.get_by_role("button", name="Войти").click()
        await expect(newcomer.locator("#who")).to_contain_text("Сауле Нурланова")
        await shot(newcomer, "desk-home-ru-tablet")

        row = page.locator("tr", has_text=username)
        await row.get_by_role("button", name=re.compile("^Deactivate")).click()
        await expect(page.locator("tr", has_text=username)).to_contain_text("Deactivated")
        await expect(page.locator(".audit")).to_contain_text(f"deactivated: {username}")
        await newcomer.reload()
        await expect(newcomer).to_have_url(re.compile(r"/desk/sign-in"))
        for language in ("kk", "ru"):
            await choose_language(page, language)
            await shot(page, f"desk-staff-{language}")

    async def test_a_worker_cannot_manage_staff(
        self, stack: Stack, page: Page, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        await sign_in(page, clinic.worker)
        await expect(page.get_by_role("link", name="Staff")).to_have_count(0)
        answer = await page.goto("/desk/staff")
        assert answer is not None and answer.status == 403


class TestEveryPage:
    async def test_home_help_and_handouts_in_every_language(
        self, stack: Stack, page: Page, new_page: NewPage, committed: AsyncSession
    ) -> None:
        clinic = await new_clinic(stack, committed)
        person = await create_person(committed, phone=new_phone())
        await committed.commit()
        await sign_in(page, clinic.worker)
        await open_by_app_code(page, stack, person)
        await page.goto("/desk/")
        for language in LANGUAGES:
            await choose_language(page, language)
            await expect(page.locator("#who")).to_contain_text(SIGNED_IN_AS[language])
            await shot(page, f"desk-home-{language}")
            await page.goto("/desk/help")
            await shot(page, f"desk-help-{language}")
            first = page.locator(".articles a").first
            title = await first.inner_text()
            await first.click()
            await expect(page.locator("h1")).to_have_text(title)
            await shot(page, f"desk-article-{language}")
            await page.goto("/desk/help/install-the-app/handout?lang=" + language)
            await expect(page.locator("svg.qr")).to_be_visible()
            await shot(page, f"desk-handout-{language}")
            await page.emulate_media(media="print")
            await looked_at(page, f"desk-handout-print-{language}")
            await page.emulate_media(media="screen")
            await page.goto("/desk/")
        tablet = await new_page(viewport=TABLET, locale="kk")
        await sign_in(tablet, clinic.worker)
        await shot(tablet, "desk-home-kk-tablet")
