"""The registry desk: a worker helps a patient who is present and consents.

Everything here runs inside a consent window (``StaffWithConsent``): the patient's name and
masked IIN, their insurance status (never receipts or care), their signed-in devices, and an
onboarding code for a new phone.  Each look is written to the patient's access log, once per
consent window and purpose.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from auth import throttle
from auth.errors import Refused
from auth.identifiers import mask_iin
from auth.principals import Staff
from auth.sessions import Tokens
from auth.staff import ONBOARDING_PREFIX, Onboarding, OnboardingStage, Window
from backend.access import audit
from backend.access.types import DeviceSession, UserError
from backend.errors import NotFound
from backend.gql.context import Context
from backend.gql.enums import V, mirrors
from backend.gql.nodes import global_id, parse_global_id
from backend.i18n import pick
from backend.inbox.types import CategoryType as NotificationCategory
from backend.inbox.types import (
    ChannelType,
    PlatformType,
    PreferencesType,
    PushDeviceType,
    QuietHoursType,
)
from backend.messages import message
from backend.models.audit import ActorKind
from backend.reference.types import CategoryType
from backend.status.engine import compute_status
from backend.status.texts import STATUS_NAMES, reason_text
from backend.status.types import InsuranceStatusCode
from notifications import checks
from notifications.checks import CheckReport
from notifications.models import DELIVERY_STATES


async def look(info: Info[Context, None], person_id: uuid.UUID, purpose: str,
               window: Window) -> None:
    """Record a desk worker's look at ``person_id``: once per consent window and purpose (the
    console's pages refresh while they follow the patient's steps)."""
    context = info.context
    key = (person_id, purpose)
    if key in context.recorded_looks:
        return
    context.recorded_looks.add(key)
    actor = audit.actor_of(context.principal)
    if actor is not None:
        await audit.record(context.reads, actor, [person_id], purpose=purpose,
                           reason="consent", reference=str(window.id), once_per_reference=True)


@strawberry.type(description="A patient's insurance status as the desk sees it (no money).")
class DeskInsurance:
    status: InsuranceStatusCode = strawberry.field(description="The status today.")
    status_name: str = strawberry.field(description="The status in the reader's language.")
    reason: str = strawberry.field(description="Why, in one sentence in the reader's language "
                                               "(as the patient's app says it).")
    guaranteed_until: date | None = strawberry.field(
        description="Last day of at least conditional cover if nothing new arrives.")


@strawberry.type(description="The patient a consent window opens: only what onboarding help "
                             "needs.")
class DeskPatient:
    window: strawberry.Private[Window]
    first_name: str = strawberry.field(description="Given name (to confirm who is present).")
    last_name: str = strawberry.field(description="Family name.")
    masked_iin: str = strawberry.field(description="The IIN with all but 4 digits hidden.")

    @strawberry.field(description="Insurance status today.")
    async def insurance(self, info: Info[Context, None]) -> DeskInsurance:
        person_id = self.window.person_id
        await look(info, person_id, "insurance_status", self.window)
        language = await info.context.language()  # the reason names payers in it
        facts = await info.context.loaders.status_facts.load((person_id, language))
        result = compute_status(as_of=info.context.today, memberships=facts.memberships,
                                contributions=facts.contributions,
                                rates=await info.context.rates())
        category = result.reason.facts.get("category")
        row = None if category is None else await info.context.loaders.category.load(category)
        return DeskInsurance(status=InsuranceStatusCode(result.status.value),
                             status_name=pick(STATUS_NAMES[result.status], language),
                             reason=reason_text(result.reason, language, category_name=(
                                 None if row is None else CategoryType.build(row, language).name)),
                             guaranteed_until=result.guaranteed_until)

    @strawberry.field(description="Devices the patient is signed in on (to check a new phone "
                                  "worked).")
    async def signed_in_devices(self, info: Info[Context, None]) -> list[DeviceSession]:
        await look(info, self.window.person_id, "devices", self.window)
        sessions = await info.context.auth.sessions.list_active(str(self.window.person_id))
        return [DeviceSession.of(session, None) for session in sessions]

    @strawberry.field(description="Push categories the patient switched off, and quiet hours.")
    async def push_choices(self, info: Info[Context, None]) -> DeskPushChoices:
        await look(info, self.window.person_id, "devices", self.window)
        chosen = await info.context.notifications.preferences(self.window.person_id)
        built = PreferencesType.build(chosen)
        return DeskPushChoices(
            switched_off=[switch.category for switch in built.switches
                          if switch.channel is ChannelType.PUSH and not switch.enabled],
            quiet_hours=built.quiet_hours)

    @strawberry.field(description="Phones registered for push notifications, and whether "
                                  "pushes reach them (to check notifications were turned on).")
    async def push_devices(self, info: Info[Context, None]) -> list[PushDeviceType]:
        await look(info, self.window.person_id, "devices", self.window)
        center = info.context.notifications
        now = datetime.now().astimezone()
        return [PushDeviceType.build(row, now, center.settings.stale_after_days)
                for row in await center.devices(self.window.person_id)]


@strawberry.type(description="What the patient chose about pushes: categories switched off and "
                             "quiet hours (to explain why a push did not come).")
class DeskPushChoices:
    switched_off: list[NotificationCategory] = strawberry.field(
        description="Categories whose pushes the patient switched off (critical cannot be).")
    quiet_hours: QuietHoursType | None = strawberry.field(
        description="When pushes wait until morning, if set.")


@strawberry.type(description="Fifteen minutes of consent to help one patient.")
class PatientWindow:
    window: strawberry.Private[Window]
    id: strawberry.ID = strawberry.field(description="Pass it to the desk's fields.")
    opened_at: datetime = strawberry.field(description="When the patient's code was entered.")
    expires_at: datetime = strawberry.field(description="When the consent ends.")

    @classmethod
    def of(cls, window: Window) -> PatientWindow:
        """The GraphQL view of an ``auth`` window."""
        return cls(window=window, id=global_id("PatientWindow", window.id),
                   opened_at=window.opened_at, expires_at=window.expires_at)

    @strawberry.field(description="How far the newest onboarding of this window has gone "
                                  "(null before a code is made).")
    async def onboarding(self, info: Info[Context, None]) -> OnboardingProgress | None:
        progress = await info.context.auth.desk.onboarding(self.window.staff_id, self.window.id)
        if progress is None:
            return None
        await look(info, self.window.person_id, "devices", self.window)
        pushes = False
        if progress.signed_in_at is not None:
            center = info.context.notifications
            now = datetime.now().astimezone()
            pushes = any(
                row.push_off_reason(now, center.settings.stale_after_days) is None
                and row.last_seen_at >= progress.signed_in_at
                for row in await center.devices(self.window.person_id))
        return OnboardingProgress.of(progress, pushes, info.context.auth.desk.now())

    @strawberry.field(description="A notification check sent in this window "
                                  "(checkNotifications), as it stands now.")
    async def notification_check(self, info: Info[Context, None],
                                 id: strawberry.ID) -> NotificationCheck:
        type_name, key = parse_global_id(str(id))
        center = info.context.notifications
        report = None
        if type_name == "NotificationCheck" and key.isdigit():
            async with center.engine.connect() as conn:
                report = await checks.check_states(
                    conn, int(key), person_id=self.window.person_id,
                    stale_after_days=center.settings.stale_after_days)
        if report is None or not report.key.startswith(f"{self.window.id.hex}:"):
            raise NotFound(message("not_found"))  # a check of this window only
        await look(info, self.window.person_id, "notification_check", self.window)
        return NotificationCheck.of(report)

    @strawberry.field(description="The patient, as far as onboarding help needs.")
    async def patient(self, info: Info[Context, None]) -> DeskPatient:
        person = await info.context.loaders.person.load(self.window.person_id)
        if person is None:
            raise NotFound(message("not_found"))
        await look(info, person.id, "profile", self.window)
        return DeskPatient(window=self.window, first_name=person.first_name,
                           last_name=person.last_name, masked_iin=mask_iin(person.iin))


@strawberry.enum(description="The steps of signing a patient in on a new phone at the desk.")
@mirrors(OnboardingStage)
class OnboardingStep(Enum):
    CODE_SHOWN = V("code_shown", description="The code is on the screen; the patient has not "
                                             "scanned or typed it yet.")
    CODE_EXPIRED = V("code_expired", description="Ten minutes passed unused: make a new code.")
    SCANNED = V("scanned", description="The app took the code; a 6-digit code went by SMS to "
                                       "the phone on record.")
    SIGNED_IN = V("signed_in", description="The patient typed the SMS code: the app is signed "
                                           "in.")
    NOTIFICATIONS_ON = V("notifications_on", description="The app has also registered the "
                                                         "phone for pushes.")


@strawberry.type(description="How far a desk onboarding has gone.")
class OnboardingProgress:
    step: OnboardingStep = strawberry.field(description="The furthest step reached.")
    code_expires_at: datetime = strawberry.field(description="When the code stops working.")
    scanned_at: datetime | None = strawberry.field(description="When the app took the code.")
    signed_in_at: datetime | None = strawberry.field(description="When the app signed in.")
    device_name: str | None = strawberry.field(description="What the app called the phone.")

    @classmethod
    def of(cls, progress: Onboarding, pushes: bool, now: datetime) -> OnboardingProgress:
        """The step reached, from ``auth``'s record and whether pushes reach a new device."""
        return cls(step=OnboardingStep(progress.stage(now, pushes).value),
                   code_expires_at=progress.expires_at,
                   scanned_at=progress.scanned_at, signed_in_at=progress.signed_in_at,
                   device_name=progress.device_name)


