"""Cell suppression for linked tables: no hidden count can be worked out from the shown ones.

A pure module (no store, web or CLI): cells are keys with integer counts, linked by additive
relations ``total = sum(parts)`` (a district and its wards, a theme in a district and in its
wards, a map cell and its pieces in each ward, an area and its map cells) and by bounds
``part <= whole`` (a theme's reports are some of the area's reports).

Method
------
1. Primary suppression: every count from 1 to ``k - 1`` is hidden; so is every cell the caller
   never publishes (``never_shown``, e.g. reports in a district that lie in no ward). A
   never-shown cell of ``k`` or more needs no protection itself (that 12 reports have no place on
   the map is no one's secret), but it is still an unknown that protects the others.
2. Complementary suppression, to a fixed point: a relation with exactly one hidden non-zero cell
   would give it away by subtraction, so the smallest shown non-zero cell of that relation is
   hidden too; repeat over every relation until none has exactly one hidden cell.
3. Audit and repair: the attacker's linear programme. Treat every hidden cell as unknown (at
   least 1: the attacker is assumed to know which cells are non-zero), impose every relation and
   bound with the shown values, and find each hidden cell's smallest and largest feasible value
   (HiGHS). A hidden cell whose interval is narrower than ``min_width`` is exposed: the smallest
   shown non-zero cell of a relation holding it is hidden as well, and steps 2 and 3 repeat.

The result is sound by construction: the audit is exactly the differencing attack over every
published relation at once (Cox 1980; Hundepool et al. 2012, ch. 4), not only one relation at a
time. Zeros are shown and never used as complements.

References
----------
Cox, L. H. (1980). Suppression methodology and statistical disclosure control. JASA 75, 377-385.
Hundepool, A. et al. (2012). Statistical Disclosure Control. Wiley. Chapter 4 (tabular data).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import highspy
import numpy as np

from saferstreets.planning.mclp import new_highs

Key = Hashable


@dataclass(frozen=True)
class Relation:
    """``total = sum(parts)`` among cells."""

    total: Key
    parts: tuple[Key, ...]

    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


def interval_bounds(
    *,
    values: Mapping[Key, int],
    hidden: Iterable[Key],
    relations: Iterable[Relation],
    at_most: Iterable[tuple[Key, Key]] = (),
    lower: float = 1.0,
) -> dict[Key, tuple[float, float]]:
    """Each hidden cell's feasible range given every shown value, relation and bound.

    Parameters
    ----------
    values
        Every cell's true count (zeros may be left out). Only shown cells' values are used as
        constants; hidden cells are the unknowns.
    hidden
        The cells that are not shown.
    relations, at_most
        ``total = sum(parts)`` and ``(part, whole)`` meaning ``part <= whole``.
    lower
        What the attacker knows as a floor for each hidden cell (1: hidden cells are non-zero).

    Returns
    -------
    dict
        ``{cell: (min, max)}`` for each hidden non-zero cell (``max`` may be ``inf``).
    """
    unknown = {c for c in set(hidden) if values.get(c, 0)}
    constraints = [
        ([(rel.total, 1.0)] + [(part, -1.0) for part in rel.parts], True) for rel in relations
    ] + [([(part, 1.0), (whole, -1.0)], False) for part, whole in at_most]
    constraints = [c for c in constraints if any(cell in unknown for cell, _ in c[0])]
    result: dict[Key, tuple[float, float]] = {}
    for cells, rows in _components(unknown, constraints):
        result.update(_component_bounds(cells, rows, values, lower))
    return result


Constraint = tuple[list[tuple[Key, float]], bool]  # (cell, coefficient) terms; equality or <=


def _components(
    unknown: set[Key], constraints: list[Constraint]
) -> list[tuple[list[Key], list[Constraint]]]:
    """Split the unknowns into groups no constraint links (each is solved on its own, faster)."""
    parent = {c: c for c in unknown}

    def find(c: Key) -> Key:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for terms, _ in constraints:
        inside = [cell for cell, _ in terms if cell in unknown]
        for other in inside[1:]:
            parent[find(other)] = find(inside[0])
    groups: dict[Key, tuple[list[Key], list[Constraint]]] = {}
    for c in sorted(unknown, key=repr):
        groups.setdefault(find(c), ([], []))[0].append(c)
    for constraint in constraints:
        first = next(cell for cell, _ in constraint[0] if cell in unknown)
        groups[find(first)][1].append(constraint)
    return list(groups.values())


def _component_bounds(
    cells: list[Key], constraints: list[Constraint], values: Mapping[Key, int], lower: float
) -> dict[Key, tuple[float, float]]:
    """Minimise and maximise each unknown of one group subject to its constraints (HiGHS)."""
    index = {c: i for i, c in enumerate(cells)}
    h = new_highs()
    inf = highspy.kHighsInf
    for _ in cells:
        h.addVar(lower, inf)
    for terms, equal in constraints:
        row: dict = {}
        for cell, coef in terms:
            _add(row, _row(cell, coef, index, values))
        _add_constraint(h, row, equal=equal)
    result: dict[Key, tuple[float, float]] = {}
    for cell, i in index.items():
        ends = []
        for sense in (1.0, -1.0):
            h.changeColCost(i, sense)
            h.run()
            if h.getModelStatus() == highspy.HighsModelStatus.kUnbounded:
                ends.append(inf if sense < 0 else -inf)
            else:
                ends.append(sense * h.getInfo().objective_function_value)
        h.changeColCost(i, 0.0)
        result[cell] = (ends[0], ends[1])
    return result


def _row(cell: Key, sign: float, index: Mapping[Key, int], values: Mapping[Key, int]) -> dict:
    """One cell's contribution to a constraint: a coefficient if unknown, else a constant."""
    if cell in index:
        return {index[cell]: sign}
    return {None: sign * values.get(cell, 0)}


