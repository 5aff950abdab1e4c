"""Areas: import boundary files, assign points to areas, look areas up by point or by name."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.areas import lookup
from saferstreets.areas.geometry import (
    PARENT_LEVEL,
    BoundaryLayer,
    FieldChoice,
    boundary_files,
    detect_fields,
    display_copy,
    from_geojson_dicts,
    largest_overlap,
    measure,
    read_layer,
    repair,
    to_geojson_dicts,
)
from saferstreets.areas.lookup import AreaIndex, cached_area_index, locate
from saferstreets.areas.models import Area
from saferstreets.config import Settings, get_settings
from saferstreets.db import (
    in_short_transactions,
    is_postgres,
    let_writers_in,
    session_factory,
    session_scope,
)
from saferstreets.errors import InputFileError, NotFound, ValidationFailed
from saferstreets.ingest.models import ImportRun
from saferstreets.ingest.service import (
    MAX_PROBLEMS_SHOWN,
    ImportSummary,
    Problem,
    finish_run,
    quarantine,
    record_failure,
    start_run,
)
from saferstreets.models_common import AREA_LEVELS, LEVEL_COLUMNS, utcnow
from saferstreets.progress import Progress, silent

__all__ = [
    "AreaIndex",
    "AreaMatch",
    "Progress",
    "assign_points",
    "cached_area_index",
    "find_areas_by_name",
    "force_name",
    "import_boundaries",
    "list_areas",
    "locate",
    "located_tables",
    "point_columns",
]


# Rows read, located and written back per transaction: on SQLite few enough (about 0.1 s of
# writing) that a report posted meanwhile waits little for the one write lock.
ASSIGN_CHUNK = {"sqlite": 4_000, "postgresql": 100_000}


def _check_level(level: str, *, what: str = "level") -> str:
    if level not in AREA_LEVELS:
        raise ValidationFailed(
            f"Unknown {what} '{level}'",
            field_errors={what: f"choose one of {', '.join(AREA_LEVELS)}"},
        )
    return level


# -- import ------------------------------------------------------------------------------------


@dataclass
class _Feature:
    source: str
    number: int  # 1-based feature number in its file
    code: str
    name: str
    parent: str | None
    geometry: Any
    properties: dict[str, Any]


def _sha256_files(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _features_of(
    layer: BoundaryLayer, choice: FieldChoice, problems: list[Problem]
) -> tuple[list[_Feature], int]:
    """The layer's usable features (repaired where needed); the others become problems."""
    geoms, repaired, reasons = repair(layer.geometries)
    source = str(layer.path)
    kept: list[_Feature] = []
    for i, props in enumerate(layer.properties):
        number = i + 1
        code = _text(props.get(choice.code))
        name = _text(props.get(choice.name))
        if not code:
            problems.append(Problem(source, number, choice.code, "has no area code", props))
            continue
        if reasons[i] is not None:
            problems.append(Problem(source, number, "geometry", f"{code} {reasons[i]}", props))
            continue
        if not name:
            name = code
        parent = _text(props.get(choice.parent)) if choice.parent else ""
        kept.append(_Feature(source, number, code, name, parent or None, geoms[i], props))
    return kept, int(repaired.sum())


def _merge_duplicates(
    features: list[_Feature], problems: list[Problem]
) -> tuple[list[_Feature], int]:
    """One area per code: parts of the same area (same code and name) are merged into one."""
    import shapely

    by_code: dict[str, list[_Feature]] = {}
    for f in features:
        by_code.setdefault(f.code, []).append(f)
    merged: list[_Feature] = []
    n_merged = 0
    for group in by_code.values():
        first = group[0]
        same = [f for f in group[1:] if f.name == first.name]
        for other in group[1:]:
            if other.name != first.name:
                problems.append(
                    Problem(
                        other.source,
                        other.number,
                        "code",
                        f"code {other.code} is already used by feature {first.number} of "
                        f"{Path(first.source).name} ('{first.name}', not '{other.name}')",
                        other.properties,
                    )
                )
        if same:
            first.geometry = shapely.make_valid(
                shapely.union_all([first.geometry, *(f.geometry for f in same)])
            )
            n_merged += len(same)
        merged.append(first)
    return merged, n_merged


