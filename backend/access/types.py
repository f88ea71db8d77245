"""GraphQL types of sign-in, sessions, consent windows, eligibility and the access log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from auth.errors import Refused
from auth.sessions import Device, SessionInfo, Tokens
from backend.access.audit import AccessRow
from backend.access.texts import ACTION, ACTIONS, ALONE, PURPOSES, REASONS, SENTENCE
from backend.gql.context import Context
from backend.gql.enums import mirrors
from backend.gql.nodes import global_id
from backend.gql.strings import text_field
from backend.i18n import pick
from backend.messages import auth_message
from backend.models.audit import ActorKind
from backend.status.types import InsuranceStatusCode
from backend.tlog.gql import LogProof, proof_of


@strawberry.type(description="Something in the input the person can fix.")
class UserError:
    code: str = strawberry.field(description="Stable code, e.g. WRONG_CODE, CODE_EXPIRED, "
                                             "CODE_ATTEMPTS_EXHAUSTED, IIN_INVALID, "
                                             "PHONE_INVALID, WRONG_CREDENTIALS, "
                                             "NO_PHONE_ON_RECORD.")
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str = strawberry.field(description="What went wrong, in the reader's language.")
    attempts_left: int | None = strawberry.field(
        description="For a wrong one-time code: how many tries remain.")

    @classmethod
    def of(cls, refusal: Refused, language: str) -> UserError:
        """The user error for an ``auth`` refusal."""
        return cls(code=refusal.reason, field=refusal.field,
                   message=pick(auth_message(refusal.reason), language),
                   attempts_left=refusal.attempts_left)


@strawberry.input(description="The device an app signs in on (shown in the device list).")
class DeviceInput:
    name: str | None = text_field(80, "e.g. 'Samsung Galaxy A14'.", default=None)
    platform: str | None = text_field(16, "android, ios or web.", default=None)

    def device(self) -> Device:
        """The ``auth`` view."""
        return Device(self.name, self.platform)


def device_of(value: DeviceInput | None) -> Device:
    """An input's device, or an unnamed one."""
    return value.device() if value is not None else Device()


@strawberry.type(description="Credentials for the app: send the access token as "
                             "'Authorization: Bearer …'; exchange the refresh token for new "
                             "ones before the access token expires (each works once).")
class Session:
    access_token: str = strawberry.field(description="A JWT valid about 15 minutes.")
    access_token_expires_at: datetime = strawberry.field(description="When it expires.")
    refresh_token: str = strawberry.field(description="Opaque, single use; keep it secret.")
    refresh_token_expires_at: datetime = strawberry.field(
        description="When it expires if not used.")
    token_type: str = strawberry.field(description="Always 'Bearer'.")

    @classmethod
    def of(cls, tokens: Tokens) -> Session:
        """The GraphQL view of ``auth`` tokens."""
        return cls(access_token=tokens.access_token,
                   access_token_expires_at=tokens.access_expires_at,
                   refresh_token=tokens.refresh_token,
                   refresh_token_expires_at=tokens.refresh_expires_at, token_type="Bearer")  # noqa: S106 (a token type)


@strawberry.type(description="The answer to asking for a sign-in code. It is the same whether "
                             "or not the IIN and phone match a person: a code is sent only "
                             "when they do.")
class SignInCodePayload:
    challenge_id: strawberry.ID | None = strawberry.field(
        description="Send it back with the code.")
    expires_at: datetime | None = strawberry.field(description="The code's expiry.")
    code_length: int | None = strawberry.field(description="Digits in the code (6).")
    user_errors: list[UserError] = strawberry.field(description="What to fix, if anything.")


@strawberry.type(description="The result of a sign-in or a refresh.")
class SignInPayload:
    session: Session | None = strawberry.field(description="New credentials, on success.")
    user_errors: list[UserError] = strawberry.field(description="What to fix, if anything.")


@strawberry.type(description="The result of signing out.")
class SignOutPayload:
    sessions_ended: int = strawberry.field(description="How many sessions ended.")


@strawberry.type(description="A short code the person shows a registry-desk worker so that "
                             "they may help for 15 minutes (status, devices, a new-phone code; "
                             "never receipts or care).")
class ConsentCode:
    code: str = strawberry.field(description="8 characters in two groups, e.g. 'K7M2-9QXD'.")
    expires_at: datetime = strawberry.field(description="Unused codes expire (10 minutes).")


