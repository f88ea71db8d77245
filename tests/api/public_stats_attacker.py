"""The attacker of the public figures: linear algebra over everything published.

Written apart from ``backend.transparency.privacy`` (whose proof it checks) and simpler: every
published figure is an equation ``sum of its atoms = value``; a withheld figure is recovered
exactly iff its row is a combination of the published rows.  Rows are kept in reduced row
echelon form over fractions (sympy-free Gauss–Jordan elimination).  The attacker is strong:
it knows which atoms exist (which provider billed which category in which month), not only
what the tables say.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

Equation = dict[Hashable, Fraction]


def row_of(atoms: Iterable[Hashable]) -> Equation:
    """The 0/1 row that sums ``atoms``."""
    return {atom: Fraction(1) for atom in atoms}


@dataclass
class Attacker:
    """Published equations in reduced row echelon form, with their values."""

    _pivots: dict[Hashable, tuple[Equation, Fraction]] = field(default_factory=dict)
    _holding: dict[Hashable, set[Hashable]] = field(default_factory=dict)
    """atom → the pivots whose rows hold it (so a new pivot is cleared where it occurs)."""
    equations: int = 0

    def learn(self, atoms: Iterable[Hashable], value: int | Fraction) -> None:
        """A published figure: the atoms it sums and its value."""
        self.equations += 1
        row, known = self._reduce(row_of(atoms), Fraction(value))
        if not row:
            assert known == 0, "the published figures contradict each other"
            return
        pivot = next(iter(row))
        scale = row[pivot]
        row = {atom: coefficient / scale for atom, coefficient in row.items()}
        known /= scale
        for other in list(self._holding.get(pivot, ())):
            other_row, other_value = self._pivots[other]
            factor = other_row[pivot]
            for atom, coefficient in row.items():
                updated = other_row.get(atom, Fraction(0)) - factor * coefficient
                if updated:
                    if atom not in other_row:
                        self._holding.setdefault(atom, set()).add(other)
                    other_row[atom] = updated
                else:
                    del other_row[atom]
                    self._holding[atom].discard(other)
            self._pivots[other] = (other_row, other_value - factor * known)
        self._pivots[pivot] = (row, known)
        for atom in row:
            self._holding.setdefault(atom, set()).add(pivot)

    def recover(self, atoms: Iterable[Hashable]) -> Fraction | None:
        """The exact value of the sum of ``atoms``, if the published figures determine it."""
        row, value = self._reduce(row_of(atoms), Fraction(0))
        return -value if not row else None

    def _reduce(self, row: Equation, value: Fraction) -> tuple[Equation, Fraction]:
        """``row`` minus the pivot rows it touches (one pass: the form is fully reduced)."""
        for atom in [a for a in row if a in self._pivots]:
            coefficient = row.get(atom)
            if not coefficient:
                continue
            pivot_row, pivot_value = self._pivots[atom]
            for other, c in pivot_row.items():
                row[other] = row.get(other, Fraction(0)) - coefficient * c
            value -= coefficient * pivot_value
        return {a: c for a, c in row.items() if c}, value
