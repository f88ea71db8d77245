"""Reading one-time codes the way a person's phone would: from the development SMS sink the
app writes to, once the codes handed to the gateway have all been sent."""

from __future__ import annotations

import re
import secrets

from fastapi import FastAPI

from auth.settings import AuthSettings
from auth.sms import DevSmsSink

_CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


def new_phone() -> str:
    """A Kazakhstan mobile number of this test's own."""
    return f"+7701{secrets.randbelow(10 ** 7):07d}"


async def codes_sent(app: FastAPI, settings: AuthSettings, phone: str) -> list[str]:
    """Every code sent to ``phone`` so far, oldest first."""
    await app.state.runtime.auth.login.drain()
    messages = DevSmsSink(settings.dev_sms_file).recent(1_000_000)
    found = []
    for sms in reversed(messages):
        if sms.phone == phone:
            [code] = _CODE.findall(sms.text)
            found.append(str(code))
    return found


async def last_code(app: FastAPI, settings: AuthSettings, phone: str) -> str:
    """The newest code sent to ``phone`` (there must be one)."""
    sent = await codes_sent(app, settings, phone)
    assert sent, "no SMS reached the phone"
    return sent[-1]
