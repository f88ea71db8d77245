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


def protect(cells: Sequence[Cell], groups: Sequence[Group] = (),
            forced: Iterable[CellKey] = ()) -> frozenset[CellKey]:
    """The keys of ``cells`` to suppress: the sensitive ones, ``forced`` ones (complements
    chosen across families), and enough others that none of them is determined by the rest."""
    by_key = {cell.key: cell for cell in cells}
    suppressed = {cell.key for cell in cells
                  if not cell.empty and sensitive(cell.count, cell.amount)}
    suppressed |= {key for key in forced if key in by_key and not by_key[key].empty}
    _structural(by_key, groups, suppressed)
    _proven(cells, suppressed)
    return frozenset(suppressed)


def _structural(by_key: Mapping[CellKey, Cell], groups: Sequence[Group],
                suppressed: set[CellKey]) -> None:
    """No group with exactly one suppressed (non-empty) member: suppress the smallest other,
    a child rather than the parent."""
    changed = True
    while changed:
        changed = False
        for group in groups:
            members = [by_key[key] for key in (group.parent, *group.children)
                       if key in by_key and not by_key[key].empty]
            hidden = [cell for cell in members if cell.key in suppressed]
            if len(hidden) != 1:
                continue
            shown = [cell for cell in members if cell.key not in suppressed]
            children = [cell for cell in shown if cell.key != group.parent]
            choice = min(children or shown, key=Cell.weight, default=None)
            if choice is not None:
                suppressed.add(choice.key)
                changed = True


def _proven(cells: Sequence[Cell], suppressed: set[CellKey]) -> None:
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
        suppressed.add(min((published[index] for index in exposed), key=Cell.weight).key)


def months_to_hide(totals: Mapping[date, tuple[int, int]], current: date) -> frozenset[date]:
    """Months whose total must be suppressed although it is not small, because the running
    balance publishes the all-time total of the measure.

    ``totals`` is every month's (count, amount), ``current`` the latest month that can be
    asked for (later months hold prepayments, never published, so their sum is unknown to
    anyone).  The all-time total minus the published month totals is the sum of the others
    (``unknown``); that sum must neither be a single small month (exactly one suppressed month
    and nothing after ``current``) nor count 1–10 itself.  So the smallest other months join
    it until it is safe.  Each month chosen has its total suppressed in its family (and, by
    the proof in ``protect``, enough of its cells that the total cannot be rebuilt)."""
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


Vector = dict[int, Fraction]


class Span:
    """The span of 0/1 vectors over atoms, kept in echelon form (each row's pivot is its
    smallest atom), remembering which added vectors make each row.

    Exact (fractions): a cell is reported determined only when it is.
    """

    def __init__(self) -> None:
        self._rows: dict[int, tuple[Vector, Vector]] = {}
        """pivot → (row, its combination of the added vectors by their ``origin``)."""

    def add(self, atoms: Iterable[int], origin: int) -> bool:
        """Add the vector of ``atoms`` (known as ``origin``); False if already in the span."""
        row, combination = self._reduce({atom: Fraction(1) for atom in atoms},
                                        {origin: Fraction(1)})
        if not row:
            return False
        pivot = min(row)
        scale = row[pivot]
        self._rows[pivot] = ({a: v / scale for a, v in row.items()},
                             {o: v / scale for o, v in combination.items()})
        return True

    def express(self, atoms: Iterable[int]) -> dict[int, Fraction] | None:
        """The added vectors (origin → coefficient) that sum to ``atoms``' vector, or None
        when it is not in the span."""
        row, combination = self._reduce({atom: Fraction(1) for atom in atoms}, {})
        if row:
            return None
        return {origin: -value for origin, value in combination.items() if value}

    def _reduce(self, row: Vector, combination: Vector) -> tuple[Vector, Vector]:
        """``row`` minus rows of the span until its smallest atom is no pivot (or it is 0)."""
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
            for other, coefficient in pivot_row.items():
                updated = row.get(other, Fraction(0)) - value * coefficient
                if updated:
                    if other not in row:
                        heapq.heappush(heap, other)
                    row[other] = updated
                else:
                    row.pop(other, None)
            for origin, coefficient in pivot_combination.items():
                updated = combination.get(origin, Fraction(0)) - value * coefficient
                if updated:
                    combination[origin] = updated
                else:
                    combination.pop(origin, None)
        return {a: v for a, v in row.items() if v}, combination