def _area_geometries(session: Session, level: str) -> tuple[list[str], np.ndarray]:
    rows = session.execute(
        sa.select(Area.code, sa.cast(Area.geometry, sa.Text))
        .where(Area.kind == level)
        .order_by(Area.code)
    ).all()
    return [r[0] for r in rows], from_geojson_dicts([r[1] for r in rows])


def _derive_parents(
    session: Session, children: np.ndarray, parent_level: str
) -> tuple[list[str | None], np.ndarray, int]:
    """Parents by largest overlap with ``parent_level``'s stored areas; shares; parent count."""
    codes, parents = _area_geometries(session, parent_level)
    best, share = largest_overlap(children, parents)
    return [codes[b] if b >= 0 else None for b in best], share, len(codes)


def _child_parents(session: Session, level: str) -> dict[str, list[dict[str, Any]]]:
    """After importing ``level``, the parents of levels that nest in it, re-derived by overlay
    (reads and computes only): the rows to write, by child level."""
    changes: dict[str, list[dict[str, Any]]] = {}
    for child, parent in PARENT_LEVEL.items():
        if parent != level:
            continue
        rows = session.execute(
            sa.select(Area.id, sa.cast(Area.geometry, sa.Text)).where(
                Area.kind == child,
                sa.or_(Area.parent_source.is_(None), Area.parent_source == "overlay"),
            )
        ).all()
        if not rows:
            continue
        geoms = from_geojson_dicts([r[1] for r in rows])
        codes, _share, _n = _derive_parents(session, geoms, level)
        changes[child] = [
            {"id": r[0], "parent_code": c, "parent_source": "overlay" if c else None}
            for r, c in zip(rows, codes, strict=True)
        ]
    return changes


def import_boundaries(
    *,
    engine: Engine,
    path: Path | str | Sequence[Path | str],
    level: str,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_level: str | None = None,
    progress: Progress | None = None,
    layer: str | None = None,
    replace: bool = False,
    assign: bool = True,
    settings: Settings | None = None,
) -> ImportSummary:
    """Import a boundary file (or every one in a folder) as ``level`` areas; upsert by code.

    Codes and names are found by ONS convention unless named; parents come from the file's
    parent-code field or else by largest overlap with ``parent_level``'s areas. ``replace``
    also removes this level's areas that the files do not hold. Points are re-assigned after.
    """
    _check_level(level)
    wanted_parent = parent_level if parent_level is not None else PARENT_LEVEL[level]
    if parent_level is not None:
        _check_level(parent_level, what="parent_level")
        if parent_level == level:
            raise ValidationFailed(
                "An area cannot be its own level's parent",
                field_errors={"parent_level": "choose a higher level"},
            )
    kind = f"boundaries_{level}"
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    if len(paths) == 1:
        source = str(paths[0])
    else:
        import os

        source = f"{len(paths)} files in {os.path.commonpath([str(p.parent) for p in paths])}"
    notify = progress or silent

    problems: list[Problem] = []
    features: list[_Feature] = []
    details: dict[str, Any] = {"files": [], "warnings": []}
    rows_read = 0
    repaired = 0
    sha: str | None = None
    try:
        files = [f for p in paths for f in boundary_files(p)]
        sha = _sha256_files(files)
        for n, file in enumerate(files):
            notify("Reading boundary files", n, len(files))
            data = read_layer(file, layer=layer)
            choice = detect_fields(
                data.fields,
                level=level,
                source=file,
                code_field=code_field,
                name_field=name_field,
                parent_level=wanted_parent,
            )
            kept, fixed = _features_of(data, choice, problems)
            features += kept
            repaired += fixed
            rows_read += len(data)
            details["files"].append(
                {
                    "path": str(file),
                    "crs": data.crs,
                    "features": len(data),
                    "fields": asdict(choice),
                }
            )
            details["warnings"] += data.warnings + choice.notes
        notify("Reading boundary files", len(files), len(files))
    except InputFileError as exc:
        with session_scope(engine) as session:
            record_failure(
                session=session, kind=kind, source=source, sha256=sha, message=exc.message
            )
        raise

    features, merged = _merge_duplicates(features, problems)
    summary = ImportSummary(kind=kind, source=source, rows_read=rows_read)
    _store_boundaries(engine, summary, features, problems, wanted_parent, replace, notify,
                      level=level, sha=sha, repaired=repaired, merged=merged,
                      details=details)  # fmt: skip
    if assign and summary.rows_stored:
        assigned = assign_points(engine=engine, progress=progress, settings=settings)
        total = sum(assigned.values())
        if total:
            summary.message = f"{summary.message}; points re-assigned: " + ", ".join(
                f"{t} {n:,}" for t, n in assigned.items() if n
            )
    return summary


