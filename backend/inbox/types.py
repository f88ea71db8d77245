"""GraphQL types of notifications: inbox items, push devices and preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, time
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.care.types import CoveredServiceType
from backend.contributions.types import ContributionType
from backend.gql.context import Context
from backend.gql.enums import mirrors
from backend.gql.nodes import Node, global_id
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from notifications import payloads
from notifications.devices import PLATFORMS, DeviceRow
from notifications.inbox import Item
from notifications.models import CATEGORIES, CHANNELS
from notifications.preferences import Preferences

V = strawberry.enum_value


@strawberry.enum(name="NotificationCategory", description="What a notification is about.")
@mirrors(CATEGORIES)
class CategoryType(Enum):
    PAYMENTS = V("payments", description="Contributions received or refunded.")
    SERVICE_PAYMENTS = V("service_payments",
                         description="What the Fund paid clinics for your care (or withheld).")
    STATUS = V("status", description="Your insurance status improved or changed.")
    REMINDERS = V("reminders", description="Payments coming due.")
    ANNOUNCEMENTS = V("announcements", description="News from the Fund.")
    CRITICAL = V("critical", description="You are losing insured status, or the registry "
                                         "desk is checking that your phones receive pushes "
                                         "(you are there): always on, cannot be switched off.")


@strawberry.enum(name="NotificationChannel", description="Where a notification reaches you.")
@mirrors(CHANNELS)
class ChannelType(Enum):
    PUSH = V("push", description="A push notification on your phones.")
    INBOX = V("inbox", description="The inbox in the app.")


@strawberry.enum(name="DevicePlatform", description="The phone's system.")
@mirrors(PLATFORMS)
class PlatformType(Enum):
    ANDROID = V("android", description="Android.")
    IOS = V("ios", description="iOS.")
    WEB = V("web", description="A browser.")


@strawberry.type(name="Notification", description="An item of your inbox, in your language.")
class NotificationType(Node):
    event_id: strawberry.Private[int]
    kind: str = strawberry.field(description="What happened: contribution.received, "
                                             "contribution.refunded, service.paid, "
                                             "service.withdrawn, status.changed, "
                                             "announcement.published, desk.check, "
                                             "status.warning, payment.reminder or "
                                             "dispute.updated.")
    category: CategoryType = strawberry.field(description="What it is about.")
    title: str = strawberry.field(description="A short headline.")
    body: str = strawberry.field(description="The text.")
    created_at: datetime = strawberry.field(description="When it happened.")
    read_at: datetime | None = strawberry.field(description="When you read it (null: unread).")
    link: str = strawberry.field(description="The deep link the app opens (mhi://…).")
    contribution_ids: strawberry.Private[list[int]]
    service_ids: strawberry.Private[list[int]]

    @strawberry.field(description="Whether you have read it.")
    def read(self) -> bool:
        return self.read_at is not None

    @strawberry.field(description="The receipts it is about (empty when none).")
    async def contributions(self, info: Info[Context, None]) -> list[ContributionType]:
        found = await ContributionType.resolve_nodes(info, map(str, self.contribution_ids))
        return [node for node in found if node is not None]

    @strawberry.field(description="The care it is about (empty when none).")
    async def covered_services(self, info: Info[Context, None]) -> list[CoveredServiceType]:
        found = await CoveredServiceType.resolve_nodes(info, map(str, self.service_ids))
        return [node for node in found if node is not None]

    @classmethod
    def build(cls, item: Item, language: str) -> NotificationType:
        """The item rendered in ``language``."""
        rendered = item.rendered(language)
        payload = item.payload
        contributions = [c["id"] for c in payload.get("contributions", ())]
        services = [p["id"] for p in payload.get("payments", ())]
        if item.kind == "contribution.refunded":
            contributions = [payload["id"], payload["refundOf"]]
        if item.kind == "service.withdrawn":
            services = [payload["id"], payload["withdrawalOf"]]
        if item.kind == "dispute.updated":  # a child's service resolves to nothing here
            services = [payload["serviceId"]]
        return cls(
            id=global_id("Notification", item.event_id), event_id=item.event_id,
            kind=item.kind, category=CategoryType(item.category), title=rendered.title,
            body=rendered.body, created_at=item.created_at, read_at=item.read_at,
            link=payloads.deep_link(item.kind, payload, notification_id=item.event_id),
            contribution_ids=contributions, service_ids=services)

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[NotificationType | None]:
        """The signed-in citizen's own items among ``node_ids``."""
        citizen = info.context.require_citizen()
        keys = [int(value) if value.isdigit() else -1 for value in node_ids]
        found = {item.event_id: item for item in
                 await info.context.notifications.items(citizen.person_id, keys)}
        language = await info.context.language()
        return [cls.build(found[key], language) if key in found else None for key in keys]


