"""Coverage matrices: which candidate sites reach which demand points within a radius.

Pure helpers shared by :mod:`~saferstreets.optimisation.mclp`,
:mod:`~saferstreets.optimisation.rollout` and :mod:`~saferstreets.optimisation.patrols`: arrays
in, a boolean ``scipy.sparse.csr_matrix`` out (rows are demand points, columns candidate sites).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree


def coverage_from_points(
    demand_xy: ArrayLike, candidate_xy: ArrayLike, radius: float
) -> sp.csr_matrix:
    """Boolean (demand x candidate) matrix: True where the straight-line distance is <= ``radius``.

    Coordinates must be projected (metres); use :func:`project_lonlat` for longitude/latitude.
    """
    d = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    c = np.asarray(candidate_xy, dtype=float).reshape(-1, 2)
    if len(d) == 0 or len(c) == 0:
        return sp.csr_matrix((len(d), len(c)), dtype=bool)
    tree = cKDTree(c)
    lists = tree.query_ball_point(d, r=float(radius), return_sorted=False)
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    indptr = np.zeros(len(d) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = (
        np.concatenate([np.asarray(x, dtype=np.int32) for x in lists if len(x)])
        if indptr[-1]
        else np.zeros(0, dtype=np.int32)
    )
    data = np.ones(len(indices), dtype=bool)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(d), len(c)))
    matrix.sort_indices()
    return matrix


def coverage_from_cost_matrix(cost_matrix: ArrayLike | sp.spmatrix, radius: float) -> sp.csr_matrix:
    """Boolean coverage from a (demand x candidate) cost matrix: ``cost <= radius``.

    A sparse cost matrix lists only the pairs that exist; a pair it does not store is unreachable.
    """
    if sp.issparse(cost_matrix):
        coo = sp.coo_matrix(cost_matrix)
        keep = coo.data <= radius
        out = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=bool), (coo.row[keep], coo.col[keep])), shape=coo.shape
        )
    else:
        out = sp.csr_matrix(np.asarray(cost_matrix, dtype=float) <= radius)
    out.sort_indices()
    return out


def project_lonlat(
    lon: ArrayLike, lat: ArrayLike, *, lon0: float | None = None, lat0: float | None = None
) -> np.ndarray:
    """Project longitude/latitude to metres on an azimuthal equidistant plane centred on the data.

    Distances from the centre are exact and elsewhere within 0.1% over a county (tens of km).
    """
    from pyproj import Transformer

    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    lon0 = float(np.mean(lon)) if lon0 is None else lon0
    lat0 = float(np.mean(lat)) if lat0 is None else lat0
    tr = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m", always_xy=True
    )
    x, y = tr.transform(lon, lat)
    return np.column_stack([np.asarray(x), np.asarray(y)])
