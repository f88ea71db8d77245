"""Keyset pages over a person's rows: ``WHERE person = ? AND (sort, id) < cursor ORDER BY sort
DESC, id DESC LIMIT n``, which an index on ``(person, sort DESC, id DESC)`` serves as a range
scan (no sort, no offset), so page 1,000 costs what page 1 costs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

M = TypeVar("M")


def keyset_query(
    model: type[M],
    *,
    owner: ColumnElement[bool],
    sort: InstrumentedAttribute[date],
    row_id: InstrumentedAttribute[int],
    limit: int,
    after: tuple[date, int] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> Select[M]:
    """Up to ``limit`` rows of ``model`` matching ``owner`` and ``where``, newest first."""
    query = select(model).where(owner, *where)
    if after is not None:
        query = query.where(tuple_(sort, row_id) < tuple_(*after))
    return query.order_by(sort.desc(), row_id.desc()).limit(limit)


def within_year(column: InstrumentedAttribute[date], year: int | None) -> list[Any]:
    """``column`` within calendar ``year`` (a range the index can use); no condition for None."""
    if year is None:
        return []
    return [column >= date(year, 1, 1), column < date(year + 1, 1, 1)]
