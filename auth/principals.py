"""The typed principals that the API puts on every request's context.

The audience of a token decides the kind of principal: ``mobile`` is a citizen, ``desk`` a
registry-desk worker of one clinic, ``integrator`` an OAuth client with scopes.  A token can
never be read as another kind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from auth.errors import InvalidToken
from auth.tokens import Audience, Claims


class Scope(StrEnum):
    """What an integrator's contract allows."""

    ELIGIBILITY_READ = "eligibility:read"
    CONTRIBUTIONS_WRITE = "contributions:write"
    SERVICES_WRITE = "services:write"
    STATS_READ = "stats:read"
    ANNOUNCEMENTS_WRITE = "announcements:write"
    GUARDIANSHIP_WRITE = "guardianship:write"
    DISPUTES_READ = "disputes:read"
    DISPUTES_WRITE = "disputes:write"


@dataclass(frozen=True)
class Anonymous:
    """No credentials, or credentials that failed (``failure`` says why, for a typed error)."""

    failure: InvalidToken | None = None


@dataclass(frozen=True)
class Citizen:
    """A person acting for themself through the mobile app (``session_id``: the device)."""

    person_id: uuid.UUID
    token_id: str
    session_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Staff:
    """A registry-desk worker, acting for the clinic ``provider_id``."""

    staff_id: uuid.UUID
    provider_id: uuid.UUID
    token_id: str
    session_id: uuid.UUID | None = None
    name: str = ""
    provider_name: str = ""


@dataclass(frozen=True)
class Integrator:
    """An OAuth client (a clinic system, the Fund) with the scopes of this token."""

    client_id: str
    scopes: frozenset[Scope]
    token_id: str
    requests_per_minute: int = 600
    name: str = ""
    organization: str = ""


Principal = Anonymous | Citizen | Staff | Integrator


def _uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidToken("The access token is not valid.") from exc


def _session(claims: Claims) -> uuid.UUID | None:
    sid = claims.extra.get("sid")
    return None if sid is None else _uuid(sid)


def principal_from_claims(claims: Claims) -> Principal:
    """Turn verified claims into a principal; malformed subjects or claims are rejected."""
    if claims.audience is Audience.MOBILE:
        return Citizen(_uuid(claims.subject), claims.token_id, _session(claims))
    if claims.audience is Audience.DESK:
        return Staff(_uuid(claims.subject), _uuid(claims.extra.get("org")), claims.token_id,
                     _session(claims), str(claims.extra.get("name", "")),
                     str(claims.extra.get("org_name", "")))
    scopes = str(claims.extra.get("scope", "")).split()
    known = {scope.value for scope in Scope}
    try:
        rpm = int(str(claims.extra.get("rpm", "600")))
    except ValueError as exc:
        raise InvalidToken("The access token is not valid.") from exc
    return Integrator(claims.subject, frozenset(Scope(s) for s in scopes if s in known),
                      claims.token_id, rpm, str(claims.extra.get("name", "")),
                      str(claims.extra.get("org_name", "")))
