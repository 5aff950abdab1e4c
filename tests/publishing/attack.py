"""The differencing attack on everything public: fetch every public output, write down every
additive relation among its figures, and solve for each hidden figure by linear programming.

The attacker is made strong on purpose: besides every public page, JSON, CSV and map, she knows
which figures are non-zero (where reports lie: which wards, map cells and themes hold any), so
each hidden figure is at least 1. A hidden figure is exposed if a relation holds it alone, or if
the linear programme leaves it less than one whole number of room. Remainders that are never
published (reports in no ward, reports with no place on the map) are unknowns too, and exposed
only when under 10: that 12 reports have no place on the map is no one's secret.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import sqlalchemy as sa
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

from saferstreets.db import session_scope
from saferstreets.publishing.service import report_themes
from saferstreets.reports.models import Report

RES = 7
K = 10
STRUCTURAL = ("~n", "~t", "~c", "c0")


@dataclass
class Published:
    """Every figure the public can see: key -> value (None when shown as suppressed)."""

    figures: dict[tuple[Any, ...], int | None] = field(default_factory=dict)
    wards: dict[str, str | None] = field(default_factory=dict)  # ward -> district
    districts: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def see(self, key: tuple[Any, ...], value: int | None, where: str) -> None:
        if key in self.figures and self.figures[key] != value:
            self.conflicts.append(f"{key}: {self.figures[key]} and {value} ({where})")
        if value is not None or key not in self.figures:
            self.figures[key] = value


def _int(text: str) -> int | None:
    return int(text) if text not in ("", None) else None


def fetch(client: Any) -> Published:
    """Every public output of the app, as anyone can fetch it."""
    pub = Published()
    for kind in ("district", "ward"):
        for a in client.get(f"/api/areas.json?kind={kind}").json()["areas"]:
            if kind == "district":
                pub.districts.append(a["code"])
            else:
                pub.wards[a["code"]] = a["parent_code"]
    pub.wards = {w: (d if d in pub.districts else None) for w, d in pub.wards.items()}
    for code in [*pub.districts, *pub.wards]:
        data = client.get(f"/areas/{code}.json").json()
        pub.see(("n", code), data["reports"]["value"], f"/areas/{code}.json")
        for t in data["themes"]:
            pub.see(("t", code, t["code"]), t["reports"]["value"], f"/areas/{code}.json")
        for w in data["wards"]:
            pub.see(("n", w["code"]), w["reports"]["value"], f"/areas/{code}.json wards")
        area_csv = client.get(f"/areas/{code}.csv").text.lstrip("\ufeff")
        for row in csv.DictReader(io.StringIO(area_csv)):
            key = ("n", code) if row["theme_code"] == "all" else ("t", code, row["theme_code"])
            pub.see(key, _int(row["reports"]), f"/areas/{code}.csv")
        geo = client.get(f"/api/public/areas/{code}/cells.geojson").json()
        for f in geo["features"]:
            ring = f["geometry"]["coordinates"][0][:-1]
            lat = sum(p[1] for p in ring) / len(ring)
            lon = sum(p[0] for p in ring) / len(ring)
            pub.see(("c", code, h3.latlng_to_cell(lat, lon, RES)), f["properties"]["count"], "map")
    text = client.get("/open-data/you-said-we-did.csv").text.lstrip("\ufeff")
    for row in csv.DictReader(io.StringIO(text)):
        code = row["area_code"]
        key = ("n", code) if row["theme_code"] == "all" else ("t", code, row["theme_code"])
        pub.see(key, _int(row["reports"]), "open data")
    index = client.get("/areas").text
    assert "/open-data/you-said-we-did.csv" in index  # the index links the open data
    return pub


def truth(engine: Any, pub: Published) -> Counter[tuple[Any, ...]]:
    """What the store holds, arranged as the attacker's unknowns (her knowledge of the support)."""
    values: Counter[tuple[Any, ...]] = Counter()
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(Report.id, Report.ward_code, Report.district_code, Report.h3_cell)
        ).all()
        themes = report_themes(session=session, report_ids=[r.id for r in rows])
    for r in rows:
        if r.ward_code in pub.wards:
            district = pub.wards[r.ward_code]
            areas = [(r.ward_code, "")] + ([(district, "")] if district else [])
        elif r.district_code in pub.districts:
            areas = [(r.district_code, ""), (r.district_code, "~")]
        else:
            continue
        cell = h3.cell_to_parent(r.h3_cell, RES) if r.h3_cell else None
        for area, prefix in areas:
            values[(prefix + "n", area)] += 1
            for t in themes.get(r.id, ()):
                values[(prefix + "t", area, t)] += 1
            if cell:
                values[(prefix + "c", area, cell)] += 1
            elif not prefix:
                values[("c0", area)] += 1
    return values


