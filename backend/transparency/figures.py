"""The public figures: what the public GraphQL fields, the open-data files and the page show.

Everything here reads the rollups (schema ``stats``) and small reference tables (regions,
providers' names and zones), never the raw rows, and applies the privacy rules
(``backend.transparency.privacy``) before anything leaves: a suppressed figure has neither
count nor amount.  The GraphQL types and the open-data files format what these functions
return, so both publish the same numbers.

**Months are the unit of protection.**  All that is published about one month of one measure
(money in: the total, by region, kind and payer kind; money out: the total, by region, package,
category and provider) is one *family*, protected together.  A figure over a period is the sum
of its months' figures, published only when every one of those is: so a period adds nothing
to what its months publish, and no pair of periods can be subtracted to reveal a suppressed
month.  Across months, the running balance gives away each measure's all-time total, so the
months whose totals are suppressed are never exactly one, nor sum to a small count
(``privacy.months_to_hide``).

Months are protected once, when they change, by the worker (``backend.transparency.release``)
and read here as released cells; until a month is released for the reader's day, it is
protected here from the rollups, with the same function.  Either way a month read is kept for
``ttl`` seconds; the rollups trail the data by the fold's lag, the releases by the release's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from backend.care.repository import ProviderRow
from backend.db.reads import Fetcher, Record
from backend.models.enums import ContributionKind, Package, ServiceCategory
from backend.months import add_months, month_start, months_between
from backend.transparency import privacy
from backend.transparency.privacy import Cell, CellKey

MAX_MONTHS = 60
"""The longest period one question may cover."""
PAYER_KINDS = ("employer", "state", "local_budget", "self")
STATUSES = ("INSURED", "CONDITIONALLY_INSURED", "NOT_INSURED")
TOTAL: CellKey = ("total",)

MONEY_IN = "money_in"
MONEY_OUT = "money_out"
INSURED = "insured"
MONEY_IN_GROUPINGS = ("month", "region", "kind", "payer_kind")
MONEY_OUT_GROUPINGS = ("month", "region", "package", "category", "provider")


@dataclass(frozen=True)
class Figure:
    """A published figure: a count (payments, services or people) and an amount in tiyn; both
    None when suppressed."""

    count: int | None
    amount_tiyn: int | None = None

    @property
    def suppressed(self) -> bool:
        """Whether the figure is withheld (it would count 1–10, or give such a figure away)."""
        return self.count is None


SUPPRESSED = Figure(None, None)


@dataclass(frozen=True)
class Row:
    """One row of a table: what it groups (a region code, a month ``YYYY-MM``, a kind, a
    package, a category, a provider id) and its figure."""

    key: str
    figure: Figure


@dataclass(frozen=True)
class Table:
    """A one-way table over a period: its rows and their total."""

    by: str
    rows: tuple[Row, ...]
    total: Figure


@dataclass(frozen=True)
class MoneyFigures:
    """Money in or out over the months ``first``..``last``, by each grouping."""

    first: date
    last: date
    total: Figure
    tables: Mapping[str, Table]


@dataclass(frozen=True)
class ProviderFigures:
    """A provider and what it received over a period: money and services, flags raised by the
    ingestion checks, and citizens' reports (cases) about its services."""

    provider: ProviderRow
    money: Figure
    flags: int | None
    cases: int | None

    @property
    def anomaly_rate(self) -> float | None:
        """Flags per service billed (published only when both counts are)."""
        return _rate(self.flags, self.money.count)

    @property
    def dispute_rate(self) -> float | None:
        """Cases per service billed (published only when both counts are)."""
        return _rate(self.cases, self.money.count)


def _rate(numerator: int | None, services: int | None) -> float | None:
    if numerator is None or not services or services < 0:
        return None
    return round(numerator / services, 4)


@dataclass(frozen=True)
class InsuredRow:
    """People of one region at a month's end by status, and their total."""

    key: str
    by_status: Mapping[str, int | None]
    total: int | None