def _store_boundaries(
    engine: Engine,
    summary: ImportSummary,
    features: list[_Feature],
    problems: list[Problem],
    parent_level: str | None,
    replace: bool,
    notify: Progress,
    *,
    level: str,
    sha: str | None,
    repaired: int,
    merged: int,
    details: dict[str, Any],
) -> None:
    """Store the read features as ``level`` areas under an import run, filling ``summary``.

    Reads and computes first (measures, GeoJSON, parents: seconds for thousands of areas), then
    writes in short transactions, so SQLite's one write lock is never held for long. A file cut
    short is completed by importing it again (areas are upserted by code)."""
    with session_scope(engine) as session:
        rows, parent_note = _area_rows(session, level, parent_level, features, notify)
    with session_scope(engine) as session:
        run = start_run(session=session, kind=summary.kind, source=summary.source, sha256=sha)
        summary.rows_quarantined = quarantine(
            session=session, run=run, kind=summary.kind, problems=problems
        )
        run_id = run.id
    summary.problems = problems[:MAX_PROBLEMS_SHOWN]
    stored = _write_areas(engine, level, rows, replace)
    with session_scope(engine) as session:
        children = _child_parents(session, level)
    for child_rows in children.values():
        in_short_transactions(engine, _batches(child_rows), _update_areas)
    refreshed = {child: sum(r["parent_code"] is not None for r in got)
                 for child, got in children.items()}  # fmt: skip
    summary.rows_stored = stored["new"] + stored["updated"]
    summary.rows_duplicate = merged
    summary.message = _boundaries_message(stored, repaired, merged, parent_note, refreshed,
                                          details["warnings"])  # fmt: skip
    if summary.rows_stored == 0:
        summary.status = "failed"
        summary.message = "no feature could be kept; " + summary.message
    details.update(stored=stored, repaired=repaired, merged=merged, refreshed=refreshed)
    with session_scope(engine) as session:
        run = session.get_one(ImportRun, run_id)
        finish_run(session=session, run=run, summary=summary)
        run.details = details


def _boundaries_message(
    stored: dict[str, int],
    repaired: int,
    merged: int,
    parent_note: str | None,
    refreshed: dict[str, int],
    warnings: list[str],
) -> str:
    """The import's one-line summary: counts, repairs, merges, parents, warnings."""
    counts = f"{stored['new']:,} new, {stored['updated']:,} updated"
    if stored["removed"]:
        counts += f", {stored['removed']:,} removed"
    parts = [counts]
    if repaired:
        parts.append(f"{repaired:,} invalid geometries repaired")
    if merged:
        parts.append(f"{merged:,} features merged into areas with the same code")
    if parent_note:
        parts.append(parent_note)
    for child, count in refreshed.items():
        parts.append(f"parents of {count:,} {child} areas re-derived")
    return "; ".join([*parts, *warnings])


