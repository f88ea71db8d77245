"""Announcements from the Fund (a new help article, a change of the scheme) to everyone or to
one region, through the same outbox as every other event.

One statement writes the announcement and one outbox event per living person of the region.
Each event carries its place in line as ``sendAt`` (people with a phone first, at
``rate`` a second), so the dispatcher spreads the pushes at that rate however many workers
run, and quiet hours still hold them.  The inbox gets every item at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.inbox.center import refusal
from notifications import outbox
from notifications.models import LANGUAGES

PUBLISH: Final = (
    "WITH recipients AS ("
    " SELECT p.id AS person_id, row_number() OVER (ORDER BY EXISTS (SELECT 1 FROM notify.device d"
    " WHERE d.person_id = p.id AND d.retired_at IS NULL) DESC, p.id) AS seq"
    " FROM core.person p WHERE p.death_date IS NULL"
    " AND (CAST(:region AS text) IS NULL OR p.region_code = :region)"
    "), announced AS ("
    " INSERT INTO notify.announcement (title, body, help_slug, region_code, rate_per_second,"
    " recipients, created_by) SELECT CAST(:title AS jsonb), CAST(:body AS jsonb), :slug,"
    " :region, :rate, (SELECT count(*) FROM recipients), :by"
    " RETURNING id, title, body, help_slug, rate_per_second, created_at), "
    + outbox.cte("events", (
        "SELECT r.person_id, 'announcement.published', jsonb_build_object("
        "'announcementId', a.id, 'title', a.title, 'body', a.body, 'helpSlug', a.help_slug,"
        " 'sendAt', a.created_at + make_interval(secs => (r.seq - 1)::float8"
        " / a.rate_per_second)), 'announcement:' || a.id || ':' || r.person_id"
        " FROM recipients r CROSS JOIN announced a"))
    + " SELECT a.id, a.created_at, (SELECT count(*) FROM events) FROM announced a"
)


@dataclass(frozen=True)
class Published:
    """An announcement on its way."""

    id: int
    created_at: datetime
    recipients: int
    rate_per_second: int

    @property
    def seconds_to_send(self) -> float:
        """How long its pushes take at its rate (at most: only people with a phone count)."""
        return self.recipients / self.rate_per_second


async def publish(engine: AsyncEngine, *, title: dict[str, str], body: dict[str, str],
                  help_slug: str | None, region_code: str | None, rate_per_second: int,
                  created_by: str) -> Published:
    """Write the announcement and its events in one transaction."""
    if any(not (title.get(lang) or "").strip() or not (body.get(lang) or "").strip()
           for lang in LANGUAGES):
        raise refusal("ANNOUNCEMENT_INCOMPLETE")
    async with engine.begin() as conn:
        if region_code is not None and (await conn.execute(
                text("SELECT 1 FROM core.region WHERE code = :code"),
                {"code": region_code})).first() is None:
            raise refusal("REGION_UNKNOWN")
        row = (await conn.execute(text(PUBLISH), {
            "title": json.dumps({lang: title[lang].strip() for lang in LANGUAGES}),
            "body": json.dumps({lang: body[lang].strip() for lang in LANGUAGES}),
            "slug": help_slug, "region": region_code, "rate": rate_per_second,
            "by": created_by})).one()
    return Published(int(row[0]), row[1], int(row[2]), rate_per_second)