@strawberry.enum(description="What became of a push to one phone.")
@mirrors(DELIVERY_STATES)
class DeliveryState(Enum):
    PENDING = V("pending", description="Waiting to go: now, or held (see heldUntil).")
    SENDING = V("sending", description="The call to Firebase is under way.")
    SENT = V("sent", description="Firebase accepted it for the phone; the phone shows it "
                                 "once online with notifications allowed.")
    REJECTED = V("rejected", description="The app on this phone no longer receives pushes "
                                         "(removed or reinstalled): opening it registers again.")
    DEAD = V("dead", description="Sending failed and was given up (our side or Firebase).")
    CANCELLED = V("cancelled", description="The phone was signed out or moved before it went.")
    UNKNOWN = V("unknown", description="The sender stopped during the call: it may or may not "
                                       "have arrived, and is not sent again.")


@strawberry.type(name="DeviceCheck",
                 description="One phone of the patient and the check's push to it.")
class DeviceCheckType:
    platform: PlatformType = strawberry.field(description="android, ios or web.")
    app_version: str = strawberry.field(description="The app's version when it registered.")
    last_seen_at: datetime = strawberry.field(description="When the app last registered it.")
    state: DeliveryState | None = strawberry.field(
        description="What became of the push (null: none was made; see notReached).")
    held_until: datetime | None = strawberry.field(
        description="A pending push waits until then (quiet hours, or a retry).")
    held_for: str | None = strawberry.field(description="QUIET_HOURS or RETRY, when held.")
    not_reached: str | None = strawberry.field(
        description="Why this phone gets no push: the reason it was retired (SIGNED_OUT, "
                    "UNREGISTERED, MOVED…), NOT_SEEN_RECENTLY, or REGISTERED_AFTER_CHECK "
                    "(null while the check is still to be taken).")