@dataclass(frozen=True)
class InsuredFigures:
    """People by region and status at the end of ``month`` (``final``: the month-end snapshot;
    else a provisional one of a month not over)."""

    month: date
    final: bool
    rows: tuple[InsuredRow, ...]
    by_status: Mapping[str, int | None]
    total: int | None


@dataclass(frozen=True)
class Balance:
    """The Fund's money up to a day: received, paid out, and the difference (tiyn)."""

    on: date
    received_tiyn: int
    paid_tiyn: int

    @property
    def balance_tiyn(self) -> int:
        """Received minus paid."""
        return self.received_tiyn - self.paid_tiyn


# --- one month of one measure, protected -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """A cell of a protected month: its values, whether they are withheld, and whether they
    differ from the month's (withheld) total by published cells only (``privacy.like_total``)."""

    count: int
    amount: int
    hidden: bool
    like_total: bool = False


Family = Mapping[CellKey, Shown]
"""A protected month: every cell by key (absent: nothing there, published as zero)."""

_NOTHING = Shown(0, 0, False)


@dataclass(frozen=True)
class Dimension:
    """One grouping of a family: its name, the row's value, and keys always listed."""

    name: str
    value: Callable[[Record], str]
    fixed: tuple[str, ...] = ()


def protect_family(rows: Sequence[Record], dimensions: Sequence[Dimension], *,
                   count: str, amount: str | None, forced: Iterable[CellKey] = ()) -> Family:
    """Protect one month: ``rows`` are its atoms (rollup rows), each dimension a one-way
    table of them with the total (``privacy.protect`` finds every sum among them)."""
    members: dict[CellKey, list[int]] = defaultdict(list)
    sums: dict[CellKey, list[int]] = defaultdict(lambda: [0, 0])
    for index, row in enumerate(rows):
        for key in (TOTAL, *((d.name, d.value(row)) for d in dimensions)):
            members[key].append(index)
            sums[key][0] += int(row[count])
            sums[key][1] += int(row[amount]) if amount is not None else 0
    cells = [Cell(key, frozenset(atoms), sums[key][0], sums[key][1])
             for key, atoms in members.items()]
    hidden = privacy.protect(cells, forced)
    like = privacy.like_total(cells, hidden, TOTAL)
    return {cell.key: Shown(cell.count, cell.amount, cell.key in hidden, cell.key in like)
            for cell in cells}


def protect_counts(rows: Sequence[Record], key: str, count: str) -> Family:
    """Counts with no published sum across them (flags, cases per provider): primary rule."""
    sums: dict[str, int] = defaultdict(int)
    for row in rows:
        sums[str(row[key])] += int(row[count])
    return {(key, name): Shown(value, 0, privacy.sensitive(value, 0))
            for name, value in sums.items()}


def over_months(families: Sequence[Family], key: CellKey) -> Figure:
    """A cell over several months: the sum, published only when every month's is."""
    total_count = total_amount = 0
    for family in families:
        shown = family.get(key, _NOTHING)
        if shown.hidden:
            return SUPPRESSED
        total_count += shown.count
        total_amount += shown.amount
    return Figure(total_count, total_amount)


# --- reading and keeping protected months -------------------------------------------------

