"""Fixtures of the ``auth`` tests: settings with a fixed secret, the service on the suite's
database, and fakes at the edge (the people ``backend`` keeps, the SMS operator).

Tables are not emptied between tests: every test uses its own IINs, client addresses and
names (``new_iin``, ``new_ip``, ``new_name``), so throttle buckets and rows never meet.
"""

from __future__ import annotations

import base64
import itertools
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.identifiers import make_iin
from auth.login import PersonDirectory
from auth.service import AuthService
from auth.sessions import Device, Tokens
from auth.settings import AuthSettings
from auth.sms import SmsGateway
from tests.conftest import AUTH_ROOT_SECRET

ROOT_SECRET = AUTH_ROOT_SECRET  # the suite shares one database, so one secret
"""The test run's ``AUTH_SECRET_KEY`` (32 fixed bytes)."""

People = dict[str, tuple[uuid.UUID, str | None]]
Outbox = list[tuple[str, str]]
SignIn = Callable[[uuid.UUID, Device], Awaitable[Tokens]]

_iin_serials = itertools.count(1)
_ip_numbers = itertools.count(1)


class FakeDirectory:
    """People by IIN, as ``backend`` would look them up (``PersonDirectory``)."""

    def __init__(self, people: People) -> None:
        self.people = people

    async def phone_of(self, iin: str) -> tuple[uuid.UUID, str | None] | None:
        """The person's id and phone, or None."""
        return self.people.get(iin)

    async def contact_of(self, person_id: uuid.UUID) -> tuple[str, str | None] | None:
        """The person's IIN and phone, or None."""
        for iin, (known, phone) in self.people.items():
            if known == person_id:
                return iin, phone
        return None


class RecordingGateway:
    """An SMS gateway that keeps every (phone, text) it is asked to send (``SmsGateway``)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def send(self, phone: str, text: str) -> None:
        """Record the message."""
        self.outbox.append((phone, text))


@pytest.fixture
def auth_settings(tmp_path: Path) -> AuthSettings:
    """Settings with a fixed root secret; nothing is read from or written to ``.data``."""
    return AuthSettings(
        environment="test",
        secret_key=SecretStr(base64.b64encode(ROOT_SECRET).decode("ascii")),
        secret_key_file=tmp_path / "secret.key",
        dev_sms_file=tmp_path / "sms.jsonl",
        issuer="https://mhi.test",
    )


@pytest.fixture
def people() -> People:
    """The people the directory knows: IIN -> (person id, phone on record)."""
    return {}


@pytest.fixture
def outbox() -> Outbox:
    """Every SMS handed to the gateway: (phone, text)."""
    return []


@pytest.fixture
def directory(people: People) -> PersonDirectory:
    """The directory over ``people``."""
    return FakeDirectory(people)


@pytest.fixture
def gateway(outbox: Outbox) -> SmsGateway:
    """The gateway writing to ``outbox``."""
    return RecordingGateway(outbox)


@pytest.fixture
async def service(engine: AsyncEngine, auth_settings: AuthSettings, directory: PersonDirectory,
                  gateway: SmsGateway) -> AuthService:
    """The auth service on the suite's database (its key ring loaded)."""
    return await AuthService.open(engine, auth_settings, directory=directory, gateway=gateway)


@pytest.fixture
def new_iin() -> Callable[[], str]:
    """Valid IINs that no other call in this run returned."""
    def make() -> str:
        while True:
            serial = next(_iin_serials)
            birth = date(1950 + serial // 10_000, 3, 3)
            iin = make_iin(birth, "F", serial % 10_000)
            if iin is not None:
                return iin
    return make


@pytest.fixture
def new_ip() -> Callable[[], str]:
    """Client addresses that no other call in this run returned."""
    def make() -> str:
        number = next(_ip_numbers)
        return f"10.{number // 65_536 % 256}.{number // 256 % 256}.{number % 256}"
    return make


@pytest.fixture
def new_name() -> Callable[[str], str]:
    """Unique names (staff usernames, client names) with a readable prefix."""
    def make(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return make


def _code_in(text: str) -> str:
    """The 6-digit code in a sign-in SMS."""
    found = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", text)
    assert len(found) == 1, text
    return str(found[0])


@pytest.fixture
def sign_in(service: AuthService, people: People, outbox: Outbox, new_iin: Callable[[], str],
            new_ip: Callable[[], str]) -> SignIn:
    """Sign ``person_id`` in on ``device`` the citizen's way (IIN, phone, code by SMS)."""
    iins: dict[uuid.UUID, str] = {}

    async def run(person_id: uuid.UUID, device: Device) -> Tokens:
        if person_id not in iins:
            iins[person_id] = new_iin()
            people[iins[person_id]] = (person_id, "+77011234567")
        address = new_ip()
        sent = len(outbox)
        challenge = await service.login.request_code(iins[person_id], "+7 701 123 45 67",
                                                     address)
        await service.login.drain()
        assert len(outbox) == sent + 1
        return await service.login.verify(str(challenge.id), _code_in(outbox[-1][1]), device,
                                          address)
    return run
