"""What a leaf holds: a record's canonical form, its commitment, and the person's pseudonym.

A leaf's entry is RFC 8785 JSON (UTF-8, no whitespace, keys sorted)::

    {"commitment": "<base64 SHA-256(salt ‖ record)>", "id": "<record id>",
     "kind": "contribution", "logged": "2026-12-07", "person": "<pseudonym>", "v": 1}

- ``record`` is the record's own canonical JSON (:func:`record_bytes`): the columns that say
  what happened (amounts, months, days, payer or provider by BIN, service, who looked and
  why), never the person (the pseudonym binds the leaf to them) nor anything that changes
  after the record is stored.  The proof file of a receipt carries it with the salt, so that
  its holder can check that the record is the one the Fund committed to; the public log shows
  only the commitment.
- ``salt`` is 16 random bytes per leaf, kept in ``tlog.leaf``: without it nobody can test a
  guessed record (amounts and months take few values) against a commitment.
- ``person`` is ``base64url(HMAC-SHA-256(TLOG_PSEUDONYM_KEY, IIN))[:22]`` (132 bits).
- ``logged`` is the day (UTC) the record was stored: its ``created_at`` (``at`` for a look).
- ``id`` is the record's id in its table, in decimal; ``kind`` names the table (a refund is a
  ``contribution_refund`` row of ``core.contribution``, a withdrawal a ``service_withdrawal``
  of ``core.service_payment``).

Nothing here touches the database except :func:`load_records`, which reads the rows a batch
of leaves (or a proof file) needs in one statement per table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from backend.settings import TlogSettings
from backend.tlog.store import Driver

LEAF_VERSION = 1
SALT_BYTES = 16
PSEUDONYM_CHARS = 22
_MIN_KEY_BYTES = 32
_MAX_SAFE_INTEGER = 2**53 - 1
"""RFC 8785 numbers are IEEE doubles: a larger integer would not survive another parser."""

JSON = None | bool | int | str | Sequence["JSON"] | Mapping[str, "JSON"]


class MissingKey(RuntimeError):
    """Production started without ``TLOG_PSEUDONYM_KEY`` (or ``TLOG_SIGNING_KEY``)."""


def canonical_json(value: JSON) -> bytes:
    """RFC 8785 (JCS) bytes of ``value``: keys sorted, no whitespace, UTF-8.

    Only the JSON our leaves and records use: objects with ASCII keys, arrays, strings,
    booleans, null and integers within ±(2**53 - 1) (JCS serialises numbers as doubles; no
    floats here, so their formatting never matters).  Python's ``json`` escapes exactly as JCS
    does for these (``\\"``, ``\\\\``, ``\\b\\f\\n\\r\\t``, other controls as ``\\u00xx``).
    """
    _check(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), allow_nan=False).encode("utf-8")


_SCALARS = (str, bool, type(None))


def _check(value: JSON) -> None:
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is int:
        if abs(value) > _MAX_SAFE_INTEGER:  # type: ignore[arg-type]
            raise ValueError(f"integer {value} does not survive RFC 8785")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise ValueError(f"key {key!r}: only ASCII keys sort the same in UTF-16")
            if type(item) not in _SCALARS:  # a record is flat: recurse only when needed
                _check(item)
        return
    if isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            _check(item)
        return
    raise TypeError(f"{kind.__name__} has no canonical JSON here")


def pseudonym(key: bytes, iin: str) -> str:
    """The person's name in the public log: ``base64url(HMAC-SHA-256(key, IIN))[:22]``."""
    digest = hmac.new(key, iin.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:PSEUDONYM_CHARS]


def commitment(salt: bytes, record: bytes) -> str:
    """``base64(SHA-256(salt ‖ record))``: the leaf's promise about a record it does not show."""
    return base64.b64encode(hashlib.sha256(salt + record).digest()).decode("ascii")


def entry_bytes(*, kind: str, record_id: int, person: str, logged: date,
                record: bytes, salt: bytes) -> bytes:
    """A leaf's entry: the canonical JSON of ``docs/verifiable-log.md`` ("What a leaf holds").

    Written out in JCS order (keys sorted) rather than through :func:`canonical_json`: every
    value is ASCII that JSON never escapes (a kind, digits, a date, base64 and base64url), and
    this is the appender's hottest line; a test checks both agree.
    """
    return (f'{{"commitment":"{commitment(salt, record)}","id":"{int(record_id)}",'
            f'"kind":"{_KINDS[kind]}","logged":"{logged.isoformat()}",'
            f'"person":"{_pseudonym_text(person)}","v":{LEAF_VERSION}}}').encode("ascii")


_KINDS = {kind: kind for kind in ("contribution", "contribution_refund", "service_payment",
                                  "service_withdrawal", "access")}
_PSEUDONYM_ALPHABET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _pseudonym_text(person: str) -> str:
    if len(person) != PSEUDONYM_CHARS or not _PSEUDONYM_ALPHABET.issuperset(person):
        raise ValueError("not a pseudonym")
    return person


def new_salt() -> bytes:
    """16 bytes from the system's CSPRNG."""
    return secrets.token_bytes(SALT_BYTES)


# --- records --------------------------------------------------------------------------------

TABLES = {"contribution": "contribution", "contribution_refund": "contribution",
          "service_payment": "service_payment", "service_withdrawal": "service_payment",
          "access": "access_log"}
"""The table each kind of leaf comes from."""

_SQL = {
    "contribution": """
        SELECT c.id, c.refund_of, c.kind, c.period, c.amount_tiyn, c.paid_on, c.payment_code,
               c.payer_kind, pay.bin AS payer_bin, c.source, c.source_record_id,
               c.created_at AS stored_at, p.iin
        FROM core.contribution c JOIN core.person p ON p.id = c.person_id
        LEFT JOIN core.payer pay ON pay.id = c.payer_id
        WHERE c.id = ANY($1::bigint[])""",
    "service_payment": """
        SELECT s.id, s.withdrawal_of, s.service_code, s.care_date, s.amount_tiyn, s.package,
               s.paid_on, s.practitioner_ref, pr.bin AS provider_bin, s.source,
               s.source_record_id, s.created_at AS stored_at, p.iin
        FROM core.service_payment s JOIN core.person p ON p.id = s.person_id
        JOIN core.provider pr ON pr.id = s.provider_id
        WHERE s.id = ANY($1::bigint[])""",
    "access_log": """
        SELECT a.id, a.at, a.actor_kind, a.actor_id, a.actor_name, a.organization, a.purpose,
               a.reason, a.reference, a.at AS stored_at, p.iin
        FROM core.access_log a JOIN core.person p ON p.id = a.person_id
        WHERE a.id = ANY($1::bigint[])""",
}


@dataclass(frozen=True)
class Record:
    """A stored record as a leaf needs it: its canonical bytes, whose it is, when stored."""

    kind: str
    record_id: int
    record: bytes
    iin: str
    logged: date


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _instant(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def record_json(kind: str, row: Mapping[str, Any]) -> dict[str, JSON]:
    """The record a leaf of ``kind`` commits to, from its row (as :func:`load_records` reads
    it).  Versioned with the leaf (``"v"``); every value is immutable once stored."""
    common: dict[str, JSON] = {"v": LEAF_VERSION, "kind": kind, "id": str(row["id"])}
    if TABLES[kind] == "contribution":
        return {**common, "contribution_kind": str(row["kind"]),
                "month": f"{row['period']:%Y-%m}", "amount_tiyn": int(row["amount_tiyn"]),
                "paid_on": row["paid_on"].isoformat(), "payment_code": row["payment_code"],
                "payer_kind": _text(row["payer_kind"]), "payer_bin": row["payer_bin"],
                "refund_of": _text(row["refund_of"]), "source": row["source"],
                "source_record_id": row["source_record_id"]}
    if TABLES[kind] == "service_payment":
        return {**common, "service_code": row["service_code"],
                "care_date": row["care_date"].isoformat(),
                "amount_tiyn": int(row["amount_tiyn"]), "package": str(row["package"]),
                "paid_on": row["paid_on"].isoformat(), "provider_bin": row["provider_bin"],
                "practitioner_ref": row["practitioner_ref"],
                "withdrawal_of": _text(row["withdrawal_of"]), "source": row["source"],
                "source_record_id": row["source_record_id"]}
    return {**common, "at": _instant(row["at"]), "actor_kind": str(row["actor_kind"]),
            "actor_id": row["actor_id"], "actor_name": row["actor_name"],
            "organization": row["organization"], "purpose": row["purpose"],
            "reason": row["reason"], "reference": row["reference"]}


def record_bytes(kind: str, row: Mapping[str, Any]) -> bytes:
    """:func:`record_json` as canonical bytes: what the commitment hashes after the salt."""
    return canonical_json(record_json(kind, row))


async def load_records(driver: Driver,
                       wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Record]:
    """The records named by ``(kind, id)`` that still exist, one statement per table.

    The kind a row gets is the one asked for (the queue's, decided when it was stored).
    """
    by_table: dict[str, dict[int, str]] = {}
    for kind, record_id in wanted:
        by_table.setdefault(TABLES[kind], {})[record_id] = kind
    found: dict[tuple[str, int], Record] = {}
    for table, kinds in by_table.items():
        for row in await driver.fetch(_SQL[table], list(kinds)):
            kind = kinds[row["id"]]
            found[(kind, row["id"])] = Record(kind, row["id"], record_bytes(kind, row),
                                             row["iin"], _utc(row["stored_at"]).date())
    return found


# --- the pseudonym key ----------------------------------------------------------------------

PSEUDONYM_KEY_FILE = "pseudonym.key"


def pseudonym_key(settings: TlogSettings) -> bytes:
    """``TLOG_PSEUDONYM_KEY``; outside production, ``<key_dir>/pseudonym.key`` (made once)."""
    if settings.pseudonym_key is not None:
        key = base64.b64decode(settings.pseudonym_key.get_secret_value())
    elif settings.environment == "production":
        raise MissingKey("production needs TLOG_PSEUDONYM_KEY (32+ random bytes, base64)")
    else:
        key = base64.b64decode(kept_secret(settings.key_dir / PSEUDONYM_KEY_FILE, lambda: (
            base64.b64encode(secrets.token_bytes(_MIN_KEY_BYTES)).decode("ascii"))))
    if len(key) < _MIN_KEY_BYTES:
        raise MissingKey("TLOG_PSEUDONYM_KEY must hold at least 32 random bytes (base64)")
    return key


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The text kept in ``path``, made by ``make()`` and written 0600 on first use (two
    processes starting at once keep the first one's)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make() + "\n")
    return path.read_text().strip()