@strawberry.type(description="A device the person is signed in on.")
class DeviceSession:
    id: strawberry.ID = strawberry.field(description="The session's id.")
    device_name: str | None = strawberry.field(description="What the app called the device.")
    platform: str | None = strawberry.field(description="android, ios or web.")
    signed_in_by: str = strawberry.field(
        description="How: 'sms' (one-time code) or 'desk onboarding'.")
    signed_in_at: datetime = strawberry.field(description="When the session began.")
    last_used_at: datetime = strawberry.field(description="When it last refreshed.")
    current: bool = strawberry.field(description="Whether this is the device asking.")

    @classmethod
    def of(cls, info: SessionInfo, current: uuid.UUID | None) -> DeviceSession:
        """The GraphQL view of an ``auth`` session."""
        return cls(id=global_id("DeviceSession", info.id), device_name=info.device_name,
                   platform=info.platform, signed_in_by=info.signed_in_by,
                   signed_in_at=info.created_at, last_used_at=info.last_used_at,
                   current=info.id == current)


@strawberry.enum(description="Who looked at a person's data.")
@mirrors(ActorKind)
class ActorKindType(Enum):
    STAFF = strawberry.enum_value("staff", description="A registry-desk worker of a clinic.")
    INTEGRATOR = strawberry.enum_value(
        "integrator", description="An integrated system (a clinic's or the Fund's).")
    ADMIN = strawberry.enum_value("admin", description="An administrator of the service.")
    GUARDIAN = strawberry.enum_value(
        "guardian", description="Your parent or legal guardian, while you are under 18.")


@strawberry.type(description="One look at the person's data by someone else.")
class AccessEvent:
    record_id: strawberry.Private[int]
    at: datetime = strawberry.field(description="When.")
    actor_kind: ActorKindType = strawberry.field(description="Who, by kind.")
    actor_name: str = strawberry.field(description="The worker's, system's or parent's name.")
    organization: str = strawberry.field(description="The clinic or organization (empty for "
                                                     "a parent).")
    purpose: str = strawberry.field(description="What was looked at (a stable key: profile, "
                                                "insurance_status, devices, onboarding_code, "
                                                "child_profile, contributions, "
                                                "covered_services, "
                                                "onboarding_sign_in, notification_check, "
                                                "consent_sms, eligibility, service_reports: "
                                                "reports about care not received, "
                                                "service_report: a parent reported one).")
    reason: str = strawberry.field(description="On what ground: consent, desk (a consent "
                                               "code asked for at the registry desk), "
                                               "guardianship (a parent or guardian of a "
                                               "minor) or scope.")
    text: str = strawberry.field(description="The look in one sentence, in the reader's "
                                             "language.")

    @strawberry.field(description="This look in the Fund's public log, with the proof (null "
                                  "until it is in a checkpoint the witnesses cosigned, "
                                  "usually within a minute): a look removed from this list "
                                  "stays in the log.")
    async def proof(self, info: Info[Context, None]) -> LogProof | None:
        return await proof_of(info, "access", self.record_id)

    @classmethod
    def of(cls, row: AccessRow, language: str) -> AccessEvent:
        """The event in ``language``."""
        template = pick(ACTION if row.purpose in ACTIONS else SENTENCE, language)
        if not row.organization:
            template = template.replace(ALONE, "")
        sentence = template.format(
            actor=row.actor_name, organization=row.organization,
            purpose=pick(PURPOSES.get(row.purpose, PURPOSES["profile"]), language),
            reason=pick(REASONS.get(row.reason, REASONS["scope"]), language))
        return cls(record_id=row.id, at=row.at, actor_kind=ActorKindType(row.actor_kind),
                   actor_name=row.actor_name, organization=row.organization,
                   purpose=row.purpose, reason=row.reason, text=sentence)


@strawberry.type(description="An integrator's answer for one IIN.")
class Eligibility:
    iin: str = strawberry.field(description="The IIN as asked (spaces removed).")
    valid: bool = strawberry.field(description="Whether it is a well-formed IIN.")
    found: bool = strawberry.field(description="Whether the Fund knows this person.")
    status: InsuranceStatusCode | None = strawberry.field(
        description="The status today (absent when the IIN is invalid or unknown).")
    guaranteed_until: date | None = strawberry.field(
        description="Last day of at least conditional cover if nothing new arrives.")
