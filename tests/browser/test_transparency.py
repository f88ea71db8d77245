"""The public page ``/transparency`` in a real browser (Debian's chromium under Playwright)
against the live stack, on a demo country whose rollups were filled the real way: in kk, ru
and en, at 1366×768 and on a 390×844 phone, with no axe-core violation at all (minor ones
included), nothing wider than the screen, the chart drawn for the screen's width, visible
focus from the keyboard, no CSP violation, the language remembered, and the tables, charts,
filter and pages working with JavaScript off.  Screenshots: ``.screenshots/transparency-*``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import ConsoleMessage, Page, ViewportSize, expect

from backend.demo import generator
from backend.transparency.figures import figures_of
from tests.api.public_stats_world import load_country
from tests.browser.helpers import NewPage, Stack, looked_at, run_axe

PHONE: ViewportSize = {"width": 390, "height": 844}
LANGUAGES = ("kk", "ru", "en")
TITLES = {"kk": "Сақтандыру ақшасы қайда жұмсалады",
          "ru": "Куда идут деньги медицинского страхования",
          "en": "Where the health insurance money goes"}
NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
WITHHELD = {"kk": "жасырылған", "ru": "скрыто", "en": "withheld"}


@pytest.fixture(scope="module")
async def country(stack: Stack) -> AsyncIterator[None]:
    """A demo country of 2,000 people on the stack's database, its rollups filled; the
    stack's kept figures forgotten so that the page reads them."""
    await load_country(stack.engine, people=2_000, seed=3)
    figures_of(stack.app.state.runtime.reads).forget()
    try:
        yield
    finally:
        await generator.clear(stack.engine)
        figures_of(stack.app.state.runtime.reads).forget()


async def no_violations(page: Page, name: str) -> None:
    """axe-core finds nothing, whatever the impact; then a screenshot to look at."""
    result = await run_axe(page)
    found = [f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']]}"
             for v in result["violations"]]
    if found:
        await looked_at(page, f"{name}.axe")
    assert found == [], "\n".join(found)
    await looked_at(page, name)


async def fits(page: Page) -> None:
    """Nothing makes the page wider than the screen (a wide table scrolls in its own box)."""
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"]


def csp_watch(page: Page) -> list[str]:
    """Console messages about the Content Security Policy (there must be none)."""
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            found.append(message.text)
    page.on("console", seen)
    return found


@pytest.mark.usefixtures("country")
class TestEveryLanguage:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_desktop_and_phone(self, new_page: NewPage, language: str) -> None:
        desktop = await new_page(locale="en")
        refused = csp_watch(desktop)
        await desktop.goto(f"/transparency?lang={language}")
        await expect(desktop.locator("h1")).to_have_text(TITLES[language])
        await expect(desktop.locator("html")).to_have_attribute("lang", language)
        for chart in ("chart-months", "chart-regions"):
            await expect(desktop.locator(f"#{chart}-wide")).to_be_visible()
            await expect(desktop.locator(f"#{chart}-narrow")).to_be_hidden()
        for table in ("months", "regions", "providers", "insured"):
            await expect(desktop.locator(f"#{table}-table caption")).to_be_visible()
        await expect(desktop.locator("#months-table tbody tr")).to_have_count(12)
        await expect(desktop.locator("#regions-table tbody tr")).to_have_count(20)
        await expect(desktop.locator("#providers-table tbody tr")).to_have_count(20)
        assert await desktop.locator("td.withheld").count() > 0
        assert set(await desktop.locator("td.withheld").all_inner_texts()) == {
            WITHHELD[language]}
        # Side by side on a desk screen: the table begins level with its chart.
        drawn = await desktop.locator("#chart-months-wide").bounding_box()
        beside = await desktop.locator("#months-table").bounding_box()
        assert drawn is not None and beside is not None and beside["x"] > drawn["x"] + 300
        await fits(desktop)
        await no_violations(desktop, f"transparency-{language}-desktop")

        phone = await new_page(viewport=PHONE, locale=language)
        refused += csp_watch(phone)
        await phone.goto("/transparency")  # the phone's own language (Accept-Language)
        await expect(phone.locator("h1")).to_have_text(TITLES[language])
        for chart in ("chart-months", "chart-regions"):
            await expect(phone.locator(f"#{chart}-narrow")).to_be_visible()
            await expect(phone.locator(f"#{chart}-wide")).to_be_hidden()
        box = await phone.locator("#chart-regions-narrow").bounding_box()
        assert box is not None and box["width"] <= PHONE["width"]
        await fits(phone)
        await no_violations(phone, f"transparency-{language}-phone")
        assert refused == []


