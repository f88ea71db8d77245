"""Which public cells to suppress: small cells, and the cells that would give them away.

The rule (``docs/transparency.md``, "Privacy"):

1. *Primary*: a cell is sensitive when it counts 1–10 (people, services or payments), or when
   its count nets to 0 or less while money still moved (a payment and its partial correction:
   the amount would be one person's).  A cell with nothing in it (count 0, amount 0) is
   published as 0: nothing happened.
2. *Complementary*: within a *family* of cells (everything published about one month of one
   measure: the total, every one-way table of it, the providers inside each region), no
   suppressed cell may be **determined** by the published ones.  A cell is a sum over *atoms*
   (the rollup rows: a month's region, kind and payer kind for money in; provider, package
   and category for money out); it is determined when its sum over atoms is a linear
   combination of the published cells' sums.  The attacker is assumed to know which atoms
   exist (which provider had which category of service that month), which is stronger than
   what we publish.

``protect`` first applies the familiar structural rule (in each published sum, parent = the
sum of its children, never exactly one member suppressed: suppress the smallest other) and
then *proves* the result: exact Gaussian elimination over fractions checks every suppressed
cell against the span of the published ones, and suppresses one more cell (the smallest of
those that determine it) until no suppressed cell is determined.  So the guarantee does not
depend on the structural rule catching every pattern (two tables of the same data that share
a provider, a region with one provider, a category that only one provider bills).

Amounts are suppressed with their counts: a suppressed cell publishes neither.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

MIN_PUBLISHED = 11
"""The smallest count a published cell may have (CMS: never 1–10)."""

CellKey = Hashable
"""What names a cell within its family, for example ``("region", "KZ-75")``."""


def sensitive(count: int, amount: int) -> bool:
    """Whether a cell with ``count`` and ``amount`` must not be published (the primary rule)."""
    if count == 0 and amount == 0:
        return False
    return count < MIN_PUBLISHED


@dataclass(frozen=True)
class Cell:
    """One figure that may be published: the atoms it sums, its count and amount."""

    key: CellKey
    atoms: frozenset[int]
    count: int
    amount: int = 0

    @property
    def empty(self) -> bool:
        """Nothing was summed: published as zero, never suppressed, never a complement."""
        return not self.atoms

    def weight(self) -> tuple[bool, int, int, str]:
        """The order in which complements are chosen: the smallest count first, a cell whose
        rows net to nothing last (withholding a zero protects little)."""
        return (self.count == 0 and self.amount == 0, self.count, abs(self.amount),
                repr(self.key))


@dataclass(frozen=True)
class Group:
    """A published sum: ``parent`` = the sum of ``children`` (a total and its table)."""

    parent: CellKey
    children: tuple[CellKey, ...]


def table_of(key: CellKey) -> str:
    """The table a cell belongs to: the first part of its key (``("region", "KZ-75")`` is in
    ``region``; ``("total",)`` alone in ``total``)."""
    return str(key[0]) if isinstance(key, tuple) and key else repr(key)


def groups_of(cells: Sequence[Cell]) -> list[Group]:
    """Every published sum among ``cells``: for each cell of one table, the cells of another
    table that lie inside it and cover it (a total and every table; a region and its
    providers; a payer kind and the contribution kinds only it pays; two cells with the same
    atoms).  Each table is a partition of the atoms, so the cells of table A that meet cell
    b cover b, and lie inside it iff their sizes add up to b's."""
    tables: dict[str, list[Cell]] = {}
    for cell in cells:
        if not cell.empty:
            tables.setdefault(table_of(cell.key), []).append(cell)
    groups = []
    for name, inner in tables.items():
        owner = {atom: cell for cell in inner for atom in cell.atoms}
        for outer_name, outer in tables.items():
            if outer_name == name:
                continue
            for parent in outer:
                meeting = {owner[atom].key: owner[atom] for atom in parent.atoms
                           if atom in owner}
                if sum(len(c.atoms) for c in meeting.values()) == len(parent.atoms):
                    groups.append(Group(parent.key, tuple(meeting)))
    return groups