def _area_rows(
    session: Session,
    level: str,
    parent_level: str | None,
    features: list[_Feature],
    notify: Progress,
) -> tuple[list[dict[str, Any]], str | None]:
    """The features as ``level`` area rows (measured, as GeoJSON, with parents), and a note on
    how parents were set. Reads the store; writes nothing."""
    if not features:
        return [], None
    notify("Measuring areas", 0, len(features))
    geoms = np.asarray([f.geometry for f in features], dtype=object)
    measures = measure(geoms)
    full = to_geojson_dicts(geoms)
    display = to_geojson_dicts(display_copy(geoms))
    parents, sources, note = _parents_of(session, geoms, [f.parent for f in features],
                                         parent_level)  # fmt: skip
    now = utcnow()
    rows = []
    for i, f in enumerate(features):
        b = measures.bounds[i]
        rows.append({
            "code": f.code,
            "name": f.name[:200],
            "kind": level,
            "parent_code": parents[i],
            "parent_source": sources[i],
            "geometry": full[i],
            "display_geometry": display[i],
            "min_lon": float(b[0]),
            "min_lat": float(b[1]),
            "max_lon": float(b[2]),
            "max_lat": float(b[3]),
            "centroid_lon": float(measures.centroids[i, 0]),
            "centroid_lat": float(measures.centroids[i, 1]),
            "area_km2": float(measures.area_km2[i]),
            "properties": f.properties,
            "imported_at": now,
        })  # fmt: skip
    notify("Measuring areas", len(features), len(features))
    return rows, note


def _parents_of(
    session: Session,
    geoms: np.ndarray,
    parents: list[str | None],
    parent_level: str | None,
) -> tuple[list[str | None], list[str | None], str | None]:
    """Each area's parent (from the file, else by largest overlap with ``parent_level``'s
    stored areas), where it came from, and a note on how parents were set."""
    sources: list[str | None] = ["file" if p else None for p in parents]
    if parent_level is None:
        return parents, sources, None
    note = None
    need = np.array([p is None for p in parents], dtype=bool)
    from_file = int((~need).sum())
    if need.any():
        codes, share, n_parents = _derive_parents(session, geoms[need], parent_level)
        for k, j in enumerate(np.flatnonzero(need).tolist()):
            parents[j] = codes[k]
            sources[j] = "overlay" if codes[k] else None
        derived = sum(c is not None for c in codes)
        if n_parents == 0:
            note = (
                f"no {parent_level} areas in the store yet: parents will be derived when "
                f"{parent_level} boundaries are imported"
            )
        else:
            note = f"parents by overlay for {derived:,} of {int(need.sum()):,}"
            if derived < need.sum():
                note += f" ({int(need.sum()) - derived:,} overlap no {parent_level})"
            low = int(np.sum((share > 0) & (share < 0.5)))
            if low:
                note += f", {low:,} less than half inside their parent"
    if from_file:
        note = (note + "; " if note else "") + f"parents from the file for {from_file:,}"
    return parents, sources, note


#: Areas written per statement: a few hundred boundaries (each a large GeoJSON) at a time.
AREA_BATCH = 250


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + AREA_BATCH] for i in range(0, len(rows), AREA_BATCH)]


