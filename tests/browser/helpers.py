"""What the browser tests share besides fixtures: the live stack they drive, and helpers to
check a page for accessibility (axe-core), keep a screenshot of it, and read a QR code off it.

The fixtures (``tests/browser/conftest.py``) build these; a test imports the helpers from here.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import uvicorn
import zxingcpp
from fastapi import FastAPI
from PIL import Image, ImageOps
from playwright.async_api import Locator, Page, ViewportSize
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from auth.sms import DevSmsSink
from notifications.fcm_local import FcmLocal
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".screenshots"
AXE_JS = ROOT / "tests/browser/axe/node_modules/axe-core/axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync")

WORKER_NAME = "mhi-browser-worker"
"""The ``application_name`` of the stack's worker's database sessions."""
WORKER_STOP_SECONDS = 10
TODAY = date(2026, 11, 23)
"""The day the stack's app judges statuses on unless a test pins another (as the API tests)."""
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
TABLET: ViewportSize = {"width": 820, "height": 1180}
SERIOUS = frozenset({"serious", "critical"})
_CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


# --- the live stack -------------------------------------------------------------------------


class PinnedDay:
    """The app's ``today``: a date the tests set (the app asks on every request)."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


@dataclass
class Stack:
    """The app under uvicorn on 127.0.0.1, fcm-local, and a notification worker sending to
    it, all on the suite's database.

    ``base_url``: the app's ``http://127.0.0.1:PORT`` (pages opened with ``page`` resolve
    relative URLs against it).  ``fcm``: fcm-local's state, what the phones received
    (``tests.notifications.dispatch_helpers.pushes(stack.fcm, token)``).  ``worker``: the
    running dispatcher (its ``totals``).  The worker's clock is the database's; ``today``
    only moves the app's judgement of statuses."""

    base_url: str
    app: FastAPI
    engine: AsyncEngine
    auth_settings: AuthSettings
    notify_settings: NotifySettings
    fcm: FcmLocal
    fcm_url: str
    worker: Dispatcher
    clock: PinnedDay = field(default_factory=lambda: PinnedDay(TODAY))

    @property
    def today(self) -> date:
        """The day the app judges statuses on now."""
        return self.clock.day

    def pin_today(self, day: date) -> None:
        """Make the app judge statuses on ``day``; back to ``TODAY`` after the test."""
        self.clock.day = day

    async def sms_texts(self, phone: str) -> list[str]:
        """Every SMS text sent to ``phone`` (E.164) so far, oldest first, once the app has
        handed all it queued to the development sink."""
        await self.app.state.runtime.auth.login.drain()
        sink = DevSmsSink(self.auth_settings.dev_sms_file)
        return [sms.text for sms in reversed(sink.recent(1_000_000)) if sms.phone == phone]

    async def sms_codes(self, phone: str) -> list[str]:
        """Every six-digit code in the SMS sent to ``phone``, oldest first."""
        return [code for text in await self.sms_texts(phone) for code in _CODE.findall(text)]


def uvicorn_config(app: Any, **options: Any) -> uvicorn.Config:
    """A quiet uvicorn config (warnings only, no access lines) for a server of the stack."""
    return uvicorn.Config(app, **{"log_config": None, "log_level": "warning",
                                  "access_log": False, **options})


# --- pages ----------------------------------------------------------------------------------


class NewPage(Protocol):
    """The ``new_page`` fixture: another page in a fresh context of its own."""

    async def __call__(self, *, viewport: ViewportSize = DESKTOP, locale: str = "en",
                       client_ip: str | None = None, **context: Any) -> Page:
        """``viewport`` (``DESKTOP``, ``TABLET`` or any), ``locale`` (its Accept-Language
        too), ``client_ip`` (the address the app sees; default: a new one); ``context``:
        further keywords of ``Browser.new_context``."""
        ...


def _checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r}: a screenshot's name is letters, digits, '.', '_', '-'")
    return name


async def looked_at(page: Page, name: str) -> Path:
    """A full-page screenshot as ``.screenshots/<name>.png`` at the repository root (to look
    at, by a person or the file tool); its path."""
    path = SCREENSHOTS / f"{_checked_name(name)}.png"
    path.parent.mkdir(exist_ok=True)
    await page.screenshot(path=path, full_page=True)
    return path


@cache
def _axe_source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS.relative_to(ROOT)} is missing: run `make browser`")
    return AXE_JS.read_text(encoding="utf-8")


def _violation_lines(violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for violation in violations:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}"
                     f" <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            snippet = " ".join(str(node.get("html", "")).split())
            if len(snippet) > 100:
                snippet = snippet[:99] + "…"
            lines.append(f"    {json.dumps(node['target'], ensure_ascii=False)}  {snippet}")
    return lines


async def run_axe(page: Page) -> dict[str, Any]:
    """axe-core's result (violations only) for the page as it is now.

    axe is evaluated through the DevTools protocol, as Playwright evaluates anything: the
    page's strict CSP (no inline script) stays on and is not bypassed."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(_axe_source())
    result: dict[str, Any] = await page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})")
    return result


async def assert_accessible(page: Page, name: str) -> dict[str, Any]:
    """Run axe-core on the page as it is now; fail, listing them (rule, impact, help, the
    elements) and keeping a screenshot ``<name>.axe``, when any violation is serious or
    critical.  The full axe result (violations only) comes back, so a test can count the
    minor ones."""
    result = await run_axe(page)
    serious = [v for v in result["violations"] if v.get("impact") in SERIOUS]
    if serious:
        shot = await looked_at(page, f"{_checked_name(name)}.axe")
        raise AssertionError("\n".join([
            f"axe: {len(serious)} serious or critical violation(s) on {name!r}"
            f" ({page.url}; screenshot {shot.relative_to(ROOT)}):",
            *_violation_lines(serious)]))
    return result


def decode_qr_image(png: bytes) -> str:
    """The text of the one QR code in a PNG image."""
    image = ImageOps.expand(Image.open(io.BytesIO(png)).convert("L"), border=16, fill=255)
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    found = zxingcpp.read_barcodes(image, formats=formats, text_mode=zxingcpp.TextMode.Plain)
    if not found and max(image.size) < 400:  # tiny modules: enlarge without blurring them
        bigger = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
        found = zxingcpp.read_barcodes(bigger, formats=formats,
                                       text_mode=zxingcpp.TextMode.Plain)
    if len(found) != 1:
        raise AssertionError(f"expected one QR code in the image, found {len(found)}")
    return found[0].text


async def decode_qr(locator: Locator) -> str:
    """The text of the QR code that the element shows, read from a screenshot of it as a
    phone's camera would read the screen."""
    png = await locator.screenshot()
    return await asyncio.to_thread(decode_qr_image, png)