@pytest.mark.usefixtures("country")
class TestUsingIt:
    async def test_the_language_links_and_the_choice_remembered(self, page: Page) -> None:
        await page.goto("/transparency")
        await expect(page.locator("html")).to_have_attribute("lang", "en")  # the browser's
        await page.get_by_role("link", name=NAMES["kk"]).click()
        await expect(page.locator("h1")).to_have_text(TITLES["kk"])
        assert "lang=kk" in page.url
        await page.goto("/transparency")  # no ?lang: the cookie speaks
        await expect(page.locator("h1")).to_have_text(TITLES["kk"])
        await page.get_by_role("link", name=NAMES["ru"]).click()
        await expect(page.locator("h1")).to_have_text(TITLES["ru"])

    async def test_without_javascript_the_filter_and_the_pages(
        self, new_page: NewPage
    ) -> None:
        page = await new_page(java_script_enabled=False)
        await page.goto("/transparency?lang=en")
        await expect(page.locator("#chart-months-wide")).to_be_visible()
        await page.locator("#region").select_option("KZ-75")
        await page.locator("#zone").select_option("green")
        await page.get_by_role("button", name="Show").click()
        await expect(page.locator("#region")).to_have_value("KZ-75")
        rows = page.locator("#providers-table tbody tr")
        assert await rows.count() > 0
        assert set(await rows.locator("td:nth-child(2)").all_inner_texts()) == {"Almaty"}
        assert set(await rows.locator("td:nth-child(3)").all_inner_texts()) == {"green"}
        await page.goto("/transparency?lang=en")
        keys = "rows => rows.map(row => row.dataset.key)"
        first = await page.locator("#providers-table tbody tr").evaluate_all(keys)
        await page.get_by_role("link", name="Next 20 providers").click()
        await expect(page.get_by_role("link", name="Back to the first page")).to_be_visible()
        second = await page.locator("#providers-table tbody tr").evaluate_all(keys)
        assert len(first) == len(second) == 20 and not set(first) & set(second)
        await looked_at(page, "transparency-en-no-js-page-2")

    async def test_the_keyboard_reaches_everything_with_visible_focus(
        self, page: Page
    ) -> None:
        await page.goto("/transparency?lang=ru")
        await page.keyboard.press("Tab")
        skip = page.locator("a.skip")
        await expect(skip).to_be_focused()
        box = await skip.bounding_box()
        assert box is not None and box["x"] >= 0  # on screen once focused
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).to_be_focused()
        outlines = set()
        for _ in range(12):
            await page.keyboard.press("Tab")
            outlines.add(await page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return s.outlineStyle + ' ' + s.outlineWidth; }"))
        assert outlines == {"solid 3px"}
        # the scrolling tables are reachable too (so a keyboard can scroll them)
        await page.locator("#region").focus()
        await page.keyboard.press("Shift+Tab")
        await expect(page.locator("#regions-table").locator("xpath=..")).to_be_focused()

    async def test_a_bad_query_is_a_page_that_says_why(self, new_page: NewPage) -> None:
        page = await new_page(locale="kk")
        answer = await page.goto("/transparency?lang=de")
        assert answer is not None and answer.status == 400
        await expect(page.locator("[role=alert]")).to_contain_text("«de» тілі жоқ")
        await no_violations(page, "transparency-kk-refused")
        await page.get_by_role("link", name=re.compile("Ашық деректер")).click()
        await expect(page.locator("h1")).to_have_text(TITLES["kk"])