MONEY_IN_DIMENSIONS = (
    Dimension("region", lambda row: str(row["region_code"])),
    Dimension("kind", lambda row: str(row["kind"]), tuple(ContributionKind)),
    Dimension("payer_kind", lambda row: str(row["payer_kind"]), PAYER_KINDS),
)
MONEY_OUT_DIMENSIONS = (
    Dimension("region", lambda row: str(row["region_code"])),
    Dimension("package", lambda row: str(row["package"]), tuple(Package)),
    Dimension("category", lambda row: str(row["category"]), tuple(ServiceCategory)),
    Dimension("provider", lambda row: str(row["provider_id"])),
)
INSURED_DIMENSIONS = (
    Dimension("region", lambda row: str(row["region_code"])),
    Dimension("status", lambda row: str(row["status"]), STATUSES),
    Dimension("cell", lambda row: f"{row['region_code']}/{row['status']}"),
)
SQL = {
    MONEY_IN: ("SELECT month, region_code, kind, payer_kind, payments AS count, amount_tiyn"
               " FROM stats.money_in WHERE month = ANY($1::date[])"
               " ORDER BY month, region_code, kind, payer_kind"),
    MONEY_OUT: ("SELECT month, provider_id, package, category, region_code, services AS count,"
                " amount_tiyn FROM stats.money_out WHERE month = ANY($1::date[])"
                " ORDER BY month, provider_id, package, category"),
    "flags": ("SELECT month, provider_id, sum(services)::bigint AS count FROM stats.provider_flags"
              " WHERE month = ANY($1::date[]) GROUP BY month, provider_id"),
    "cases": ("SELECT month, provider_id, sum(cases)::bigint AS count FROM stats.disputes"
              " WHERE month = ANY($1::date[]) GROUP BY month, provider_id"),
    INSURED: ("SELECT month, region_code, status, people, final FROM stats.insured"
              " WHERE month = ANY($1::date[]) ORDER BY month, region_code, status"),
}
TOTALS = {
    MONEY_IN: "SELECT month, sum(payments)::bigint AS count, sum(amount_tiyn)::bigint AS amount"
              " FROM stats.money_in GROUP BY month",
    MONEY_OUT: "SELECT month, sum(services)::bigint AS count, sum(amount_tiyn)::bigint AS amount"
               " FROM stats.money_out GROUP BY month",
}


RELEASED = ("SELECT month, dimension, key, count, amount, hidden, like_total"
            " FROM stats.release_cell WHERE measure = $1 AND month = ANY($2::date[])")
"""A released month's cells (``backend.transparency.release``)."""
RELEASED_NO_PROVIDER = RELEASED + " AND dimension <> 'provider'"
"""The same without the provider cells (the tables of money; providers come by the page)."""
RELEASED_PROVIDERS = RELEASED + (" AND (dimension = 'total' OR (dimension IN ('provider',"
                                 " 'provider_id') AND key = ANY($3::text[])))")
"""The total and a page's providers' cells (money out, flags, cases)."""

TOTAL_DIMENSION = "total"
"""The dimension of a month's total in ``stats.release_cell`` (its key is empty)."""


def released_cell(row: Record) -> tuple[CellKey, Shown]:
    """A ``stats.release_cell`` row as a family's cell (``backend.transparency.release`` writes
    them)."""
    key = TOTAL if row["dimension"] == TOTAL_DIMENSION else (row["dimension"], row["key"])
    return key, Shown(int(row["count"]), int(row["amount"]), row["hidden"], row["like_total"])


Cells = str | frozenset[str]
"""Which released cells a reader needs: ``EVERY_CELL``, ``NO_PROVIDER``, or the ids of the
providers on a page (with the total)."""
EVERY_CELL = "every"
NO_PROVIDER = "no provider"
INSURED_RELEASED = (
    "SELECT c.dimension, c.key, c.count, c.amount, c.hidden, c.like_total, r.final"
    " FROM stats.release_cell c JOIN stats.release r ON r.measure = c.measure"
    " AND r.month = c.month WHERE c.measure = 'insured' AND c.month = $1")
"""A released month of insured people, with whether its snapshot is final."""
SQL_NAMED = {measure: sql.replace("$1::date[]", "CAST(:months AS date[])")
             for measure, sql in SQL.items()}
"""The same reads with a named parameter (SQLAlchemy), for the releaser."""


@dataclass(frozen=True)
class Edition:
    """What the releaser published with a measure's months: the last ended month it released
    for, the months with figures, the months whose totals are withheld (small, or hidden with a
    small one because of the balance), and whether later months hold money."""

    as_of: date
    months: frozenset[date]
    withheld: frozenset[date]
    later: bool
    released_at: datetime