def _update_areas(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(sa.update(Area), rows)


def _write_areas(
    engine: Engine, level: str, rows: list[dict[str, Any]], replace: bool
) -> dict[str, int]:
    """Upsert the rows as ``level`` areas by code, in short transactions (``replace``: remove
    this level's areas the rows do not hold); how many were new, updated and removed."""
    with session_scope(engine) as session:
        existing = dict(
            session.execute(sa.select(Area.code, Area.id).where(Area.kind == level)).all()
        )
    inserts = [r for r in rows if r["code"] not in existing]
    updates = [{"id": existing[r["code"]], **r} for r in rows if r["code"] in existing]

    def insert(session: Session, batch: list[dict[str, Any]]) -> None:
        session.execute(sa.insert(Area), batch)

    in_short_transactions(engine, _batches(inserts), insert)
    in_short_transactions(engine, _batches(updates), _update_areas)
    stored = {"new": len(inserts), "updated": len(updates), "removed": 0}
    if replace and rows:
        keep = {r["code"] for r in rows}
        stale = [i for c, i in existing.items() if c not in keep]
        with session_scope(engine) as session:
            if stale:
                session.execute(sa.delete(Area).where(Area.id.in_(stale)))
        stored["removed"] = len(stale)
    lookup.forget()  # this process's reports are located by the new areas from now on
    return stored


# -- point assignment --------------------------------------------------------------------------


def located_tables() -> list[str]:
    """Every table of located points (those with lat/lon, an H3 cell and the area-code columns)."""
    import saferstreets.all_models  # noqa: F401 - every table in the metadata
    from saferstreets.db import Base

    needed = {"id", "latitude", "longitude", "h3_cell", *LEVEL_COLUMNS.values()}
    return sorted(
        name for name, table in Base.metadata.tables.items() if needed <= set(table.c.keys())
    )


def h3_cells(lats: np.ndarray, lons: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cells (hex strings) for points; ``None`` where a point is missing or off the globe."""
    import h3.api.basic_int as h3i

    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    out = np.full(len(lats), None, dtype=object)
    ok = np.flatnonzero(
        np.isfinite(lats) & np.isfinite(lons) & (np.abs(lats) <= 90) & (np.abs(lons) <= 180)
    )
    # h3 v4 has no array form of latlng_to_cell; the C call per point is about 1 µs.
    to_cell = h3i.latlng_to_cell
    out[ok] = [
        format(to_cell(a, b, resolution), "x")
        for a, b in zip(lats[ok].tolist(), lons[ok].tolist(), strict=True)
    ]
    return out


def point_columns(
    lats: Any, lons: Any, *, index: AreaIndex | None, resolution: int
) -> dict[str, np.ndarray]:
    """The :class:`~saferstreets.models_common.Located` columns for points: ``h3_cell`` and the
    code at each area level (``None`` where a point is missing or in no area).

    Each distinct point is looked up once. police.uk snaps every crime to one of a fixed set of
    anonymised map points, so a force's year of crimes falls on far fewer points than rows.
    With no ``index`` (no boundaries imported) only the H3 cells are filled.
    """
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    names = ["h3_cell", *LEVEL_COLUMNS.values()]
    columns = {name: np.full(len(lats), None, dtype=object) for name in names}
    ok = np.flatnonzero(np.isfinite(lats) & np.isfinite(lons))
    if not len(ok):
        return columns
    unique, inverse = np.unique(np.column_stack([lats[ok], lons[ok]]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ulat = np.ascontiguousarray(unique[:, 0])
    ulon = np.ascontiguousarray(unique[:, 1])
    columns["h3_cell"][ok] = h3_cells(ulat, ulon, resolution)[inverse]
    if index is not None:
        for level, column in LEVEL_COLUMNS.items():
            columns[column][ok] = index.lookup(level, ulon, ulat)[inverse]
    return columns


def assign_points(
    *,
    engine: Engine,
    tables: Sequence[str] | None = None,
    only_missing: bool = False,
    progress: Progress | None = None,
    h3_resolution: int | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Fill the area codes and H3 cell of located rows; return rows assigned per table.

    Rows without coordinates are left alone (a report may name its area without a point).
    ``only_missing`` takes only rows never assigned (no H3 cell yet), e.g. after an import.
    The H3 resolution is ``h3_resolution``, else ``settings.h3_resolution`` (the process's
    settings when none are given).
    """
    known = located_tables()
    chosen = list(known if tables is None else tables)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise ValidationFailed(
            f"Not a table of located points: {', '.join(unknown)}",
            field_errors={"tables": f"choose from {', '.join(known)}"},
        )
    if h3_resolution is None:
        h3_resolution = (settings or get_settings()).h3_resolution
    with session_factory(engine)() as session:
        index = AreaIndex.from_session(session, levels=list(LEVEL_COLUMNS))
    notify = progress or silent
    return {
        table: _assign_table(engine, table, index, only_missing, h3_resolution, notify)
        for table in chosen
    }


def _assign_table(
    engine: Engine,
    table_name: str,
    index: AreaIndex,
    only_missing: bool,
    resolution: int,
    notify: Progress,
) -> int:
    from saferstreets.db import Base

    table = Base.metadata.tables[table_name]
    cond = sa.and_(table.c.latitude.is_not(None), table.c.longitude.is_not(None))
    if only_missing:
        cond = sa.and_(cond, table.c.h3_cell.is_(None))
    with engine.connect() as conn:
        total = int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(cond)) or 0)
    what = f"Assigning {table_name} to areas"
    notify(what, 0, total)
    done = 0
    last_id = 0
    postgres = is_postgres(engine)
    chunk = ASSIGN_CHUNK["postgresql" if postgres else "sqlite"]
    while done < total:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(table.c.id, table.c.latitude, table.c.longitude)
                .where(cond, table.c.id > last_id)
                .order_by(table.c.id)
                .limit(chunk)
            ).all()
            if not rows:
                break
            id_col, lat_col, lon_col = zip(*rows, strict=True)
            ids = np.array(id_col, dtype=np.int64)
            lats = np.array(lat_col, dtype=float)
            lons = np.array(lon_col, dtype=float)
            columns = point_columns(lats, lons, index=index, resolution=resolution)
            with _recounted(conn, table_name, ids.tolist()):
                if postgres:
                    _write_postgres(conn, table_name, ids, columns)
                else:
                    _write_sqlite(conn, table_name, ids, columns)
        last_id = int(ids[-1])
        done += len(ids)
        notify(what, done, total)
        let_writers_in(engine)
    return done


