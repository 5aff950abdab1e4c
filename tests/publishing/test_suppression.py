"""The suppression method on its own: small tables whose answers can be checked by hand, and
random linked tables checked by an independent linear programme (scipy)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from saferstreets.publishing.suppression import CellSuppression, Relation


def _widths(values, relations, hidden):  # type: ignore[no-untyped-def]
    """Each hidden non-zero cell's (min, max) by scipy, independently of the module's HiGHS."""
    unknown = sorted((c for c in hidden if values.get(c, 0)), key=repr)
    index = {c: i for i, c in enumerate(unknown)}
    rows, rhs = [], []
    for rel in relations:
        row = np.zeros(len(unknown))
        b = 0.0
        for cell, sign in [(rel.total, 1.0)] + [(p, -1.0) for p in rel.parts]:
            if cell in index:
                row[index[cell]] += sign
            else:
                b -= sign * values.get(cell, 0)
        if row.any():
            rows.append(row)
            rhs.append(b)
    out = {}
    for cell, i in index.items():
        ends = []
        for sense in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[i] = sense
            res = linprog(c, A_eq=np.array(rows), b_eq=rhs, bounds=(1, None), method="highs")
            ends.append(sense * res.fun if res.status == 0 else np.inf)
        out[cell] = tuple(ends)
    return out


def test_two_single_reports_beside_a_big_ward_need_a_third_hidden() -> None:
    # Hiding the two 1s satisfies "two hidden per relation", but 32 - 30 = 2 = 1 + 1 gives both.
    values = {"D": 32, "W1": 1, "W2": 1, "W3": 30}
    fit = CellSuppression(values=values, relations=[Relation("D", ("W1", "W2", "W3"))], k=10).fit()
    assert fit.hidden == {"W1", "W2", "W3"} and fit.primary == {"W1", "W2"}
    assert fit.rounds == 2  # the audit found what counting missed
    assert fit.bounds["W1"] == (1.0, 30.0)


def test_a_hidden_cell_is_protected_across_two_linked_tables() -> None:
    # rows and columns of a 2 x 3 table, both published: hiding one complement per row is not
    # enough, as the column totals then give each hidden cell away.
    grid = [[12, 3, 20], [15, 15, 30]]
    values: dict = {}
    relations = []
    for i, row in enumerate(grid):
        values |= {(i, j): v for j, v in enumerate(row)}
        values[("row", i)] = sum(row)
        relations.append(Relation(("row", i), tuple((i, j) for j in range(3))))
    for j in range(3):
        values[("col", j)] = grid[0][j] + grid[1][j]
        relations.append(Relation(("col", j), ((0, j), (1, j))))
    fit = CellSuppression(values=values, relations=relations, k=10).fit()
    assert (0, 1) in fit.hidden and len(fit.hidden) >= 4  # a rectangle of four at least
    widths = _widths(values, relations, fit.hidden)
    assert all(hi - lo >= 1 for lo, hi in widths.values()), widths


def test_zero_is_shown_and_never_a_complement() -> None:
    values = {"D": 14, "W1": 4, "W2": 0, "W3": 10}
    fit = CellSuppression(values=values, relations=[Relation("D", ("W1", "W2", "W3"))], k=10).fit()
    assert fit.hidden == {"W1", "W3"}  # hiding the zero would protect nothing


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=25), min_size=1, max_size=3),
        min_size=2,
        max_size=5,
    )
)
def test_random_district_ward_cell_tables_leave_no_hidden_cell_exact(wards) -> None:  # type: ignore[no-untyped-def]
    # A district of wards, each split into up to three map cells, all three levels published.
    values: dict = {}
    relations = []
    n_cells = max(len(w) for w in wards)
    for i, cells in enumerate(wards):
        values[("w", i)] = sum(cells)
        values |= {("wc", i, j): v for j, v in enumerate(cells)}
        relations.append(Relation(("w", i), tuple(("wc", i, j) for j in range(len(cells)))))
    values["d"] = sum(values[("w", i)] for i in range(len(wards)))
    relations.append(Relation("d", tuple(("w", i) for i in range(len(wards)))))
    for j in range(n_cells):
        parts = tuple(("wc", i, j) for i, cells in enumerate(wards) if j < len(cells))
        values[("dc", j)] = sum(values[p] for p in parts)
        relations.append(Relation(("dc", j), parts))
    fit = CellSuppression(values=values, relations=relations, k=10).fit()
    assert all(c in fit.hidden for c, v in values.items() if 0 < v < 10)
    for rel in relations:
        inside = [c for c in rel.cells() if c in fit.hidden and values[c]]
        assert len(inside) != 1, rel
    widths = _widths(values, relations, fit.hidden)
    assert all(hi - lo >= 1 - 1e-6 for lo, hi in widths.values()), widths


def test_a_large_remainder_never_shown_needs_no_protection_but_a_small_one_does() -> None:
    # All 12 reports were placed by name (no map cell): the ward's total can still be shown.
    fit = CellSuppression(
        values={"W": 12, "c0": 12}, relations=[Relation("W", ("c0",))], k=10, never_shown={"c0"}
    ).fit()
    assert fit.hidden == {"c0"}
    # One report with no map cell beside a cell of 11: the cell must go, or 12 - 11 gives her.
    fit = CellSuppression(
        values={"W": 12, "A": 11, "c0": 1},
        relations=[Relation("W", ("A", "c0"))],
        k=10,
        never_shown={"c0"},
    ).fit()
    assert fit.hidden == {"c0", "A"}
