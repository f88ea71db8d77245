"""Mutations of identity and access: sign-in by code, refresh, sign-out, consent, the desk.

What a person can fix (a wrong code, a bad phone number) comes back in ``userErrors``;
throttling is a ``RATE_LIMITED`` error with ``extensions.retryAfter``; an ended session is
``UNAUTHENTICATED``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated

import strawberry
from strawberry.types import Info

from auth.errors import Refused
from auth.principals import Citizen, Staff
from auth.staff import Window
from auth.tokens import Audience
from backend.access import audit
from backend.access.desk import (
    ConsentSmsPayload,
    NotificationCheckPayload,
    OnboardingCodePayload,
    PatientWindow,
    PatientWindowPayload,
    check_notifications,
    make_onboarding_code,
    record_onboarding_sign_in,
)
from backend.access.types import (
    ConsentCode,
    DeviceInput,
    Session,
    SignInCodePayload,
    SignInPayload,
    SignOutPayload,
    UserError,
    device_of,
)
from backend.gql.context import Context
from backend.gql.nodes import ID_LENGTH, global_id
from backend.gql.permissions import (
    CitizenOnly,
    Public,
    SignedIn,
    StaffOnly,
    StaffWithConsent,
    guarded,
)
from backend.gql.strings import text_argument

Ctx = Info[Context, None]
Iin = Annotated[str, text_argument(32, "The person's IIN (12 digits).")]
Phone = Annotated[str, text_argument(32, "The phone on record, e.g. +77011234567.")]
Code = Annotated[str, text_argument(32, "The code as it was given.")]
Secret = Annotated[str, text_argument(512, "As it was given.")]
Username = Annotated[str, text_argument(64, "The name the administrator gave.")]
AnId = Annotated[strawberry.ID, text_argument(ID_LENGTH, "The id as it was given.")]


async def _failed(info: Ctx, refusal: Refused) -> list[UserError]:
    return [UserError.of(refusal, await info.context.language())]


async def _window_opened(info: Ctx, opening: Awaitable[Window]) -> PatientWindowPayload:
    """The payload of a consent window being opened (by a code from the app or by SMS)."""
    try:
        window = await opening
    except Refused as refusal:
        return PatientWindowPayload(window=None, user_errors=await _failed(info, refusal))
    info.context.remember_window(global_id("PatientWindow", window.id), window)
    return PatientWindowPayload(window=PatientWindow.of(window), user_errors=[])


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Step 1 of signing in: send a 6-digit code to the phone "
                                     "on record for this IIN, if the phone matches.",
                         extensions=guarded(Public()))
    async def request_sign_in_code(self, info: Ctx, iin: Iin, phone: Phone
                                   ) -> SignInCodePayload:
        try:
            challenge = await info.context.auth.login.request_code(
                iin, phone, info.context.client_address)
        except Refused as refusal:
            return SignInCodePayload(challenge_id=None, expires_at=None, code_length=None,
                                     user_errors=await _failed(info, refusal))
        return SignInCodePayload(challenge_id=strawberry.ID(str(challenge.id)),
                                 expires_at=challenge.expires_at,
                                 code_length=challenge.code_length, user_errors=[])

    @strawberry.mutation(description="Step 2: the code from the SMS gives a session for this "
                                     "device (5 tries, 5 minutes), after requestSignInCode or "
                                     "redeemOnboardingCode.",
                         extensions=guarded(Public()))
    async def sign_in(self, info: Ctx, challenge_id: AnId, code: Code,
                      device: DeviceInput | None = None) -> SignInPayload:
        try:
            tokens = await info.context.auth.login.verify(
                str(challenge_id), code, device_of(device), info.context.client_address)
        except Refused as refusal:
            return SignInPayload(session=None, user_errors=await _failed(info, refusal))
        if tokens.window_id is not None:
            await record_onboarding_sign_in(info, tokens)
        return SignInPayload(session=Session.of(tokens), user_errors=[])

    @strawberry.mutation(description="Step 1 of signing in on a new phone with a code made at "
                                     "the registry desk (typed, or the scanned QR text): a "
                                     "6-digit code goes by SMS to the phone on record; step 2 "
                                     "is signIn with the challengeId returned here.",
                         extensions=guarded(Public()))
    async def redeem_onboarding_code(self, info: Ctx, code: Code) -> SignInCodePayload:
        try:
            challenge = await info.context.auth.desk.redeem_onboarding(
                code, info.context.client_address)
        except Refused as refusal:
            return SignInCodePayload(challenge_id=None, expires_at=None, code_length=None,
                                     user_errors=await _failed(info, refusal))
        return SignInCodePayload(challenge_id=strawberry.ID(str(challenge.id)),
                                 expires_at=challenge.expires_at,
                                 code_length=challenge.code_length, user_errors=[])

    @strawberry.mutation(description="Exchange a refresh token for new credentials. Each refresh "
                                     "token works once; presenting a used one ends the session "
                                     "on every copy (UNAUTHENTICATED).",
                         extensions=guarded(Public()))
    async def refresh_session(self, info: Ctx, refresh_token: Secret) -> SignInPayload:
        tokens = await info.context.auth.sessions.refresh(refresh_token)
        return SignInPayload(session=Session.of(tokens), user_errors=[])

    @strawberry.mutation(description="Sign out on this device (its refresh token stops working; "
                                     "the access token expires within 15 minutes).",
                         extensions=guarded(SignedIn()))
    async def sign_out(self, info: Ctx) -> SignOutPayload:
        principal = info.context.principal
        ended = 0
        if isinstance(principal, Citizen | Staff) and principal.session_id is not None:
            subject = str(principal.person_id if isinstance(principal, Citizen)
                          else principal.staff_id)
            ended = int(await info.context.auth.sessions.end(principal.session_id, subject))
        if isinstance(principal, Citizen) and principal.session_id is not None:
            # A signed-out phone must not keep showing the person's money in pushes.
            await info.context.notifications.retire_sessions([str(principal.session_id)])
        return SignOutPayload(sessions_ended=ended)

    @strawberry.mutation(description="Sign out on every device.",
                         extensions=guarded(CitizenOnly()))
    async def sign_out_everywhere(self, info: Ctx) -> SignOutPayload:
        citizen = info.context.require_citizen()
        ended = await info.context.auth.sessions.end_all(str(citizen.person_id), Audience.MOBILE)
        await info.context.notifications.retire_person(citizen.person_id)
        return SignOutPayload(sessions_ended=ended)

    @strawberry.mutation(description="A consent code to show a registry-desk worker, so they may "
                                     "help you for 15 minutes (status, devices, a new-phone "
                                     "code; never receipts or care).",
                         extensions=guarded(CitizenOnly()))
    async def create_consent_code(self, info: Ctx) -> ConsentCode:
        citizen = info.context.require_citizen()
        code = await info.context.auth.desk.consent_code(citizen.person_id)
        return ConsentCode(code=code.code, expires_at=code.expires_at)

    @strawberry.mutation(description="Registry desk: sign in with the name and password the "
                                     "administrator gave.", extensions=guarded(Public()))
    async def staff_sign_in(self, info: Ctx, username: Username, password: Secret,
                            device: DeviceInput | None = None) -> SignInPayload:
        try:
            tokens = await info.context.auth.desk.sign_in(
                username, password, device_of(device), info.context.client_address)
        except Refused as refusal:
            return SignInPayload(session=None, user_errors=await _failed(info, refusal))
        return SignInPayload(session=Session.of(tokens), user_errors=[])

    @strawberry.mutation(description="Registry desk: enter the patient's consent code to help "
                                     "them for 15 minutes.", extensions=guarded(StaffOnly()))
    async def open_patient_window(self, info: Ctx, consent_code: Code) -> PatientWindowPayload:
        staff = info.context.require_staff()
        return await _window_opened(info, info.context.auth.desk.open_window(
            staff.staff_id, staff.provider_id, consent_code))

    @strawberry.mutation(description="Registry desk, for a patient without the app: send a "
                                     "6-digit consent code by SMS to the phone on record for "
                                     "this IIN; the patient reads it out "
                                     "(openPatientWindowBySms).", extensions=guarded(StaffOnly()))
    async def send_consent_sms(self, info: Ctx, iin: Iin) -> ConsentSmsPayload:
        staff = info.context.require_staff()
        try:
            sent = await info.context.auth.desk.send_consent_sms(
                staff.staff_id, staff.provider_name, iin)
        except Refused as refusal:
            return ConsentSmsPayload(challenge_id=None, expires_at=None, masked_phone=None,
                                     user_errors=await _failed(info, refusal))
        actor = audit.actor_of(staff)
        if actor is not None:  # the patient reads in their log that the desk texted them
            await audit.record(info.context.reads, actor, [sent.person_id],
                               purpose="consent_sms", reason="desk", reference=str(sent.id))
        return ConsentSmsPayload(challenge_id=strawberry.ID(str(sent.id)),
                                 expires_at=sent.expires_at, masked_phone=sent.masked_phone,
                                 user_errors=[])

    @strawberry.mutation(description="Registry desk: the code the patient read out from the "
                                     "SMS opens 15 minutes of help (5 tries, 5 minutes).",
                         extensions=guarded(StaffOnly()))
    async def open_patient_window_by_sms(self, info: Ctx, challenge_id: AnId,
                                         code: Code) -> PatientWindowPayload:
        staff = info.context.require_staff()
        try:
            challenge = uuid.UUID(str(challenge_id))
        except ValueError:
            challenge = uuid.UUID(int=0)  # matches nothing: answered as a wrong code
        return await _window_opened(info, info.context.auth.desk.open_window_by_sms(
            staff.staff_id, staff.provider_id, challenge, code))

    @strawberry.mutation(description="Registry desk: send one test push to every phone of the "
                                     "patient through the real path, to follow with "
                                     "PatientWindow.notificationCheck (3 per patient per "
                                     "hour: RATE_LIMITED beyond).",
                         extensions=guarded(StaffWithConsent()))
    async def check_notifications(self, info: Ctx, window_id: AnId) -> NotificationCheckPayload:
        window = await info.context.consent_window(str(window_id))
        return NotificationCheckPayload(check=await check_notifications(info, window))

    @strawberry.mutation(description="Registry desk: a one-time code (10 minutes) that starts "
                                     "signing the patient in on a new phone; the patient "
                                     "finishes with an SMS code sent to the phone on record.",
                         extensions=guarded(StaffWithConsent()))
    async def create_onboarding_code(self, info: Ctx,
                                     window_id: AnId) -> OnboardingCodePayload:
        return await make_onboarding_code(info, info.context.require_staff(), str(window_id))