@dataclass
class _Kept:
    at: float
    value: Any


@dataclass
class PublicFigures:
    """The public figures on ``db`` (the app's pooled reads), protected months kept ``ttl``
    seconds.  One per process (``figures_of``); every method is safe to call concurrently."""

    db: Fetcher
    ttl: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _kept: dict[tuple[Any, ...], _Kept] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    _connections: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(3))

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        """One statement on ``db``, at most three at once: a page's sibling fields share a
        few pooled connections instead of taking one each."""
        async with self._connections:
            return await self.db.fetch(sql, *args)

    def forget(self) -> None:
        """Drop every kept month (the next question reads the rollups again)."""
        self._kept.clear()

    async def _cached(self, key: tuple[Any, ...],
                      load: Callable[[], Any]) -> Any:
        async with self._locks[repr(key)]:  # concurrent fields wait for one read
            kept = self._kept.get(key)
            if kept is not None and self.clock() - kept.at < self.ttl:
                return kept.value
            value = await load()
            self._kept[key] = _Kept(self.clock(), value)
            return value

    async def month_totals(self, measure: str) -> dict[date, tuple[int, int]]:
        """Every month's total (count, amount) of ``measure``: what the running balance makes
        derivable, so what the months' suppression must account for."""
        async def load() -> dict[date, tuple[int, int]]:
            rows = await self.fetch(TOTALS[measure])
            return {row["month"]: (int(row["count"]), int(row["amount"])) for row in rows}
        found: dict[date, tuple[int, int]] = await self._cached(("totals", measure), load)
        return found

    async def editions(self) -> dict[str, Edition]:
        """The released editions by measure (``backend.transparency.release``), kept ``ttl``."""
        async def load() -> dict[str, Edition]:
            rows = await self.fetch("SELECT measure, as_of, months, withheld, later, released_at"
                                    " FROM stats.edition")
            return {str(row["measure"]): Edition(
                row["as_of"], frozenset(row["months"]), frozenset(row["withheld"]),
                bool(row["later"]), row["released_at"]) for row in rows}
        found: dict[str, Edition] = await self._cached(("editions",), load)
        return found

    async def edition(self, measure: str, today: date) -> Edition | None:
        """The edition of ``measure`` released for ``today``'s last ended month, or None (not
        released yet: protect in process)."""
        found = (await self.editions()).get(measure)
        return found if found is not None and found.as_of == last_ended(today) else None

    async def families(self, measure: str, months: Sequence[date], today: date,
                       cells: Cells = EVERY_CELL) -> list[Family]:
        """The protected months of ``measure`` (money in or out; flags or cases per provider),
        in the order asked: as released (only the ``cells`` asked for), or protected here
        when the release is not there yet (every cell)."""
        async with self._locks[measure]:  # sibling fields wait for one read, not make two
            edition = await self.edition(measure, today)
            if edition is not None:
                return await self._released(measure, months, edition, cells)
            forced: frozenset[date] = frozenset()
            if measure in TOTALS:
                forced = privacy.months_to_hide(await self.month_totals(measure),
                                                last_ended(today))
            keys = {month: (measure, month, month in forced) for month in months}
            missing = [m for m in months if not self._fresh(keys[m])]
            if missing:
                rows = await self.fetch(SQL[measure], missing)
                by_month: dict[date, list[Record]] = defaultdict(list)
                for row in rows:
                    by_month[row["month"]].append(row)
                now = self.clock()
                for month in missing:
                    family = protect_month(measure, by_month[month], month in forced)
                    self._kept[keys[month]] = _Kept(now, family)
            return [self._kept[keys[month]].value for month in months]

    async def _released(self, measure: str, months: Sequence[date], edition: Edition,
                        cells: Cells) -> list[Family]:
        """``months`` of ``measure`` as released: one read of their ``cells`` (a month without
        figures has none: every cell is zero)."""
        keys = {month: ("released", measure, month, edition.released_at, cells)
                for month in months}
        missing = [m for m in months if not self._fresh(keys[m])]
        if missing:
            wanted = [m for m in missing if m in edition.months]
            found: dict[date, dict[CellKey, Shown]] = {month: {} for month in missing}
            if wanted:
                if cells is EVERY_CELL:
                    rows = await self.fetch(RELEASED, measure, wanted)
                elif cells is NO_PROVIDER:
                    rows = await self.fetch(RELEASED_NO_PROVIDER, measure, wanted)
                else:
                    rows = await self.fetch(RELEASED_PROVIDERS, measure, wanted, list(cells))
                for row in rows:
                    key, shown = released_cell(row)
                    found[row["month"]][key] = shown
            now = self.clock()
            for month in missing:
                self._kept[keys[month]] = _Kept(now, found[month])
        return [self._kept[keys[month]].value for month in months]

    async def insured(self, month: date) -> tuple[Family, bool] | None:
        """People by region and status at the end of ``month``, protected, and whether the
        snapshot is final; None when the month has no snapshot.  As released when it is (a
        snapshot's protection depends on no other month), else protected here."""
        async with self._locks[INSURED]:
            edition = (await self.editions()).get(INSURED)
            released = edition is not None and month in edition.months
            key = (INSURED, month, edition.released_at if edition is not None else None,
                   released)
            if not self._fresh(key):
                found: tuple[Family, bool] | None = None
                if released:
                    rows = await self.fetch(INSURED_RELEASED, month)
                    if rows:
                        found = (dict(released_cell(row) for row in rows),
                                 bool(rows[0]["final"]))
                else:
                    rows = await self.fetch(SQL[INSURED], [month])
                    if rows:
                        found = (protect_month(INSURED, rows, False),
                                 all(bool(row["final"]) for row in rows))
                self._kept[key] = _Kept(self.clock(), found)
            kept: tuple[Family, bool] | None = self._kept[key].value
            return kept

    def _fresh(self, key: tuple[Any, ...]) -> bool:
        kept = self._kept.get(key)
        return kept is not None and self.clock() - kept.at < self.ttl

    async def regions(self) -> tuple[str, ...]:
        """Every region code (every region is a row, with zero when nothing happened)."""
        async def load() -> tuple[str, ...]:
            rows = await self.fetch("SELECT code FROM core.region ORDER BY code")
            return tuple(str(row["code"]) for row in rows)
        found: tuple[str, ...] = await self._cached(("regions",), load)
        return found


