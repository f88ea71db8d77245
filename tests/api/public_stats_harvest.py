"""Everything the public API and the open-data files publish, gathered over HTTP and turned
into the attacker's equations: each figure is the sum of the rollup rows (atoms) it covers.

The atoms come from the rollups themselves (what exists, never inserted by hand); the values
only from what was published.  Each suppressed figure becomes a target that the attacker
must fail to recover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.months import add_months, months_between
from tests.api.gql import data, graphql
from tests.api.public_stats_attacker import Attacker

Atom = tuple[Any, ...]

MONEY = """query($from: YearMonth, $until: YearMonth) { publicStats {
  moneyIn(from: $from, until: $until) { total { ...F } byMonth { ...F } byRegion { ...F }
    byKind { ...F } byPayerKind { ...F } }
  moneyOut(from: $from, until: $until) { total { ...F } byMonth { ...F } byRegion { ...F }
    byPackage { ...F } byCategory { ...F } } } }
fragment F on MoneyFigure { key count amount { amount } }"""
PROVIDERS = """query($from: YearMonth, $until: YearMonth, $after: String) { publicStats {
  providers(from: $from, until: $until, first: 100, after: $after) {
    edges { node { provider { id } services received { amount } anomalyRate disputeRate } }
    pageInfo { hasNextPage endCursor } } } }"""
INSURED = """query($month: YearMonth) { publicStats { insured(month: $month) {
  total { ...I } byRegion { ...I } } } }
