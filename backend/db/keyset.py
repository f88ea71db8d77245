"""Keyset pages over a person's rows: ``WHERE person_id = $1 AND (date, id) < ($n, $m) ORDER
BY date DESC, id DESC LIMIT k``, which an index on ``(person_id, date DESC, id DESC)`` serves
as a range scan (no sort, no offset), so page 1,000 costs what page 1 costs.

The SQL is assembled from fixed fragments: only the filters in use appear, so each shape is a
plain range condition the planner can put in the index scan (a ``$n IS NULL OR ...`` filter
would not be), and asyncpg caches one prepared statement per shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class DatedPage:
    """A keyset page query under construction; ``sql()`` and ``args`` are what to run."""

    table: str
    columns: str
    date_column: str
    person_id: object
    alias: str = ""
    conditions: list[str] = field(default_factory=list)
    args: list[object] = field(default_factory=list)

    def __post_init__(self) -> None:
        """``alias`` qualifies the key columns when ``table`` joins others (``"c."``)."""
        self.conditions.append(self._param(f"{self.alias}person_id = {{}}", self.person_id))

    def _param(self, template: str, *values: object) -> str:
        names = []
        for value in values:
            self.args.append(value)
            names.append(f"${len(self.args)}")
        return template.format(*names)

    def where(self, template: str, *values: object) -> DatedPage:
        """Add a condition; ``{}`` in ``template`` become the values' parameters."""
        self.conditions.append(self._param(template, *values))
        return self

    def within_year(self, year: int | None) -> DatedPage:
        """Only rows whose date falls in ``year`` (no condition for None)."""
        if year is not None:
            self.where(f"{self.date_column} >= {{}} AND {self.date_column} < {{}}",
                       date(year, 1, 1), date(year + 1, 1, 1))
        return self

    def after(self, key: tuple[date, int] | None) -> DatedPage:
        """Only rows after the cursor's ``(date, id)`` in the page order."""
        if key is not None:
            self.where(f"({self.date_column}, {self.alias}id) < ({{}}, {{}})", *key)
        return self

    def sql(self, limit: int) -> str:
        """The statement, newest first, at most ``limit`` rows."""
        return (f"SELECT {self.columns} FROM {self.table} WHERE {' AND '.join(self.conditions)}"
                f" ORDER BY {self.date_column} DESC, {self.alias}id DESC LIMIT {int(limit)}")
