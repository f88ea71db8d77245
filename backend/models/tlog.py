"""The verifiable log's storage (PostgreSQL schema ``tlog``, migration 0016).

- ``pending``: records waiting to become leaves, written by statement-level triggers on
  ``core.contribution``, ``core.service_payment`` and ``core.access_log`` in the transaction
  that stores them, and deleted in the transaction that appends them (``backend.tlog.append``).
- ``leaf``: one row per leaf, by its index in the tree: the entry's bytes (what is hashed) and
  the salt of its commitment (kept by the server, given only in the citizen's proof file).
- ``tile``: the tree's hashes as C2SP ``tlog-tiles`` of height 8, one row per tile; the
  right-edge (partial) tile of each level is rewritten as it grows.
- ``checkpoint``: every signed checkpoint, with the witnesses' cosignatures once they came.
- ``witness``: the size each witness last cosigned (the ``old`` of the next request).

``docs/verifiable-log.md`` says what a leaf holds and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base

TLOG = "tlog"
"""The schema of the log."""

LEAF_KINDS = ("contribution", "contribution_refund", "service_payment", "service_withdrawal",
              "access")
"""The kinds of record a leaf can hold (a leaf's ``kind``)."""

_KIND_CHECK = "kind IN ({})".format(", ".join(f"'{k}'" for k in LEAF_KINDS))


class Pending(Base):
    """A stored record not yet appended: the queue, in ``id`` order."""

    __tablename__ = "pending"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int] = mapped_column(BigInteger)
    """The row's id in its table (``kind`` says which table)."""

    __table_args__ = (CheckConstraint(_KIND_CHECK, name="kind_known"), {"schema": TLOG})


class Leaf(Base):
    """One leaf of the tree: its entry (RFC 8785 JSON) and its commitment's salt."""

    __tablename__ = "leaf"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int] = mapped_column(BigInteger)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    salt: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint(_KIND_CHECK, name="kind_known"),
        CheckConstraint("length(salt) = 16", name="salt_16_bytes"),
        # A record is one leaf: the proof of a receipt finds it here, and an append that
        # somehow saw a record twice fails instead of logging it twice.
        Index("ix_leaf_kind_record_id", "kind", "record_id", unique=True),
        {"schema": TLOG},
    )


class Tile(Base):
    """A tile of height 8: up to 256 hashes at tree level ``8 * level``, ``width`` of them."""

    __tablename__ = "tile"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    tile_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    width: Mapped[int] = mapped_column(SmallInteger)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("width BETWEEN 1 AND 256 AND length(hashes) = 32 * width",
                        name="width_matches"),
        {"schema": TLOG},
    )


class Checkpoint(Base):
    """A checkpoint the log signed; published once a witness cosigned it (``cosigned``)."""

    __tablename__ = "checkpoint"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed: Mapped[str] = mapped_column(Text)
    """The signed note with the log's signature only."""
    cosigned: Mapped[str | None] = mapped_column(Text)
    """The same note with the witnesses' cosignature lines: what ``/log/checkpoint`` serves."""
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_checkpoint_published", size.desc(),
              postgresql_where=text("published_at IS NOT NULL")),
        {"schema": TLOG},
    )


class Witness(Base):
    """What one witness (by its verifier key's name) last cosigned for this log."""

    __tablename__ = "witness"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = ({"schema": TLOG},)


TLOG_TABLES = ("pending", "leaf", "tile", "checkpoint", "witness")
"""Every table of the schema (what a test or the demo's ``clear`` empties with the raw rows)."""