def protect(cells: Sequence[Cell], forced: Iterable[CellKey] = ()) -> frozenset[CellKey]:
    """The keys of ``cells`` to suppress: the sensitive ones, ``forced`` ones (complements
    chosen across families), and enough others that none of them is determined by the rest.

    Cells are keyed ``(table, value)``; every table covers the same atoms (a one-way table
    of the family), the total is ``("total",)``."""
    by_key = {cell.key: cell for cell in cells}
    suppressed = {cell.key for cell in cells
                  if not cell.empty and sensitive(cell.count, cell.amount)}
    suppressed |= {key for key in forced if key in by_key and not by_key[key].empty}
    sums = _Sums(cells)
    _structural(sums, suppressed)
    _proven(cells, sums, suppressed)
    return frozenset(suppressed)


class _Sums:
    """The published sums of a family, and which of them each cell is in."""

    def __init__(self, cells: Sequence[Cell]) -> None:
        self.by_key = {cell.key: cell for cell in cells}
        self.groups = groups_of(cells)
        self.members = [[key for key in (g.parent, *g.children) if not self.by_key[key].empty]
                        for g in self.groups]
        self.of: dict[CellKey, list[int]] = {}
        for index, members in enumerate(self.members):
            for key in members:
                self.of.setdefault(key, []).append(index)

    def choose(self, candidates: Sequence[Cell], suppressed: set[CellKey]) -> Cell:
        """The complement that leaves the fewest sums with it as their only suppressed
        member (each would need one more), then the smallest."""
        def cascades(cell: Cell) -> int:
            return sum(1 for index in self.of.get(cell.key, ())
                       if not any(key in suppressed for key in self.members[index]))
        return min(candidates, key=lambda cell: (cascades(cell), cell.weight()))


def _structural(sums: _Sums, suppressed: set[CellKey]) -> None:
    """No sum with exactly one suppressed (non-empty) member: suppress another, a child
    rather than the parent."""
    changed = True
    while changed:
        changed = False
        for group, members in zip(sums.groups, sums.members, strict=True):
            if sum(1 for key in members if key in suppressed) != 1:
                continue
            shown = [sums.by_key[key] for key in members if key not in suppressed]
            children = [cell for cell in shown if cell.key != group.parent]
            if children or shown:
                suppressed.add(sums.choose(children or shown, suppressed).key)
                changed = True


def _proven(cells: Sequence[Cell], sums: _Sums, suppressed: set[CellKey]) -> None:
    """Suppress more until no suppressed cell is a combination of published ones."""
    while True:
        published = [cell for cell in cells if not cell.empty and cell.key not in suppressed]
        span = Span()
        for index, cell in enumerate(published):
            span.add(cell.atoms, index)
        exposed = None
        for cell in sorted((c for c in cells if c.key in suppressed), key=Cell.weight):
            combination = span.express(cell.atoms)
            if combination is not None:
                exposed = combination
                break
        if exposed is None:
            return
        candidates = [published[index] for index in exposed]
        suppressed.add(sums.choose(candidates, suppressed).key)
        _structural(sums, suppressed)


def months_to_hide(totals: Mapping[date, tuple[int, int]], current: date) -> frozenset[date]:
    """Months whose total must be suppressed although it is not small, because the running
    balance publishes the all-time total of the measure.

    ``totals`` is every month's (count, amount), ``current`` the latest month published (the
    month in progress and later ones, which hold prepayments, are never published, so their
    sum is unknown to anyone).  The all-time total minus the published month totals is the
    sum of the others (``unknown``); that sum must neither be a single small month (exactly
    one suppressed month and nothing after ``current``) nor count 1–10 itself.  So the
    smallest other months join it until it is safe.  Each month chosen has its total
    suppressed in its family (and, by the proof in ``protect``, enough of its cells that the
    total cannot be rebuilt)."""
    past = {month: values for month, values in totals.items() if month <= current}
    later = [values for month, values in totals.items() if month > current]
    later_count, later_amount = sum(c for c, _ in later), sum(a for _, a in later)
    unknown = [month for month, (count, amount) in past.items()
               if (count or amount) and sensitive(count, amount)]
    count = sum(past[m][0] for m in unknown) + later_count
    amount = sum(past[m][1] for m in unknown) + later_amount
    nothing_later = not later or (later_count == 0 and later_amount == 0)
    chosen: set[date] = set()
    while unknown or not nothing_later:
        single = len(unknown) == 1 and nothing_later
        if not single and not sensitive(count, amount):
            break
        candidates = [m for m, (c, a) in past.items()
                      if (c or a) and m not in unknown and m not in chosen]
        if not candidates:
            break
        month = min(candidates, key=lambda m: (past[m][0], abs(past[m][1]), m))
        chosen.add(month)
        unknown.append(month)
        count, amount = count + past[month][0], amount + past[month][1]
    return frozenset(chosen)