def _add(into: dict, other: dict) -> None:
    for key, coef in other.items():
        into[key] = into.get(key, 0.0) + coef


def _add_constraint(h: highspy.Highs, row: dict, *, equal: bool) -> None:
    """``sum(coef * x) + constant = 0`` (or ``<= 0``), skipped when it has no unknowns."""
    constant = row.pop(None, 0.0)
    cols = [c for c, v in row.items() if v != 0]
    if not cols:
        return
    rhs = -constant
    lo = rhs if equal else -highspy.kHighsInf
    h.addRow(
        lo,
        rhs,
        len(cols),
        np.array(cols, dtype=np.int32),
        np.array([row[c] for c in cols], dtype=np.float64),
    )


class CellSuppression:
    """Primary and complementary suppression over linked tables, audited by linear programming.

    Parameters
    ----------
    values
        ``{cell: count}`` for every cell (zeros may be left out).
    relations
        Additive relations among cells.
    at_most
        ``(part, whole)`` pairs meaning ``part <= whole``.
    k
        Counts from 1 to ``k - 1`` are hidden (``Settings.public_min_count``).
    never_shown
        Cells that are never published whatever their count.
    min_width
        The narrowest interval the attacker may be left with for any hidden cell (1: at least
        two whole numbers remain possible).

    Attributes
    ----------
    hidden : set
        The cells not to publish (after ``fit``).
    primary : set
        The cells hidden for being small or never shown.
    bounds : dict
        The attacker's final interval for each hidden non-zero cell.
    rounds : int
        Audit rounds until no hidden cell was exposed.
    """

    def __init__(
        self,
        *,
        values: Mapping[Key, int],
        relations: Iterable[Relation],
        at_most: Iterable[tuple[Key, Key]] = (),
        k: int,
        never_shown: Iterable[Key] = (),
        min_width: float = 1.0,
    ) -> None:
        self.values = dict(values)
        self.relations = list(relations)
        self.at_most = list(at_most)
        self.k = k
        self.never_shown = set(never_shown)
        self.min_width = min_width
        self.hidden: set[Key] = set()
        self.primary: set[Key] = set()
        self.bounds: dict[Key, tuple[float, float]] = {}
        self.rounds = 0
        self._exempt: set[Key] = set()
        self._by_cell: dict[Key, list[Relation]] = {}

    def fit(self) -> CellSuppression:
        """Hide cells until every hidden cell's interval is at least ``min_width`` wide."""
        self.primary = {c for c, n in self.values.items() if 0 < n < self.k} | {
            c for c in self.never_shown if self.values.get(c, 0)
        }
        self.hidden = set(self.primary)
        self._exempt = {c for c in self.never_shown if self.values.get(c, 0) >= self.k}
        self._by_cell = {}
        for rel in self.relations:
            for cell in rel.cells():
                self._by_cell.setdefault(cell, []).append(rel)
        while True:
            self.rounds += 1
            self._close_relations()
            self.bounds = interval_bounds(
                values=self.values,
                hidden=self.hidden,
                relations=self.relations,
                at_most=self.at_most,
            )
            exposed = [
                c
                for c, (lo, hi) in self.bounds.items()
                if hi - lo < self.min_width - 1e-6 and c not in self._exempt
            ]
            if not exposed or not self._repair(exposed):
                return self

    def _nonzero(self, cell: Key) -> bool:
        return self.values.get(cell, 0) > 0

    def _smallest_shown(self, rel: Relation) -> Key | None:
        shown = [c for c in rel.cells() if c not in self.hidden and self._nonzero(c)]
        return min(shown, key=lambda c: (self.values[c], c == rel.total, repr(c)), default=None)

    def _close_relations(self) -> None:
        """Step 2: no relation may hold exactly one hidden non-zero cell."""
        changed = True
        while changed:
            changed = False
            for rel in self.relations:
                hidden = [c for c in rel.cells() if c in self.hidden and self._nonzero(c)]
                if len(hidden) != 1 or hidden[0] in self._exempt:
                    continue
                if (extra := self._smallest_shown(rel)) is not None:
                    self.hidden.add(extra)
                    changed = True

    def _repair(self, exposed: list[Key]) -> bool:
        """Step 3's repair: hide one more cell near each exposed one; False if none is left.

        The nearest relations first: those holding the exposed cell, then those holding a hidden
        cell that shares a relation with it, and so on outwards.
        """
        added: set[Key] = set()
        for cell in exposed:
            near = {c for rel in self._by_cell.get(cell, []) for c in rel.cells()}
            if near & added:
                continue  # a cell hidden for another exposed one this round may be enough
            if (extra := self._nearest_shown(cell)) is not None:
                self.hidden.add(extra)
                added.add(extra)
        return bool(added)

    def _nearest_shown(self, cell: Key) -> Key | None:
        seen, frontier = {cell}, [cell]
        while frontier:
            relations = [rel for c in frontier for rel in self._by_cell.get(c, [])]
            options = [x for rel in relations if (x := self._smallest_shown(rel)) is not None]
            if options:
                return min(options, key=lambda c: (self.values[c], repr(c)))
            frontier = [
                c for rel in relations for c in rel.cells() if c in self.hidden and c not in seen
            ]
            seen.update(frontier)
        return None