def _recounted(conn: sa.Connection, table_name: str, ids: list[int]) -> Any:
    """Reports change ward, district and cell: the workspace's tally follows in the same
    transaction (``reports.tally``); other located tables are not tallied."""
    from saferstreets.reports import tally

    return tally.recounted(conn, ids) if table_name == "report" else contextlib.nullcontext()


def _write_sqlite(
    conn: sa.Connection, table: str, ids: np.ndarray, columns: dict[str, np.ndarray]
) -> None:
    # Table and column names come from the models' metadata, never from input. executemany of
    # UPDATE by primary key measured as fast as a temp table + UPDATE ... FROM (index upkeep
    # dominates): about 25 µs a row with the area indexes.
    names = list(columns)
    assignments = ", ".join(f"{c} = ?" for c in names)
    sql = f'UPDATE "{table}" SET {assignments} WHERE id = ?'  # noqa: S608
    params = list(zip(*(columns[c].tolist() for c in names), ids.tolist(), strict=True))
    conn.exec_driver_sql(sql, params)


def _write_postgres(
    conn: sa.Connection, table: str, ids: np.ndarray, columns: dict[str, np.ndarray]
) -> None:
    names = list(columns)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE _assign (id bigint PRIMARY KEY, "
        + ", ".join(f"{c} text" for c in names)
        + ") ON COMMIT DROP"
    )
    raw: Any = conn.connection.driver_connection  # psycopg 3 connection
    values = [columns[c].tolist() for c in names]
    with raw.cursor() as cur, cur.copy(f"COPY _assign (id, {', '.join(names)}) FROM STDIN") as copy:
        for row in zip(ids.tolist(), *values, strict=True):
            copy.write_row(row)
    conn.exec_driver_sql(
        f'UPDATE "{table}" AS t SET '  # noqa: S608 - names from the models' metadata
        + ", ".join(f"{c} = a.{c}" for c in names)
        + " FROM _assign AS a WHERE t.id = a.id"
    )
    conn.exec_driver_sql("DROP TABLE _assign")


# -- reading -----------------------------------------------------------------------------------