@strawberry.type(name="PushDevice", description="A phone that receives your push "
                                                "notifications.")
class PushDeviceType(Node):
    platform: PlatformType = strawberry.field(description="android, ios or web.")
    app_version: str = strawberry.field(description="The app's version when it last "
                                                    "registered.")
    language: str = strawberry.field(description="The language its pushes are written in.")
    time_zone: str = strawberry.field(description="Its time zone (IANA), e.g. Asia/Almaty.")
    registered_at: datetime = strawberry.field(description="When it first registered.")
    last_seen_at: datetime = strawberry.field(description="When the app last registered it.")
    push_on: bool = strawberry.field(description="Whether pushes go to it now.")
    push_off_reason: str | None = strawberry.field(
        description="Why not, when they do not: NOT_SEEN_RECENTLY (the app was not opened "
                    "for 30 days), SIGNED_OUT, UNREGISTERED_BY_USER, MOVED (the phone was "
                    "registered by someone else), UNREGISTERED (the app was removed), "
                    "SENDER_ID_MISMATCH or INVALID_TOKEN.")

    @classmethod
    def build(cls, row: DeviceRow, now: datetime, stale_after_days: int) -> PushDeviceType:
        """The GraphQL view of a device row (never its token)."""
        reason = row.push_off_reason(now, stale_after_days)
        return cls(id=global_id("PushDevice", row.id), platform=PlatformType(row.platform),
                   app_version=row.app_version, language=row.language,
                   time_zone=row.time_zone, registered_at=row.registered_at,
                   last_seen_at=row.last_seen_at, push_on=reason is None,
                   push_off_reason=reason)


@strawberry.type(name="NotificationSwitch", description="One category on one channel.")
class SwitchType:
    category: CategoryType = strawberry.field(description="The category.")
    channel: ChannelType = strawberry.field(description="The channel.")
    enabled: bool = strawberry.field(description="Whether it is on.")
    mutable: bool = strawberry.field(description="Whether you may switch it (critical: no).")


@strawberry.type(name="QuietHours", description="When pushes wait (they are held, not "
                                                "dropped, and go out when the hours end).")
class QuietHoursType:
    starts: time = strawberry.field(description="Local start, e.g. 22:00.")
    ends: time = strawberry.field(description="Local end, e.g. 08:00 (may be the next day).")
    time_zone: str = strawberry.field(description="The time zone they are in (IANA).")


@strawberry.type(name="NotificationPreferences",
                 description="What reaches you, where, and when not.")
class PreferencesType:
    switches: list[SwitchType] = strawberry.field(
        description="Every category on every channel (on unless switched off).")
    quiet_hours: QuietHoursType | None = strawberry.field(description="Quiet hours, if set.")

    @classmethod
    def build(cls, preferences: Preferences) -> PreferencesType:
        """The GraphQL view of the preferences."""
        quiet = preferences.quiet_hours
        return cls(
            switches=[SwitchType(category=CategoryType(s.category),
                                 channel=ChannelType(s.channel), enabled=s.enabled,
                                 mutable=s.mutable) for s in preferences.switches],
            quiet_hours=None if quiet is None else QuietHoursType(
                starts=quiet.starts, ends=quiet.ends, time_zone=quiet.time_zone))


async def person_of(info: Info[Context, None]) -> uuid.UUID:
    """The signed-in citizen's person id, their language learnt first (so that a refusal
    reads in it, not in the phone's ``Accept-Language``)."""
    person_id = info.context.require_citizen().person_id
    await info.context.language()
    return person_id


async def inbox_page(info: Info[Context, None], person_id: uuid.UUID, first: int | None,
                     after: str | None, unread_only: bool) -> Connection[NotificationType]:
    """A page of the person's inbox, newest first (keyset on the event id)."""
    size = page_size(first)
    key = decode_cursor("notification", after, 1, (int,))
    before = None if key is None else int(key[0])
    items = await info.context.notifications.page(person_id, limit=size + 1, before=before,
                                                  unread_only=unread_only)
    language = await info.context.language()
    return build_connection(items, size, kind="notification", has_previous=key is not None,
                            key=lambda item: (item.event_id,),
                            nodes=[NotificationType.build(item, language)
                                   for item in items[:size]])
