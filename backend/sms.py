"""Critical notices by SMS through auth's ``SmsGateway``, the one that sends sign-in codes:
the ``SmsChannel`` and ``Contacts`` that ``notifications.sms`` needs, which only ``backend``
may make (it alone sees both ``auth`` and the people's records)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.sms import SmsDeliveryReports, SmsError, SmsGateway
from auth.sms_segments import segments
from notifications.sms import Contact, SmsOutcome, SmsVerdict

log = logging.getLogger("mhi.notify")
_CONTACTS = text("""
SELECT id, CASE WHEN death_date IS NULL THEN phone END, language FROM core.person
WHERE id = ANY(CAST(:people AS uuid[]))
""")


class GatewayChannel:
    """An ``SmsChannel`` on an ``SmsGateway``: the gateway's answers and failures as outcomes,
    each with what the text costs."""

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    async def send(self, phone: str, text: str) -> SmsOutcome:
        """Send one message; the gateway's failure as the outcome it means."""
        cost = segments(text)
        encoding, count = cost.encoding, cost.count
        try:
            message_id = await self.gateway.send(phone, text)
        except SmsError as error:
            if error.maybe_sent:
                verdict = SmsVerdict.UNKNOWN
            else:
                verdict = SmsVerdict.RETRY if error.retry else SmsVerdict.FAIL
            return SmsOutcome(verdict, error=error.code, retry_after=error.retry_after,
                              encoding=encoding, segments=count)
        except Exception as error:  # an unknown failure: the message may have gone
            return SmsOutcome(SmsVerdict.UNKNOWN, error=f"NO_ANSWER ({type(error).__name__})",
                              encoding=encoding, segments=count)
        return SmsOutcome(SmsVerdict.SENT, message_id=message_id, encoding=encoding,
                          segments=count)

    async def delivery_states(self, message_ids: Sequence[str]) -> Mapping[str, str]:
        """The operator's delivery reports, when the gateway gives them."""
        if not isinstance(self.gateway, SmsDeliveryReports):
            return {}
        return await self.gateway.delivery_states(message_ids)


async def person_contacts(conn: AsyncConnection, people: Sequence[uuid.UUID]
                          ) -> dict[uuid.UUID, Contact]:
    """The phone on record (none for someone who has died) and language of ``people``."""
    rows = await conn.execute(_CONTACTS, {"people": list(people)})
    return {row[0]: Contact(row[1], str(row[2])) for row in rows}