@dataclass
class AreaMatch:
    """One area found by name."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    parent_name: str | None
    latitude: float
    longitude: float
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Order in which kinds are offered when several areas match a search.
_SEARCH_RANK = {"town_centre": 0, "ward": 1, "district": 2, "lsoa": 3, "force": 4}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_areas_by_name(*, session: Session, text: str, limit: int = 10) -> list[AreaMatch]:
    """Areas whose name contains ``text`` (case-insensitive): exact, then prefix, then the rest."""
    needle = " ".join(str(text).split()).lower()[:100]
    if len(needle) < 2:
        return []
    limit = max(1, min(int(limit), 50))
    lowered = sa.func.lower(Area.name)
    rank_match = sa.case(
        (lowered == needle, 0), (lowered.like(_escape_like(needle) + "%", escape="\\"), 1), else_=2
    )
    rank_kind = sa.case(*((Area.kind == k, r) for k, r in _SEARCH_RANK.items()), else_=9)
    rows = session.execute(
        sa.select(
            Area.code,
            Area.name,
            Area.kind,
            Area.parent_code,
            Area.centroid_lat,
            Area.centroid_lon,
            Area.min_lon,
            Area.min_lat,
            Area.max_lon,
            Area.max_lat,
        )
        .where(lowered.like("%" + _escape_like(needle) + "%", escape="\\"))
        .order_by(rank_match, rank_kind, sa.func.length(Area.name), Area.name, Area.code)
        .limit(limit)
    ).all()
    parent_codes = {r.parent_code for r in rows if r.parent_code}
    parent_names: dict[tuple[str, str], str] = {}
    if parent_codes:
        for kind, code, name in session.execute(
            sa.select(Area.kind, Area.code, Area.name).where(Area.code.in_(parent_codes))
        ):
            parent_names[(kind, code)] = name
    return [
        AreaMatch(
            code=r.code,
            name=r.name,
            kind=r.kind,
            parent_code=r.parent_code,
            parent_name=parent_names.get((PARENT_LEVEL.get(r.kind) or "", r.parent_code or "")),
            latitude=r.centroid_lat,
            longitude=r.centroid_lon,
            bbox=(r.min_lon, r.min_lat, r.max_lon, r.max_lat),
        )
        for r in rows
    ]


def list_areas(
    *, session: Session, kind: str, parent: str | None = None, display: bool = False
) -> list[Area]:
    """Areas of one kind (optionally within one parent), by name; unknown kinds are a 404.

    The full geometry is not loaded; ``display`` loads the simplified one for maps.
    """
    if kind not in AREA_LEVELS:
        raise NotFound(
            f"There is no kind of area called '{kind}'. Kinds: {', '.join(AREA_LEVELS)}."
        )
    deferred = [sa.orm.defer(Area.geometry)]
    if not display:
        deferred.append(sa.orm.defer(Area.display_geometry))
    query = sa.select(Area).options(*deferred).where(Area.kind == kind)
    if parent:
        query = query.where(Area.parent_code == parent)
    return list(session.scalars(query.order_by(Area.name, Area.code)))


def force_name(*, session: Session, settings: Settings) -> str:
    """The force's name as pages and reports show it: the ``force_name`` setting where one is
    configured, else the name of the stored force boundary, else the setting's default."""
    if "force_name" in settings.model_fields_set:
        return settings.force_name
    stored = session.scalar(
        sa.select(Area.name).where(Area.kind == "force").order_by(Area.id).limit(1)
    )
    return stored or settings.force_name


def boundaries_version(*, session: Session, kind: str, parent: str | None = None) -> str:
    """A short fingerprint of one kind's areas (for ETags)."""
    query = sa.select(
        sa.func.count(Area.id), sa.func.max(Area.id), sa.func.max(Area.imported_at)
    ).where(Area.kind == kind)
    row = session.execute(query).one()
    text = f"{kind}|{parent}|{row[0]}|{row[1]}|{row[2]}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]
