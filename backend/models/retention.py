"""What retention (``backend.ops.retention``) has pruned: one row per pruned table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class RetentionHorizon(Base):
    """The newest cutoff a retention batch used on ``table_name``: any row older than
    ``before`` may have been pruned (by its table's clock: ``at`` for the access log).

    Written in the transaction of each batch that deleted something, so the horizon is never
    behind what is gone.  The verifiable log's monitor reads it: an access-log entry older
    than the horizon that is missing was pruned, not tampered with.
    """

    __tablename__ = "retention_horizon"

    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pruned: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """Rows pruned from the table so far, all runs together."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
