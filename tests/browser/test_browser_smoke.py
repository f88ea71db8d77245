"""The browser tests' own machinery works against the real stack: chromium opens the app's
pages over HTTP, screenshots are kept, a QR code on a page is read back, axe runs under the
pages' strict CSP, and the stack's notification worker delivers to fcm-local."""

from __future__ import annotations

import json
import uuid

import pytest
import segno
from playwright.async_api import Page, Route
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.headers import CONTENT_SECURITY_POLICY
from tests.api.sms import new_phone
from tests.browser.helpers import (
    ROOT,
    TABLET,
    WORKER_NAME,
    WORKER_STOP_SECONDS,
    NewPage,
    Stack,
    assert_accessible,
    decode_qr,
    looked_at,
    run_axe,
)
from tests.factories import create_person
from tests.notifications.dispatch_helpers import (
    add_device,
    add_event,
    deliveries,
    notification_id,
    pushes,
    received,
    wait_for,
    worker_backends,
)

AXE_VERSION = json.loads((ROOT / "tests/browser/axe/package.json").read_text(
    encoding="utf-8"))["dependencies"]["axe-core"]


async def test_chromium_opens_the_apps_pages_over_http(stack: Stack, page: Page) -> None:
    answer = await page.goto("/healthz")
    assert answer is not None and answer.ok
    assert page.url == f"{stack.base_url}/healthz"
    await page.goto("/graphql")
    # GraphiQL's pinned scripts ran under the app's CSP and drew the editor.
    await page.locator(".graphiql-container .graphiql-editor").first.wait_for()
    shot = await looked_at(page, "smoke-graphiql")
    assert shot == ROOT / ".screenshots/smoke-graphiql.png"
    assert shot.read_bytes().startswith(b"\x89PNG")


INLINE_SCRIPT = """() => new Promise(done => {
    document.addEventListener('securitypolicyviolation', () => done('blocked'));
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.body.append(script);
    setTimeout(() => done(window.inlineRan ? 'ran' : 'silent'), 2000);
})"""


async def test_axe_runs_under_the_apps_strict_csp(page: Page) -> None:
    """The dev SMS page comes with the app's CSP (no inline script), which stays on: axe
    still runs there."""
    answer = await page.goto("/dev/sms")
    assert answer is not None and answer.ok
    assert (await answer.all_headers())["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert await page.evaluate(INLINE_SCRIPT) == "blocked"
    result = await run_axe(page)
    assert result["testEngine"]["name"] == "axe-core"
    assert result["testEngine"]["version"] == AXE_VERSION
    assert isinstance(result["violations"], list)


GOOD = """<!doctype html><html lang="en"><head><title>Probe</title></head><body><main>
<h1>Probe</h1><p>Text.</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">
</main></body></html>"""
BAD = """<!doctype html><html lang="en"><head><title>Probe</title></head><body><main>
<h1>Probe</h1><img id="no-alt" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button id="no-name"></button></main></body></html>"""


async def test_assert_accessible_passes_a_clean_page_and_names_what_is_wrong(
        stack: Stack, page: Page) -> None:
    """Pages of the stack's origin under the app's own CSP header: a clean one passes, one
    with an image without text and a button without a name fails with both listed."""
    async def serve(route: Route) -> None:
        body = GOOD if route.request.url.endswith("/good") else BAD
        await route.fulfill(body=body, content_type="text/html; charset=utf-8",
                            headers={"content-security-policy": CONTENT_SECURITY_POLICY})

    await page.route(f"{stack.base_url}/axe-probe/*", serve)
    await page.goto("/axe-probe/good")
    assert await page.evaluate(INLINE_SCRIPT) == "blocked"
    assert (await assert_accessible(page, "smoke-axe-good"))["violations"] == []
    await page.goto("/axe-probe/bad")
    with pytest.raises(AssertionError) as failed:
        await assert_accessible(page, "smoke-axe-bad")
    message = str(failed.value)
    assert "2 serious or critical violation(s) on 'smoke-axe-bad'" in message
    assert 'image-alt (critical)' in message and '["#no-alt"]' in message
    assert 'button-name (critical)' in message and '["#no-name"]' in message
    assert (ROOT / ".screenshots/smoke-axe-bad.axe.png").exists()


async def test_a_qr_code_on_a_tablet_page_is_read_back(new_page: NewPage) -> None:
    tablet = await new_page(viewport=TABLET, locale="kk")
    assert tablet.viewport_size == TABLET
    link = "mhi://onboard?code=ABCD-2345-WXYZ&lang=kk"
    svg = segno.make(link, error="m").svg_inline(scale=4)
    await tablet.set_content(f"<!doctype html><html lang='kk'><body><main>"
                             f"<figure id='qr'>{svg}</figure></main></body></html>")
    assert await decode_qr(tablet.locator("#qr svg")) == link
    assert await tablet.evaluate("navigator.language") == "kk"


async def test_the_stacks_worker_delivers_an_outbox_event_to_fcm_local(
        stack: Stack, committed: AsyncSession) -> None:
    person = uuid.uuid4()
    phone = await add_device(stack.engine, person)
    event = await add_event(stack.engine, person, "contribution.received", received(101))

    async def delivered() -> bool:
        return [row.state for row in await deliveries(
            stack.engine, "event_id = :event", {"event": event})] == ["sent"]

    await wait_for(delivered, WORKER_STOP_SECONDS)
    [push] = pushes(stack.fcm, phone.token)
    assert push["token"] == phone.token
    assert push["data"]["notificationId"] == notification_id(event)
    assert push["data"]["type"] == "contribution.received"
    # The stack's worker sent it, on connections of its own (the teardown waits for them to
    # go); its totals are counted just after the deliveries are marked.
    assert await worker_backends(stack.engine, WORKER_NAME) > 0


REQUEST_CODE = """
mutation RequestSignInCode($iin: String!, $phone: String!) {
  requestSignInCode(iin: $iin, phone: $phone) { challengeId userErrors { code } }
}"""


async def test_a_sign_in_code_asked_for_from_the_browser_is_read_by_sms_codes(
        stack: Stack, page: Page, committed: AsyncSession) -> None:
    person = await create_person(committed, phone=new_phone())
    await committed.commit()
    assert person.phone is not None
    asked = await page.request.post("/graphql", data={
        "query": REQUEST_CODE, "variables": {"iin": person.iin, "phone": person.phone}})
    assert asked.ok
    assert (await asked.json())["data"]["requestSignInCode"]["userErrors"] == []
    [code] = await stack.sms_codes(person.phone)
    [sms] = await stack.sms_texts(person.phone)
    assert code in sms
    assert await stack.sms_codes(new_phone()) == []