def relations(pub: Published, values: Counter[tuple[Any, ...]]) -> list[tuple[tuple, list[tuple]]]:
    """Every additive relation among the public figures (total, parts)."""
    out = []
    children = {d: sorted(w for w, p in pub.wards.items() if p == d) for d in pub.districts}
    keys = set(values) | set(pub.figures)
    for d, wards in children.items():
        out.append((("n", d), [("n", w) for w in wards] + [("~n", d)]))
        for key in [k for k in keys if k[0] in ("t", "c") and k[1] == d]:
            out.append((key, [(key[0], w, key[2]) for w in wards] + [("~" + key[0], d, key[2])]))
    for area in [*pub.districts, *pub.wards]:
        cells = [k for k in keys if k[0] == "c" and k[1] == area]
        out.append((("n", area), [*cells, ("c0", area)]))
    return out


def at_most(pub: Published, values: Counter[tuple[Any, ...]]) -> list[tuple[tuple, tuple]]:
    keys = set(values) | set(pub.figures)
    return [(k, ("n", k[1])) for k in keys if k[0] == "t"]


@dataclass
class Exposure:
    key: tuple[Any, ...]
    why: str


def attack(pub: Published, values: Counter[tuple[Any, ...]]) -> tuple[list[Exposure], int]:
    """Every hidden non-zero figure that a relation or the linear programme gives away."""
    rels = relations(pub, values)
    cells = {k for rel in rels for k in [rel[0], *rel[1]]}
    hidden = sorted((k for k in cells if values.get(k, 0) and pub.figures.get(k) is None), key=repr)
    exposed = []

    def protected(k: tuple) -> bool:
        return not (k[0] in STRUCTURAL and values[k] >= K)

    for total, parts in rels:
        inside = [k for k in [total, *parts] if k in hidden]
        if len(inside) == 1 and protected(inside[0]):
            exposed.append(Exposure(inside[0], f"alone in {total} = sum of {len(parts)} parts"))
    index = {k: i for i, k in enumerate(hidden)}

    def known(k: tuple) -> float:
        shown = pub.figures.get(k)
        return float(shown if shown is not None else 0)

    eq_rows, eq_rhs = [], []
    for total, parts in rels:
        row: dict[int, float] = {}
        rhs = 0.0
        for k, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if k in index:
                row[index[k]] = row.get(index[k], 0.0) + sign
            else:
                rhs -= sign * known(k)
        if row:
            eq_rows.append(row)
            eq_rhs.append(rhs)
    ub_rows, ub_rhs = [], []
    for part, whole in at_most(pub, values):
        row = {}
        rhs = 0.0
        for k, sign in ((part, 1.0), (whole, -1.0)):
            if k in index:
                row[index[k]] = row.get(index[k], 0.0) + sign
            else:
                rhs -= sign * known(k)
        if row:
            ub_rows.append(row)
            ub_rhs.append(rhs)
    n = len(hidden)

    def matrix(rows: list[dict[int, float]]) -> Any:
        m = lil_matrix((len(rows), n))
        for i, row in enumerate(rows):
            for j, v in row.items():
                m[i, j] = v
        return m.tocsr()

    a_eq, a_ub = matrix(eq_rows), matrix(ub_rows)
    for key, i in index.items():
        if not protected(key):
            continue
        ends = []
        for sense in (1.0, -1.0):
            c = np.zeros(n)
            c[i] = sense
            res = linprog(
                c,
                A_eq=a_eq if eq_rows else None,
                b_eq=eq_rhs or None,
                A_ub=a_ub if ub_rows else None,
                b_ub=ub_rhs or None,
                bounds=(1, None),
                method="highs",
            )
            assert res.status in (0, 3), res.message  # optimal or unbounded, never infeasible
            ends.append(sense * res.fun if res.status == 0 else (np.inf if sense < 0 else -np.inf))
        if ends[1] - ends[0] < 1 - 1e-6 and protected(key):
            exposed.append(Exposure(key, f"worked out as {ends[0]:g} to {ends[1]:g}"))
    return exposed, n
