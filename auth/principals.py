"""The typed principals that the API puts on every request's context."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from auth.errors import InvalidToken
from auth.tokens import Audience, Claims


@dataclass(frozen=True)
class Anonymous:
    """No credentials, or credentials that failed (``failure`` says why, for a typed error)."""

    failure: InvalidToken | None = None


@dataclass(frozen=True)
class Citizen:
    """A person acting for themself through the mobile app."""

    person_id: uuid.UUID
    token_id: str


Principal = Anonymous | Citizen


def principal_from_claims(claims: Claims) -> Principal:
    """Turn verified claims into a principal; a subject that is not a UUID is rejected."""
    if claims.audience is Audience.MOBILE:
        try:
            return Citizen(person_id=uuid.UUID(claims.subject), token_id=claims.token_id)
        except ValueError as exc:
            raise InvalidToken("The access token names no person.") from exc
    raise InvalidToken("This kind of token is not accepted here yet.")
