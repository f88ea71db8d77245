"""Suppression of small cells (``backend.transparency.privacy``): the primary rule, the
complements, and the proof: no withheld cell is a combination of published ones, checked by
the attacker's own elimination (``tests.api.public_stats_attacker``) on tables built by hand
and on random ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from backend.transparency.privacy import (
    Cell,
    Span,
    given_away,
    groups_of,
    like_total,
    months_to_hide,
    protect,
    sensitive,
)
from tests.api.public_stats_attacker import Attacker


def one_way(counts: dict[str, int]) -> list[Cell]:
    """A table of one atom per row, and its total."""
    cells = [Cell(("row", name), frozenset({index}), count, count * 100)
             for index, (name, count) in enumerate(counts.items())]
    total = Cell(("total",), frozenset(range(len(counts))), sum(counts.values()),
                 sum(counts.values()) * 100)
    return [total, *cells]


def recoverable(cells: Sequence[Cell], hidden: frozenset[object]) -> list[object]:
    """Withheld cells the attacker works out from the published ones."""
    attacker = Attacker()
    for cell in cells:
        if cell.key not in hidden:
            attacker.learn(cell.atoms, cell.count)
    return [cell.key for cell in cells
            if cell.key in hidden and attacker.recover(cell.atoms) is not None]


class TestPrimary:
    def test_one_to_ten_is_withheld_zero_and_eleven_are_not(self) -> None:
        assert [sensitive(n, n * 5) for n in (0, 1, 10, 11, 500)] == [
            False, True, True, False, False]

    def test_money_with_no_count_left_is_withheld(self) -> None:
        # A payment and its partial withdrawal: no service left, but one person's money.
        assert sensitive(0, 4_000)
        assert sensitive(-1, -300)


class TestComplements:
    def test_a_table_without_small_cells_is_published_whole(self) -> None:
        cells = one_way({"a": 11, "b": 40, "c": 0})
        assert protect(cells) == frozenset()

    def test_one_small_cell_takes_the_smallest_other_with_it(self) -> None:
        cells = one_way({"a": 4, "b": 40, "c": 15, "d": 90, "e": 0})
        hidden = protect(cells)
        assert hidden == {("row", "a"), ("row", "c")}
        assert recoverable(cells, hidden) == []

    def test_an_empty_cell_is_never_the_complement(self) -> None:
        cells = one_way({"a": 4, "b": 0, "c": 30})
        assert protect(cells) == {("row", "a"), ("row", "c")}

    def test_a_small_total_hides_its_whole_table(self) -> None:
        cells = one_way({"a": 4, "b": 3})
        assert protect(cells) == {("total",), ("row", "a"), ("row", "b")}

    def test_a_region_with_one_provider_hides_both_and_another_region(self) -> None:
        # Providers p1 (5 services, alone in region r1), p2 and p3 in r2, p4 in r3.
        atoms = {"p1": {0}, "p2": {1}, "p3": {2}, "p4": {3}}
        counts = {"p1": 5, "p2": 30, "p3": 25, "p4": 60}
        regions = {"r1": ["p1"], "r2": ["p2", "p3"], "r3": ["p4"]}
        cells = [Cell(("total",), frozenset(range(4)), 120)]
        cells += [Cell(("provider", p), frozenset(a), counts[p]) for p, a in atoms.items()]
        cells += [Cell(("region", r), frozenset().union(*(atoms[p] for p in ps)),
                       sum(counts[p] for p in ps)) for r, ps in regions.items()]
        hidden = protect(cells)
        assert {("provider", "p1"), ("region", "r1")} < hidden
        # r2 (55) is the smallest other region; inside it one provider goes with it.
        assert {("region", "r2"), ("provider", "p3")} < hidden
        assert recoverable(cells, hidden) == []

    def test_two_groupings_of_the_same_money_are_protected_together(self) -> None:
        # By region: r1 = 4 (small), r2 = 20, r3 = 50.  By category: c1 is exactly r2's
        # money, so hiding r2 as r1's complement would be undone by c1: the proof notices.
        cells = [Cell(("total",), frozenset(range(3)), 74),
                 Cell(("region", "r1"), frozenset({0}), 4),
                 Cell(("region", "r2"), frozenset({1}), 20),
                 Cell(("region", "r3"), frozenset({2}), 50),
                 Cell(("category", "c1"), frozenset({1}), 20),
                 Cell(("category", "c2"), frozenset({0, 2}), 54)]
        hidden = protect(cells)
        assert recoverable(cells, hidden) == []
        assert ("region", "r1") in hidden

    def test_forced_cells_are_hidden_and_protected(self) -> None:
        cells = one_way({"a": 30, "b": 40, "c": 50})
        hidden = protect(cells, forced=[("total",)])
        # The total and one row: the other rows give only their difference.
        assert hidden == {("total",), ("row", "a")}
        assert recoverable(cells, hidden) == []


class TestSums:
    def test_the_sums_are_read_off_the_atoms(self) -> None:
        # Kinds a, b are paid only by payer x; kind c by payers y and z.
        atoms = {("a", "x"): 0, ("b", "x"): 1, ("c", "y"): 2, ("c", "z"): 3}
        cells = [Cell(("total",), frozenset(range(4)), 4)]
        for table, position in (("kind", 0), ("payer", 1)):
            values = sorted({key[position] for key in atoms})
            cells += [Cell((table, v), frozenset(i for k, i in atoms.items()
                                                 if k[position] == v), 1) for v in values]
        found = {(g.parent, frozenset(g.children)) for g in groups_of(cells)}
        assert found == {
            (("total",), frozenset({("kind", "a"), ("kind", "b"), ("kind", "c")})),
            (("total",), frozenset({("payer", "x"), ("payer", "y"), ("payer", "z")})),
            (("payer", "x"), frozenset({("kind", "a"), ("kind", "b")})),
            (("kind", "c"), frozenset({("payer", "y"), ("payer", "z")}))}

    def test_a_complement_that_starts_no_new_sum_is_preferred(self) -> None:
        # z (7) is small; y (500) keeps it unknown inside kind c's sum, where x (300, the
        # smaller) would leave kind a + kind b = x with one unknown and hide two more.
        atoms = {("a", "x"): (0, 100), ("b", "x"): (1, 200), ("c", "y"): (2, 500),
                 ("c", "z"): (3, 7)}
        cells = [Cell(("total",), frozenset(range(4)), 807)]
        for table, position in (("kind", 0), ("payer", 1)):
            for value in sorted({key[position] for key in atoms}):
                found = [v for k, v in atoms.items() if k[position] == value]
                cells.append(Cell((table, value), frozenset(i for i, _ in found),
                                  sum(n for _, n in found)))
        assert protect(cells) == {("payer", "z"), ("payer", "y")}


class TestMonthsToHide:
    def test_no_small_month_hides_nothing(self) -> None:
        totals = {date(2026, m, 1): (100 * m, 10_000 * m) for m in range(1, 11)}
        assert months_to_hide(totals, date(2026, 10, 1)) == frozenset()

    def test_a_lone_small_month_takes_the_smallest_other(self) -> None:
        totals = {date(2026, 1, 1): (3, 900), date(2026, 2, 1): (400, 1),
                  date(2026, 3, 1): (50, 5)}
        assert months_to_hide(totals, date(2026, 3, 1)) == {date(2026, 3, 1)}

    def test_prepayments_after_the_current_month_keep_a_small_month_unknown(self) -> None:
        totals = {date(2026, 1, 1): (3, 900), date(2026, 2, 1): (400, 1),
                  date(2027, 1, 1): (30, 5)}
        assert months_to_hide(totals, date(2026, 2, 1)) == frozenset()

    def test_a_few_prepayments_are_not_left_alone(self) -> None:
        totals = {date(2026, 1, 1): (300, 900), date(2026, 2, 1): (400, 1),
                  date(2027, 1, 1): (2, 5)}
        assert months_to_hide(totals, date(2026, 2, 1)) == {date(2026, 1, 1)}

    def test_two_small_months_that_sum_small_take_a_third(self) -> None:
        totals = {date(2026, 1, 1): (3, 9), date(2026, 2, 1): (4, 1),
                  date(2026, 3, 1): (80, 5), date(2026, 4, 1): (90, 5)}
        assert months_to_hide(totals, date(2026, 4, 1)) == {date(2026, 3, 1)}


SMALL_JANUARY = {date(2026, 1, 1): (3, 9), date(2026, 2, 1): (80, 5), date(2026, 3, 1): (90, 5)}


class TestGivenAway:
    def test_a_period_holding_every_withheld_month_is_given_away_by_the_balance(self) -> None:
        # January is small, February hides with it; their sum is the balance minus March.
        current = date(2026, 3, 1)
        assert months_to_hide(SMALL_JANUARY, current) == {date(2026, 2, 1)}
        assert given_away(SMALL_JANUARY, current, [date(2026, 1, 1), date(2026, 2, 1)])
        assert not given_away(SMALL_JANUARY, current, [date(2026, 2, 1), date(2026, 3, 1)])

    def test_money_for_later_months_keeps_it_unknown(self) -> None:
        totals = {**SMALL_JANUARY, date(2026, 5, 1): (40, 1)}
        assert not given_away(totals, date(2026, 3, 1), [date(2026, 1, 1), date(2026, 2, 1)])

    def test_a_withheld_cell_whose_rest_is_published_is_known_with_the_total(self) -> None:
        cells = one_way({"a": 30, "b": 40, "c": 50})
        hidden = protect(cells, forced=[("total",)])
        assert like_total(cells, hidden) == {("row", "a")}


class TestSpan:
    def test_it_expresses_a_combination_and_refuses_what_is_outside(self) -> None:
        span = Span()
        for origin, atoms in enumerate(({0, 1, 2}, {0}, {1})):
            span.add(atoms, origin)
        combination = span.express({2})
        assert combination is not None and {k: int(v) for k, v in combination.items()} == {
            0: 1, 1: -1, 2: -1}
        assert span.express({3}) is None


@st.composite
def families(draw: st.DrawFn) -> list[Cell]:
    """Money of one month: atoms (provider, package, category) with providers in regions,
    and the five tables the public reads publish of it."""
    providers = draw(st.integers(1, 6))
    region_of = [draw(st.integers(0, 2)) for _ in range(providers)]
    atoms: list[tuple[int, int, int, int]] = []
    for provider in range(providers):
        for package in range(2):
            for category in range(3):
                count = draw(st.sampled_from([0, 0, 1, 3, 8, 12, 25, 60]))
                if count:
                    atoms.append((provider, package, category, count))
    tables = {"provider": 0, "package": 1, "category": 2}
    members: dict[tuple[str, int], set[int]] = {}
    for index, atom in enumerate(atoms):
        for name, position in tables.items():
            members.setdefault((name, atom[position]), set()).add(index)
        members.setdefault(("region", region_of[atom[0]]), set()).add(index)
    cells = [Cell(("total",), frozenset(range(len(atoms))), sum(a[3] for a in atoms))]
    cells += [Cell(key, frozenset(found), sum(atoms[i][3] for i in found))
              for key, found in members.items()]
    return cells


@given(families())
def test_no_withheld_cell_of_a_random_month_can_be_recovered(cells: list[Cell]) -> None:
    hidden = protect(cells)
    assert recoverable(cells, hidden) == []
    assert all(cell.key in hidden for cell in cells
               if cell.atoms and sensitive(cell.count, cell.amount))