_PER_READS: weakref.WeakKeyDictionary[Fetcher, PublicFigures] = weakref.WeakKeyDictionary()


def figures_of(reads: Fetcher) -> PublicFigures:
    """The process's ``PublicFigures`` on ``reads`` (one per app: a new app, a new cache)."""
    found = _PER_READS.get(reads)
    if found is None:
        found = _PER_READS[reads] = PublicFigures(reads)
    return found


def protect_month(measure: str, rows: Sequence[Record], hide_total: bool) -> Family:
    """One month of ``measure`` protected from its rollup rows (``hide_total``: its total is
    withheld because of the other months)."""
    forced = (TOTAL,) if hide_total else ()
    if measure == MONEY_IN:
        return protect_family(rows, MONEY_IN_DIMENSIONS, count="count", amount="amount_tiyn",
                              forced=forced)
    if measure == MONEY_OUT:
        return protect_family(rows, MONEY_OUT_DIMENSIONS, count="count", amount="amount_tiyn",
                              forced=forced)
    if measure == INSURED:
        return protect_family(rows, INSURED_DIMENSIONS, count="people", amount=None)
    return protect_counts(rows, "provider_id", "count")


# --- the tables ------------------------------------------------------------------------


def _given_away(families: Sequence[Family], key: CellKey) -> bool:
    """Whether a period cell is known once the withheld months' totals are: in every month
    whose total is withheld, the cell is withheld and differs from the total by published
    cells only; in every other month, it is published."""
    for family in families:
        shown = family.get(key, _NOTHING)
        if family.get(TOTAL, _NOTHING).hidden:
            if not (key == TOTAL or (shown.hidden and shown.like_total)):
                return False
        elif shown.hidden:
            return False
    return True