fragment I on InsuredFigure { key insured conditionallyInsured notInsured total }"""
IN_ATTRIBUTES = {"month": 0, "region": 1, "kind": 2, "payerKind": 3}
OUT_ATTRIBUTES = {"month": 0, "provider": 1, "package": 2, "category": 3, "region": 4}
STATUS_FIELDS = {"insured": "INSURED", "conditionallyInsured": "CONDITIONALLY_INSURED",
                 "notInsured": "NOT_INSURED"}


def tiyn(amount: str) -> int:
    return int(Decimal(amount) * 100)


@dataclass
class Measure:
    """One family of atoms: the attacker's equations over them and the withheld targets."""

    atoms: list[Atom]
    attacker: Attacker = field(default_factory=Attacker)
    targets: dict[frozenset[Atom], str] = field(default_factory=dict)
    published: dict[frozenset[Atom], tuple[int, str]] = field(default_factory=dict)
    _by_month: dict[date, list[Atom]] = field(default_factory=dict)
    _by_value: dict[int, dict[tuple[date, str], list[Atom]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for atom in self.atoms:
            self._by_month.setdefault(atom[0], []).append(atom)

    def having(self, position: int | None, key: str, months: Iterable[date]
               ) -> frozenset[Atom]:
        """The atoms of ``months`` whose part ``position`` is ``key`` (None: all of them)."""
        if position is None:
            return frozenset(a for m in months for a in self._by_month.get(m, ()))
        if position not in self._by_value:
            index: dict[tuple[date, str], list[Atom]] = {}
            for atom in self.atoms:
                value = atom[position]
                shown = f"{value:%Y-%m}" if isinstance(value, date) else str(value)
                index.setdefault((atom[0], shown), []).append(atom)
            self._by_value[position] = index
        found = self._by_value[position]
        return frozenset(a for m in months for a in found.get((m, key), ()))

    def select(self, test: Callable[[Atom], bool], months: Iterable[date] | None = None
               ) -> frozenset[Atom]:
        """The atoms that pass ``test`` (of ``months`` only, when given: faster)."""
        pool = (self.atoms if months is None
                else [a for m in months for a in self._by_month.get(m, ())])
        return frozenset(atom for atom in pool if test(atom))

    def saw(self, atoms: frozenset[Atom], value: int | None, label: str) -> None:
        """A figure: published (``value``) or withheld (None)."""
        if value is None:
            if atoms:
                self.targets.setdefault(atoms, label)
        elif atoms not in self.published:
            self.attacker.learn(atoms, value)
            self.published[atoms] = (value, label)
        else:
            assert self.published[atoms][0] == value, (label, self.published[atoms])

    def recovered(self) -> list[str]:
        """The withheld figures the attacker works out exactly."""
        return [label for atoms, label in self.targets.items()
                if self.attacker.recover(atoms) is not None]


@dataclass
class Harvest:
    """The five families: money in and out (amounts), flags, cases, insured people."""

    money_in: Measure
    money_out: Measure
    flags: Measure
    cases: Measure
    insured: Measure
    requests: int = 0

    @classmethod
    async def of(cls, engine: AsyncEngine) -> Harvest:
        async def atoms(sql: str) -> list[Atom]:
            async with engine.connect() as conn:
                return [tuple(str(v) if not isinstance(v, date) else v for v in row)
                        for row in await conn.execute(text(sql))]
        return cls(
            Measure(await atoms("SELECT month, region_code, kind, payer_kind FROM stats.money_in")),
            Measure(await atoms("SELECT month, provider_id, package, category, region_code"
                                " FROM stats.money_out")),
            Measure(await atoms("SELECT month, provider_id, flag FROM stats.provider_flags")),
            Measure(await atoms("SELECT month, provider_id, state FROM stats.disputes")),
            Measure(await atoms("SELECT month, region_code, status FROM stats.insured")))

    def months(self) -> list[date]:
        return sorted({atom[0] for atom in [*self.money_in.atoms, *self.money_out.atoms]})

    async def ask(self, client: httpx.AsyncClient, query: str, **variables: Any
                  ) -> dict[str, Any]:
        self.requests += 1
        found: dict[str, Any] = data(await graphql(client, query, variables))
        return found

    # --- GraphQL -------------------------------------------------------------------------

    async def money(self, client: httpx.AsyncClient, first: date, last: date) -> None:
        months = set(months_between(first, last))
        stats = (await self.ask(client, MONEY, **{"from": f"{first:%Y-%m}",
                                                  "until": f"{last:%Y-%m}"}))["publicStats"]
        label = f"{first:%Y-%m}..{last:%Y-%m}"
        for measure, figures, attributes in ((self.money_in, stats["moneyIn"], IN_ATTRIBUTES),
                                             (self.money_out, stats["moneyOut"],
                                              OUT_ATTRIBUTES)):
            for name, rows in figures.items():
                by = name.removeprefix("by")
                by = by[0].lower() + by[1:] if by != "total" else "total"
                for row in rows if isinstance(rows, list) else [rows]:
                    key = row["key"]
                    atoms = measure.having(attributes.get(by), key, months)
                    amount = None if row["amount"] is None else tiyn(row["amount"]["amount"])
                    measure.saw(atoms, amount, f"{label} {by} {key}")

    async def providers(self, client: httpx.AsyncClient, first: date, last: date) -> None:
        months = set(months_between(first, last))
        after = None
        while True:
            page = (await self.ask(client, PROVIDERS, after=after, **{
                "from": f"{first:%Y-%m}", "until": f"{last:%Y-%m}"}))["publicStats"]["providers"]
            for edge in page["edges"]:
                node = edge["node"]
                provider = str(node["provider"]["id"])
                provider = _provider_id(provider)
                label = f"{first:%Y-%m}..{last:%Y-%m} provider {provider}"
                out = self.money_out.having(1, provider, months)
                amount = None if node["received"] is None else tiyn(node["received"]["amount"])
                self.money_out.saw(out, amount, label)
                services = node["services"]
                for measure, rate in ((self.flags, node["anomalyRate"]),
                                      (self.cases, node["disputeRate"])):
                    atoms = measure.having(1, provider, months)
                    if services:  # a rate with its count published gives its numerator away
                        measure.saw(atoms, None if rate is None else round(rate * services),
                                    label)
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    async def insured_people(self, client: httpx.AsyncClient, month: date) -> None:
        found = (await self.ask(client, INSURED, month=f"{month:%Y-%m}"))["publicStats"]
        for row in [found["insured"]["total"], *found["insured"]["byRegion"]]:
            region = None if row["key"] == "total" else row["key"]
            for name, status in [*STATUS_FIELDS.items(), ("total", None)]:
                self.insured.saw(self._people(month, region, status), row[name],
                                 f"{month:%Y-%m} insured {region} {name}")

    def _people(self, month: date, region: str | None, status: str | None
                ) -> frozenset[Atom]:
        """The insured atoms of a month, of one region and status (None: any)."""
        return self.insured.select(lambda a: region in (None, a[1])
                                   and status in (None, a[2]), [month])

    async def balance(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        """The running balance makes each measure's all-time total known (amounts)."""
        found = (await self.ask(client, "query { publicStats { balance {"
                                " received { amount } paidOut { amount } } } }"))
        balance = found["publicStats"]["balance"]
        async with engine.connect() as conn:
            ins, outs = (await conn.execute(text(
                "SELECT (SELECT sum(amount_tiyn) FROM stats.money_in),"
                " (SELECT sum(amount_tiyn) FROM stats.money_out)"))).one()
        assert (tiyn(balance["received"]["amount"]), tiyn(balance["paidOut"]["amount"])) == (
            ins, outs), "the identity the attacker relies on must hold"
        self.money_in.saw(frozenset(self.money_in.atoms), ins, "balance received")
        self.money_out.saw(frozenset(self.money_out.atoms), outs, "balance paid out")

    # --- open data -----------------------------------------------------------------------

    async def open_data(self, client: httpx.AsyncClient) -> None:
        index = (await client.get("/open-data/")).json()
        for entry in index["months"]:
            month = date.fromisoformat(entry["month"] + "-01")
            for file in entry["files"]:
                self.requests += 1
                document = (await client.get(file["json"])).json()
                self._file(file["name"], month, document["rows"])

    def _file(self, name: str, month: date, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if name == "insured-by-region":
                region = None if row["region_code"] == "TOTAL" else row["region_code"]
                for column, status in (("insured", "INSURED"),
                                       ("conditionally_insured", "CONDITIONALLY_INSURED"),
                                       ("not_insured", "NOT_INSURED"), ("people", None)):
                    self.insured.saw(self._people(month, region, status), row[column],
                                     f"file {name} {month} {row}")
            elif name == "money-out-by-provider":
                provider = row["provider_id"]
                for measure, column in ((self.flags, "flags"), (self.cases, "cases")):
                    measure.saw(measure.having(1, provider, [month]),
                                row[column], f"file {name} {month} {provider} {column}")
                self._money(self.money_out, 1, provider, month, row, name)
            else:
                measure = self.money_in if name.startswith("money-in") else self.money_out
                attributes = IN_ATTRIBUTES if measure is self.money_in else OUT_ATTRIBUTES
                by = {"kind": "kind", "payer-kind": "payerKind", "region": "region",
                      "package": "package", "category": "category"}[name.split("-by-")[1]]
                key = row[next(c for c in row if c not in ("month",))]
                self._money(measure, None if key == "TOTAL" else attributes[by], key, month,
                            row, name)

    @staticmethod
    def _money(measure: Measure, position: int | None, key: str, month: date,
               row: dict[str, Any], name: str) -> None:
        atoms = measure.having(position, key, [month])
        amount = None if row["amount_kzt"] is None else tiyn(row["amount_kzt"])
        measure.saw(atoms, amount, f"file {name} {month} {key}")

    def measures(self) -> dict[str, Measure]:
        return {"money in": self.money_in, "money out": self.money_out, "flags": self.flags,
                "cases": self.cases, "insured": self.insured}


def _provider_id(global_id: str) -> str:
    """The provider's uuid inside its global id."""
    from backend.gql.nodes import parse_global_id

    return str(parse_global_id(global_id)[1])


async def harvest_everything(client: httpx.AsyncClient, engine: AsyncEngine, today: date,
                             *, ranges: Iterable[tuple[date, date]] | None = None
                             ) -> Harvest:
    """Ask for every month, every prefix and suffix of the months (or ``ranges``), every
    page of providers over them, every month's insured people, the balance and every
    open-data file; the harvest holds the equations and the withheld targets."""
    harvest = await Harvest.of(engine)
    ended = add_months(today, -1)  # money is published for months that have ended
    months = [m for m in harvest.months() if m <= ended]
    periods: set[tuple[date, date]] = {(m, m) for m in months}
    if ranges is None:
        periods |= {(months[0], m) for m in months} | {(m, months[-1]) for m in months}
    else:
        periods |= set(ranges)
    for first, last in sorted(periods):
        if (last.year - first.year) * 12 + last.month - first.month < 60:
            await harvest.money(client, first, last)
            await harvest.providers(client, first, last)
    for month in sorted({atom[0] for atom in harvest.insured.atoms}):
        await harvest.insured_people(client, month)
    await harvest.balance(client, engine)
    await harvest.open_data(client)
    return harvest

