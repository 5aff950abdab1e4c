"""Real data: Hertfordshire's 2021 police.uk crime, 19 bases over busy H3 cells, against spopt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saferstreets.crime.offences import HARM_WEIGHTS, WOMENS_SAFETY_TYPES
from saferstreets.optimisation.coverage import project_lonlat
from saferstreets.optimisation.mclp import MCLP


@pytest.mark.slow
@pytest.mark.shared_data
def test_herts_2021_placement_is_optimal_and_matches_spopt(shared_data: Path) -> None:
    h3 = pytest.importorskip("h3")
    pl = pytest.importorskip("polars")
    files = sorted((shared_data / "police-uk-hertfordshire-2021" / "street").rglob("*.csv"))
    assert files
    df = pl.concat(
        [
            pl.read_csv(f, columns=["Longitude", "Latitude", "Crime type"], infer_schema_length=0)
            for f in files
        ]
    )
    df = df.drop_nulls(["Longitude", "Latitude"]).with_columns(
        pl.col("Longitude").cast(pl.Float64), pl.col("Latitude").cast(pl.Float64)
    )
    df = df.with_columns(
        pl.Series(
            "cell",
            [
                h3.latlng_to_cell(la, lo, 9)
                for la, lo in zip(df["Latitude"], df["Longitude"], strict=True)
            ],
        )
    )
    busy = df.group_by("cell").len()
    threshold = max(10.0, float(np.quantile(busy["len"].to_numpy(), 0.97)))
    candidates = sorted(busy.filter(pl.col("len") >= threshold)["cell"].to_list())
    demand = (
        df.filter(pl.col("Crime type").is_in(list(WOMENS_SAFETY_TYPES)))
        .with_columns(
            pl.col("Crime type")
            .replace_strict(HARM_WEIGHTS, default=1.0, return_dtype=pl.Float64)
            .alias("h")
        )
        .group_by("cell")
        .agg(pl.col("h").sum())
        .sort("cell")
    )
    w = demand["h"].to_numpy()
    ll = np.array([h3.cell_to_latlng(c) for c in demand["cell"].to_list()])
    cl = np.array([h3.cell_to_latlng(c) for c in candidates])
    lon0, lat0 = float(ll[:, 1].mean()), float(ll[:, 0].mean())
    d = project_lonlat(ll[:, 1], ll[:, 0], lon0=lon0, lat0=lat0)
    c = project_lonlat(cl[:, 1], cl[:, 0], lon0=lon0, lat0=lat0)
    assert len(w) > 3000 and len(candidates) > 100

    ours = MCLP.from_arrays(d, w, c, 800.0, 19).solve(time_limit=60, mip_gap=0.0)
    assert ours.status == "optimal" and ours.gap <= 1e-9
    assert ours.objective >= ours.greedy_objective

    from scipy.spatial.distance import cdist
    from tests.planning.test_mclp import spopt_objective

    assert ours.objective == pytest.approx(spopt_objective(cdist(d, c), w, 800.0, 19), rel=1e-7)