def period_figure(families: Sequence[Family], key: CellKey, given_away: bool) -> Figure:
    """A cell over the months of ``families``: published when every month's is, or when
    ``given_away`` (the balance gives away the withheld months' total, ``privacy.given_away``)
    and the cell is known with it (``_given_away``)."""
    found = over_months(families, key)
    if found.suppressed and given_away and _given_away(families, key):
        return Figure(sum(f.get(key, _NOTHING).count for f in families),
                      sum(f.get(key, _NOTHING).amount for f in families))
    return found


async def balance_gives_away(figures: PublicFigures, measure: str, months: Sequence[date],
                             today: date) -> bool:
    """Whether the balance gives away the total of ``months`` of ``measure`` (``privacy.
    given_away``, from the edition when there is one)."""
    edition = await figures.edition(measure, today)
    if edition is not None:
        return not edition.later and edition.withheld <= set(months)
    return privacy.given_away(await figures.month_totals(measure), last_ended(today), months)


def period_months(first: date, last: date) -> list[date]:
    """The months of a period, first days."""
    return list(months_between(first, last))


async def money(figures: PublicFigures, measure: str, first: date, last: date, today: date,
                groupings: Sequence[str] | None = None) -> MoneyFigures:
    """Money in or out over ``first``..``last`` (months already checked), by each of
    ``groupings`` (default: every grouping of the measure)."""
    months = period_months(first, last)
    if groupings is None:
        groupings = MONEY_IN_GROUPINGS if measure == MONEY_IN else MONEY_OUT_GROUPINGS
    families = await figures.families(measure, months, today,
                                      EVERY_CELL if "provider" in groupings else NO_PROVIDER)
    regions = await figures.regions()
    seen: dict[str, set[str]] = defaultdict(set)  # the cells each grouping has, in any month
    for family in families:
        for key in family:
            if key != TOTAL:
                seen[key[0]].add(key[1])  # type: ignore[index]
    dimensions = {d.name: d for d in (MONEY_IN_DIMENSIONS if measure == MONEY_IN
                                      else MONEY_OUT_DIMENSIONS)}
    given_away = await balance_gives_away(figures, measure, months, today)
    total = period_figure(families, TOTAL, given_away)
    tables: dict[str, Table] = {}
    for by in groupings:
        if by == "month":
            rows = tuple(Row(f"{m:%Y-%m}", over_months([f], TOTAL))
                         for m, f in zip(months, families, strict=True))
        else:
            fixed = regions if by == "region" else dimensions[by].fixed
            names = [*fixed, *sorted(seen[by] - set(fixed))]
            rows = tuple(Row(name, period_figure(families, (by, name), given_away))
                         for name in names)
        tables[by] = Table(by, rows, total)
    return MoneyFigures(first, last, total, tables)


async def providers(figures: PublicFigures, page: Sequence[ProviderRow], first: date,
                    last: date, today: date) -> list[ProviderFigures]:
    """``page``'s providers with their figures over ``first``..``last``."""
    months = period_months(first, last)
    ids = frozenset(str(provider.id) for provider in page)
    money_out, flags, cases = await asyncio.gather(
        figures.families(MONEY_OUT, months, today, ids),
        figures.families("flags", months, today, ids),
        figures.families("cases", months, today, ids))
    given_away = await balance_gives_away(figures, MONEY_OUT, months, today)
    found = []
    for provider in page:
        key = str(provider.id)
        found.append(ProviderFigures(
            provider=provider, money=period_figure(money_out, ("provider", key), given_away),
            flags=over_months(flags, ("provider_id", key)).count,
            cases=over_months(cases, ("provider_id", key)).count))
    return found


