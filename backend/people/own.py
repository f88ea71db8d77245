"""The signed-in citizen's own row: their person, with what their screens show beside it.

Nearly every screen of the app starts at ``me``, and the home screen shows the stored status
and the inbox's unread count next to the profile.  Read one by one, that is three statements,
each a round trip costing the API about as much CPU as the reading itself; read with the
person, it is one statement, each part by its own key (the person's, the stored status's,
the partial index of unread notifications).  ``Query.me`` reads it and hands the parts to
the request's loaders (``Loaders.know_own``) and to the ``Citizen`` it returns, so the
fields that need them do not read them again; what is not asked for costs the database
two index probes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.db.reads import Fetcher, Record
from backend.people.repository import PersonRow
from backend.status.repository import stored_select
from notifications.inbox import UNREAD_OF

_OWN_LANGUAGE = ("CASE p.language WHEN 'ru' THEN y.name_ru WHEN 'en' THEN y.name_en"
                 " ELSE y.name_kk END")

# Constant fragments of this code base; the person is the statement's parameter.
OWN = (
    "SELECT p.id, p.iin, p.last_name, p.first_name, p.patronymic, p.region_code, p.language,"  # noqa: S608
    " s.status, s.reason_code, s.as_of, s.stable_until, s.detail, s.payer,"
    f" ({UNREAD_OF.format(person='p.id')}) AS unread"
    f" FROM core.person p LEFT JOIN LATERAL ({stored_select('p.id', _OWN_LANGUAGE)}) s"
    " ON true WHERE p.id = $1"
)
"""The person, their stored status (its payer named in the person's own language, which is
the language a citizen reads in) and their unread count."""


@dataclass(frozen=True, slots=True)
class OwnRow:
    """One citizen's person row and what was read beside it."""

    person: PersonRow
    stored: Record | None
    """Their stored status, as a row of ``backend.status.repository.STORED`` in the person's
    language (fresh or not: ``backend.status.service.fresh_status`` decides), or None when
    none is stored."""
    unread: int
    """Unread items in their inbox."""


async def own_row(db: Fetcher, person_id: uuid.UUID) -> OwnRow | None:
    """The citizen ``person_id``'s own row, or None when there is no such person."""
    rows = await db.fetch(OWN, person_id)
    if not rows:
        return None
    row = rows[0]
    person = PersonRow(row["id"], row["iin"], row["last_name"], row["first_name"],
                       row["patronymic"], row["region_code"], row["language"])
    return OwnRow(person, row if row["status"] is not None else None, int(row["unread"]))
