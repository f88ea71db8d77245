"""Mutations of notifications: push devices, preferences, quiet hours, reading the inbox."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

import strawberry
from strawberry.types import Info

from auth.principals import Scope
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.nodes import ID_LENGTH, global_id, parse_global_id
from backend.gql.permissions import CitizenOnly, IntegratorScope, guarded
from backend.gql.strings import text_argument, text_field
from backend.inbox.announcements import publish
from backend.inbox.center import refusal
from backend.inbox.types import (
    CategoryType,
    ChannelType,
    PlatformType,
    PreferencesType,
    PushDeviceType,
    person_of,
)
from backend.messages import message
from notifications.devices import Registration
from notifications.preferences import Quiet

Ctx = Info[Context, None]
MAX_IDS = 100
MAX_RATE = 10_000
TIME_ZONE_LENGTH = 64
TITLE_LENGTH = 60
BODY_LENGTH = 240


@strawberry.input(description="What the app says about the phone (send at every start and "
                               "whenever Firebase gives the app a new token).")
class PushDeviceInput:
    token: str = text_field(4096, "The FCM registration token (or the Firebase installation "
                                  "id, with tokenKind FID).")
    platform: PlatformType = strawberry.field(description="android, ios or web.")
    app_version: str = text_field(32, "The app's version, e.g. 1.4.2.")
    language: str = text_field(8, "The language pushes should be written in: kk, ru or en.")
    time_zone: str = text_field(TIME_ZONE_LENGTH, "The phone's time zone (IANA).",
                                default="Asia/Almaty")
    token_kind: str = text_field(16, "token (FCM registration token) or fid.",
                                 default="token")


@strawberry.input(description="Quiet hours: local times in a time zone.")
class QuietHoursInput:
    starts: time = strawberry.field(description="Start, e.g. 22:00:00.")
    ends: time = strawberry.field(description="End, e.g. 08:00:00 (may be the next day).")
    time_zone: str = text_field(TIME_ZONE_LENGTH, "IANA time zone.", default="Asia/Almaty")


@strawberry.type(description="The inbox after marking.")
class InboxPayload:
    marked: int = strawberry.field(description="How many items were marked read.")
    unread_count: int = strawberry.field(description="Unread items left.")


AnId = Annotated[strawberry.ID, text_argument(ID_LENGTH, "A global id.")]


def _event_ids(ids: list[strawberry.ID]) -> list[int]:
    if len(ids) > MAX_IDS:
        raise BadUserInput(message("range", name="ids", low=1, high=MAX_IDS))
    keys: list[int] = []
    for value in ids:
        type_name, key = parse_global_id(value)
        if type_name != "Notification" or not key.isdigit():
            raise BadUserInput(message("not_found"))
        keys.append(int(key))
    return keys


@strawberry.type
class NotificationMutations:
    """Push devices, preferences and the inbox (the signed-in citizen's own)."""

    @strawberry.mutation(description="Register this phone for push notifications (or refresh "
                                     "it: call at every app start). A token registered by "
                                     "someone else before moves to you.",
                         extensions=guarded(CitizenOnly()))
    async def register_push_device(self, info: Ctx, device: PushDeviceInput) -> PushDeviceType:
        citizen = info.context.require_citizen()
        await person_of(info)
        center = info.context.notifications
        row = await center.register(citizen.person_id, Registration(
            token=device.token, platform=device.platform.name.lower(),
            app_version=device.app_version, language=device.language,
            time_zone=device.time_zone, token_kind=device.token_kind),
            None if citizen.session_id is None else str(citizen.session_id))
        return PushDeviceType.build(row, row.last_seen_at, center.settings.stale_after_days)

    @strawberry.mutation(description="Stop push notifications to one of your phones.",
                         extensions=guarded(CitizenOnly()))
    async def unregister_push_device(self, info: Ctx, id: AnId) -> bool:
        person = await person_of(info)
        type_name, key = parse_global_id(id)
        if type_name != "PushDevice" or not key.isdigit():
            raise refusal("DEVICE_NOT_FOUND")
        await info.context.notifications.unregister(person, int(key))
        return True

    @strawberry.mutation(description="Switch a category on or off on a channel. Critical "
                                     "warnings cannot be switched off.",
                         extensions=guarded(CitizenOnly()))
    async def set_notification_preference(
        self, info: Ctx, category: CategoryType, channel: ChannelType, enabled: bool
    ) -> PreferencesType:
        return PreferencesType.build(await info.context.notifications.set_switch(
            await person_of(info), category.name.lower(), channel.name.lower(), enabled))

    @strawberry.mutation(description="Set quiet hours (pushes wait until they end), or clear "
                                     "them with null.", extensions=guarded(CitizenOnly()))
    async def set_quiet_hours(self, info: Ctx, quiet_hours: QuietHoursInput | None = None
                              ) -> PreferencesType:
        # The default: a nullable argument may be left out (or given a variable with no
        # value); without it, the resolver's TypeError was an INTERNAL (found by make fuzz).
        quiet = None if quiet_hours is None else Quiet(
            quiet_hours.starts.replace(microsecond=0), quiet_hours.ends.replace(microsecond=0),
            quiet_hours.time_zone)
        return PreferencesType.build(await info.context.notifications.set_quiet_hours(
            await person_of(info), quiet))

    @strawberry.mutation(description="Mark inbox items read.", extensions=guarded(CitizenOnly()))
    async def mark_notifications_read(
        self, info: Ctx,
        ids: Annotated[list[strawberry.ID], text_argument(ID_LENGTH, "Global ids of inbox "
                                                                     "items.")],
    ) -> InboxPayload:
        center = info.context.notifications
        person = await person_of(info)
        marked = await center.mark_read(person, _event_ids(ids))
        return InboxPayload(marked=len(marked), unread_count=await center.unread(person))

    @strawberry.mutation(description="Mark every inbox item read (only those up to `upTo`, the "
                                     "newest you have seen, when given).",
                         extensions=guarded(CitizenOnly()))
    async def mark_all_notifications_read(
        self, info: Ctx,
        up_to: Annotated[strawberry.ID | None, text_argument(ID_LENGTH, "A global id.")] = None,
    ) -> InboxPayload:
        center = info.context.notifications
        person = await person_of(info)
        last = None if up_to is None else _event_ids([up_to])[0]
        marked = await center.mark_all_read(person, last)
        return InboxPayload(marked=marked, unread_count=await center.unread(person))


@strawberry.input(description="One text in the three languages of the app.")
class TrilingualInput:
    kk: str = strawberry.field(description="Kazakh.")
    ru: str = strawberry.field(description="Russian.")
    en: str = strawberry.field(description="English.")
    # Their length is the one of the field holding them (a title's, a body's).


@strawberry.input(description="News from the Fund for everyone, or for one region.")
class AnnouncementInput:
    title: TrilingualInput = text_field(TITLE_LENGTH, "A short headline, in each language.")
    body: TrilingualInput = text_field(BODY_LENGTH, "The text, in each language.")
    help_slug: str | None = text_field(100, "The help article it is about.", default=None)
    region_code: str | None = text_field(16, "Only people of this region (KZ-..).",
                                         default=None)
    rate_per_second: int | None = strawberry.field(
        default=None, description=f"Pushes a second (1 to {MAX_RATE}; default: the service's).")


@strawberry.type(description="An announcement on its way.")
class Announcement:
    id: strawberry.ID = strawberry.field(description="Its id.")
    recipients: int = strawberry.field(description="How many people get it in their inbox.")
    published_at: datetime = strawberry.field(description="When it was published.")
    rate_per_second: int = strawberry.field(description="Pushes a second.")


@strawberry.type
class AnnouncementMutations:
    """The Fund's news to citizens (integrators with announcements:write)."""

    @strawberry.mutation(description="Integrators (scope announcements:write): publish news "
                                     "to everyone or one region. Each person reads it in "
                                     "their language in the inbox at once; pushes go out at "
                                     "a steady rate, after quiet hours.",
                         extensions=guarded(IntegratorScope(Scope.ANNOUNCEMENTS_WRITE)))
    async def publish_announcement(self, info: Ctx, announcement: AnnouncementInput
                                   ) -> Announcement:
        integrator = await info.context.require_scope(Scope.ANNOUNCEMENTS_WRITE)
        rate = announcement.rate_per_second
        if rate is not None and not 1 <= rate <= MAX_RATE:
            raise BadUserInput(message("range", name="ratePerSecond", low=1, high=MAX_RATE))
        slug = announcement.help_slug
        if slug is not None and info.context.help.get(slug, "en") is None:
            raise BadUserInput(message("article_not_found"))
        center = info.context.notifications
        published = await publish(
            center.engine, title=_texts(announcement.title), body=_texts(announcement.body),
            help_slug=slug, region_code=announcement.region_code,
            rate_per_second=rate or center.settings.broadcast_rate_per_second,
            created_by=integrator.client_id)
        return Announcement(id=global_id("Announcement", published.id),
                            recipients=published.recipients,
                            published_at=published.created_at,
                            rate_per_second=published.rate_per_second)


def _texts(value: TrilingualInput) -> dict[str, str]:
    return {"kk": value.kk, "ru": value.ru, "en": value.en}