PROVIDER_PAGE = (
    "SELECT id, bin, region_code, quality_zone, name_kk, name_ru, name_en FROM core.provider"
    " WHERE ($1::text IS NULL OR region_code = $1) AND ($2::text IS NULL OR quality_zone = $2)"
    " AND ($3::text IS NULL OR (region_code, bin) > ($3, $4::text))"
    " ORDER BY region_code, bin LIMIT $5")


async def provider_page(db: Fetcher, *, region_code: str | None, zone: str | None,
                        after: tuple[str, str] | None, limit: int) -> list[ProviderRow]:
    """Providers in (region, BIN) order after ``after``: a keyset page of the reference table."""
    rows = await db.fetch(PROVIDER_PAGE, region_code, zone, after[0] if after else None,
                          after[1] if after else None, limit)
    return [ProviderRow(uuid.UUID(str(row["id"])), row["bin"], row["region_code"],
                        row["quality_zone"], row["name_kk"], row["name_ru"], row["name_en"])
            for row in rows]


async def insured(figures: PublicFigures, month: date, regions: Sequence[str]
                  ) -> InsuredFigures | None:
    """People by region and status at the end of ``month`` (None: no snapshot of it)."""
    found = await figures.insured(month)
    if found is None:
        return None
    family, final = found

    def people(key: CellKey) -> int | None:
        shown = family.get(key, _NOTHING)
        return None if shown.hidden else shown.count

    seen = {str(key[1]) for key in family if key != TOTAL and key[0] == "region"}  # type: ignore[index]
    names = [*regions, *sorted(seen - set(regions))]
    return InsuredFigures(
        month=month, final=final,
        rows=tuple(InsuredRow(code, {s: people(("cell", f"{code}/{s}")) for s in STATUSES},
                              people(("region", code))) for code in names),
        by_status={s: people(("status", s)) for s in STATUSES}, total=people(TOTAL))


async def latest_insured_month(db: Fetcher, current: date) -> date | None:
    """The latest month up to ``current`` with a count of insured people."""
    [row] = await db.fetch("SELECT max(month) AS month FROM stats.insured WHERE month <= $1",
                           current)
    found: date | None = row["month"]
    return found


async def balance(db: Fetcher, on: date) -> Balance:
    """Money received and paid out up to and including ``on`` (by the day it moved): whole
    months from ``cash_month``, the rest of ``on``'s month from ``cash_day``."""
    [row] = await db.fetch(
        "SELECT (SELECT coalesce(sum(in_tiyn), 0) FROM stats.cash_month WHERE month < $1)"
        " + (SELECT coalesce(sum(in_tiyn), 0) FROM stats.cash_day WHERE day >= $1"
        " AND day <= $2) AS received,"
        " (SELECT coalesce(sum(out_tiyn), 0) FROM stats.cash_month WHERE month < $1)"
        " + (SELECT coalesce(sum(out_tiyn), 0) FROM stats.cash_day WHERE day >= $1"
        " AND day <= $2) AS paid", month_start(on), on)
    return Balance(on, int(row["received"]), int(row["paid"]))


async def months_with_data(figures: PublicFigures, today: date) -> set[date]:
    """Months any money figure has (up to the last ended, when released)."""
    editions = [await figures.edition(m, today) for m in (MONEY_IN, MONEY_OUT)]
    if editions[0] is not None and editions[1] is not None:
        return set(editions[0].months | editions[1].months)
    found = set(await figures.month_totals(MONEY_IN)) | set(await figures.month_totals(MONEY_OUT))
    return found


def last_ended(today: date) -> date:
    """The month before ``today``'s: the latest whose money figures are published."""
    return add_months(today, -1)