@strawberry.type(description="A test push to every phone of the patient, and where it stands.")
class NotificationCheck:
    id: strawberry.ID = strawberry.field(description="Ask for it again to follow it.")
    sent_at: datetime = strawberry.field(description="When the desk sent it.")
    dispatched: bool = strawberry.field(description="Whether the notification service has "
                                                    "taken it (before that, no state).")
    finished: bool = strawberry.field(description="Whether nothing more will change.")
    devices: list[DeviceCheckType] = strawberry.field(
        description="Every phone of the patient, those that get pushes first.")

    @classmethod
    def of(cls, report: CheckReport) -> NotificationCheck:
        """The GraphQL view of a ``notifications`` check report (never a token)."""
        return cls(id=global_id("NotificationCheck", report.event_id),
                   sent_at=report.created_at, dispatched=report.dispatched,
                   finished=report.finished, devices=[
                       DeviceCheckType(platform=PlatformType(d.platform),
                                       app_version=d.app_version, last_seen_at=d.last_seen_at,
                                       state=None if d.state is None else DeliveryState(d.state),
                                       held_until=d.held_until, held_for=d.held_for,
                                       not_reached=d.not_reached)
                       for d in report.devices])


@strawberry.type(description="The result of sending a notification check.")
class NotificationCheckPayload:
    check: NotificationCheck | None = strawberry.field(description="The check, on success.")