def like_total(cells: Sequence[Cell], hidden: frozenset[CellKey],
               total: CellKey = ("total",)) -> frozenset[CellKey]:
    """The withheld cells that differ from the (withheld) total by published cells only:
    knowing the total means knowing them.  Across months, when the balance gives the total
    of some months away, a period cell made only of such cells is given away too."""
    by_key = {cell.key: cell for cell in cells}
    whole = by_key.get(total)
    if whole is None or total not in hidden:
        return frozenset()
    span = Span()
    for index, cell in enumerate(cells):
        if not cell.empty and cell.key not in hidden:
            span.add(cell.atoms, index)
    return frozenset(key for key in hidden
                     if key != total and by_key[key].atoms <= whole.atoms
                     and (whole.atoms == by_key[key].atoms
                          or span.express(whole.atoms - by_key[key].atoms) is not None))


def given_away(totals: Mapping[date, tuple[int, int]], current: date,
               months: Iterable[date]) -> bool:
    """Whether the running balance already gives away the total of ``months``: nothing after
    ``current`` and every month whose total is withheld among them, so their total is the
    all-time total minus published months.  Such a total is published (it adds nothing; its
    withheld months sum to at least 11 by ``months_to_hide``)."""
    later = any(count or amount for month, (count, amount) in totals.items() if month > current)
    withheld = {month for month, (count, amount) in totals.items()
                if month <= current and (count or amount) and sensitive(count, amount)}
    withheld |= months_to_hide(totals, current)
    return not later and withheld <= set(months)


Vector = dict[int, int]


class Span:
    """The span of 0/1 vectors over atoms, kept in echelon form (each row's pivot is its
    smallest atom), remembering which added vectors make each row.

    Exact, in integers (fraction-free elimination, each row divided by the gcd of its
    entries): a cell is reported determined only when it is, and it is fast enough to run on
    every month protected (the coefficients of these tables' sums stay small).
    """

    def __init__(self) -> None:
        self._rows: dict[int, tuple[Vector, Vector]] = {}
        """pivot → (row, its combination of the added vectors by their ``origin``)."""

    def add(self, atoms: Iterable[int], origin: int) -> bool:
        """Add the vector of ``atoms`` (known as ``origin``); False if already in the span."""
        row, combination, _ = self._reduce(dict.fromkeys(atoms, 1), {origin: 1})
        if not row:
            return False
        pivot = min(row)
        divisor = math.gcd(*row.values(), *combination.values())
        if row[pivot] < 0:
            divisor = -divisor
        self._rows[pivot] = ({a: v // divisor for a, v in row.items()},
                             {o: v // divisor for o, v in combination.items()})
        return True

    def express(self, atoms: Iterable[int]) -> dict[int, Fraction] | None:
        """The added vectors (origin → coefficient) that sum to ``atoms``' vector, or None
        when it is not in the span."""
        row, combination, scale = self._reduce(dict.fromkeys(atoms, 1), {})
        if row:
            return None
        return {origin: Fraction(-value, scale) for origin, value in combination.items()}

    def _reduce(self, row: Vector, combination: Vector) -> tuple[Vector, Vector, int]:
        """``scale`` × ``row`` minus rows of the span until its smallest atom is no pivot (or
        it is 0), with the combination of added vectors that this took."""
        scale = 1
        heap = list(row)
        heapq.heapify(heap)
        while heap:
            atom = heapq.heappop(heap)
            value = row.get(atom)
            if not value:
                continue
            found = self._rows.get(atom)
            if found is None:
                break
            pivot_row, pivot_combination = found
            divisor = math.gcd(pivot_row[atom], value)
            times, minus = pivot_row[atom] // divisor, value // divisor
            if times != 1:
                scale *= times
                row = {a: v * times for a, v in row.items()}
                combination = {o: v * times for o, v in combination.items()}
            for vector, subtract in ((row, pivot_row), (combination, pivot_combination)):
                for key, coefficient in subtract.items():
                    updated = vector.get(key, 0) - minus * coefficient
                    if updated:
                        if vector is row and key not in row:
                            heapq.heappush(heap, key)
                        vector[key] = updated
                    else:
                        vector.pop(key, None)
        return row, combination, scale