async def check_notifications(info: Info[Context, None], window: Window) -> NotificationCheck:
    """Send one test push to the window's patient (at most ``desk_checks_per_person`` an hour:
    ``RATE_LIMITED``), recorded in their access log."""
    context = info.context
    staff = context.require_staff()
    settings = context.auth.settings
    await throttle.hit(context.auth.engine, f"desk-check:person:{window.person_id}",
                       throttle.Limit(settings.desk_checks_per_person, 3600))
    await look(info, window.person_id, "notification_check", window)
    clinic = await clinic_names(context, staff)
    center = context.notifications
    async with center.engine.begin() as conn:
        event = await checks.send_check(conn, window.person_id,
                                        f"{window.id.hex}:{uuid.uuid4().hex}", clinic)
        if event is None:  # a fresh key cannot have been used
            raise RuntimeError("the check was not written")
        report = await checks.check_states(conn, event, person_id=window.person_id,
                                           stale_after_days=center.settings.stale_after_days)
    if report is None:
        raise RuntimeError("the check just written is missing")
    return NotificationCheck.of(report)


async def clinic_names(context: Context, staff: Staff) -> dict[str, str]:
    """The worker's clinic in kk, ru and en (the provider's names; the name on the account
    in every language when the provider has none)."""
    async with context.reads.connection() as db:
        rows = await db.fetch("SELECT name_kk, name_ru, name_en FROM core.provider "
                              "WHERE id = $1", staff.provider_id)
    if not rows:
        return dict.fromkeys(("kk", "ru", "en"), staff.provider_name)
    return {"kk": rows[0][0], "ru": rows[0][1], "en": rows[0][2]}


@strawberry.type(description="A consent code sent by SMS to a patient's phone on record.")
class ConsentSmsPayload:
    challenge_id: strawberry.ID | None = strawberry.field(
        description="Send it back with the code the patient reads out.")
    expires_at: datetime | None = strawberry.field(description="The code's expiry.")
    masked_phone: str | None = strawberry.field(
        description="Where it went, all but the last two digits hidden.")
    user_errors: list[UserError] = strawberry.field(description="What to fix, if anything.")


@strawberry.type(description="The result of entering a patient's consent code.")
class PatientWindowPayload:
    window: PatientWindow | None = strawberry.field(description="The window, on success.")
    user_errors: list[UserError] = strawberry.field(description="What to fix, if anything.")


@strawberry.type(description="A one-time code that starts signing the patient in on a new "
                             "phone: type it, or scan the QR made of `qrText`; the app then "
                             "asks for the code sent by SMS to the phone on record.")
class OnboardingCode:
    code: str = strawberry.field(description="12 characters in groups of 4.")
    qr_text: str = strawberry.field(description="What to put in the QR code (upper-case "
                                                "letters and digits: QR alphanumeric mode).")
    expires_at: datetime = strawberry.field(description="Ten minutes after it was made.")


@strawberry.type(description="The result of making an onboarding code.")
class OnboardingCodePayload:
    onboarding_code: OnboardingCode | None = strawberry.field(description="The code.")
    user_errors: list[UserError] = strawberry.field(description="What to fix, if anything.")


async def make_onboarding_code(info: Info[Context, None], staff: Staff,
                               window_id: str) -> OnboardingCodePayload:
    """An onboarding code for the window's patient, recorded in their access log (a patient
    with no phone on record cannot confirm one: ``NO_PHONE_ON_RECORD``)."""
    window = await info.context.consent_window(window_id)
    try:
        code = await info.context.auth.desk.onboarding_code(staff.staff_id, window.id)
    except Refused as refusal:
        if refusal.reason == "WINDOW_CLOSED":
            raise
        return OnboardingCodePayload(onboarding_code=None, user_errors=[
            UserError.of(refusal, await info.context.language())])
    await look(info, window.person_id, "onboarding_code", window)
    plain = code.code.replace("-", "")
    return OnboardingCodePayload(
        onboarding_code=OnboardingCode(code=code.code, qr_text=ONBOARDING_PREFIX + plain,
                                       expires_at=code.expires_at),
        user_errors=[])


async def record_onboarding_sign_in(info: Info[Context, None], tokens: Tokens) -> None:
    """A desk onboarding confirmed by the patient's SMS code: written to the patient's access
    log in the name of the worker who made the code (the session itself is the patient's)."""
    if tokens.window_id is None:
        return
    helper = await info.context.auth.desk.helper(tokens.window_id)
    if helper is None:
        return
    actor = audit.Actor(ActorKind.STAFF, str(helper.staff_id), helper.display_name,
                        helper.provider_name)
    await audit.record(info.context.reads, actor, [helper.person_id],
                       purpose="onboarding_sign_in", reason="consent",
                       reference=str(helper.window_id))
