"""The gazetteer's import: named places from the files forces have.

Import reads each file in its published layout (:mod:`saferstreets.places.layouts`), in batches:
converts British National Grid points, assigns each place to its areas and H3 cell, and stores
it keyed by (source, source id), so a file imported again updates its places instead of adding
them twice. Bad rows go to quarantine with the file, row, field and reason. Search is in
:mod:`saferstreets.places.search`, naming a point in :mod:`saferstreets.places.naming`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.areas.lookup import AreaIndex
from saferstreets.areas.service import point_columns
from saferstreets.db import is_postgres, let_writers_in, refresh_statistics, session_factory
from saferstreets.errors import InputFileError
from saferstreets.ingest.service import (
    MAX_PROBLEMS_SHOWN,
    ImportSteps,
    ImportSummary,
    Problem,
    finish_run,
    quarantine,
    record_failure,
    sha256_bytes,
    start_run,
    to_utf8,
)
from saferstreets.places.layouts import (
    PlaceRow,
    Skipped,
    detect_layout,
    read_layout,
    search_key,
    to_wgs84,
)
from saferstreets.places.models import Place, PlaceWord, region_of, tile_of
from saferstreets.progress import Progress

BATCH = 5_000
KIND = "places"
LAYOUT_NAMES = {
    "os_open_names": "OS Open Names",
    "onspd": "ONS Postcode Directory",
    "naptan": "NaPTAN stops",
    "rail_stations": "railway stations",
    "landmarks_csv": "landmarks (CSV)",
    "landmarks_geojson": "landmarks (GeoJSON)",
}
SOURCES = {  # layout → the source recorded on each place
    "landmarks_csv": "landmarks",
    "landmarks_geojson": "landmarks",
}

# --------------------------------------------------------------------------- import


def _files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(
                p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".geojson", ".json")
            )
        else:
            out.append(path)
    return out


def import_places(
    *,
    engine: Engine,
    paths: Sequence[Path],
    h3_resolution: int,
    progress: Progress | None = None,
) -> list[ImportSummary]:
    """Import gazetteer files (OS Open Names, ONSPD, NaPTAN, stations, landmarks); one summary
    per file. Its places are assigned to areas as they are stored, a batch of ``BATCH`` rows per
    transaction, so a national file never holds SQLite's one write lock for longer than a batch
    (a report posted meanwhile is stored between two). Places are keyed by source and id, so a
    file cut short is completed by importing it again."""
    files = _files(paths)
    steps = ImportSteps(progress)
    steps.begin(files=len(files))
    with session_factory(engine)() as session:
        index = AreaIndex.from_session(session)
    summaries = []
    for path in files:
        source = str(path)
        steps.file_started(source)
        summary = _import_file(engine, path, index, h3_resolution, steps)
        steps.file_done(summary)
        summaries.append(summary)
    stored = sum(s.rows_stored for s in summaries)
    refresh_statistics(engine, {"place": stored, "place_word": stored})
    return summaries


def _import_file(
    engine: Engine,
    path: Path,
    index: AreaIndex,
    resolution: int,
    steps: ImportSteps,
) -> ImportSummary:
    source = str(path)
    summary = ImportSummary(kind=KIND, source=source)
    sha = None
    try:
        data = path.read_bytes()
        sha = sha256_bytes(data)
        text_bytes, notes = to_utf8(data, source)
        text = text_bytes.decode("utf-8")
        layout = detect_layout(text.split("\n", 1)[0], path.name)
        if layout is None:
            raise InputFileError(
                source,
                "is not in a layout the gazetteer knows",
                hint="give OS Open Names, ONSPD or NaPTAN Stops.csv as published, a stations "
                "file, or landmarks with name, kind, lat and lon columns (or GeoJSON points)",
            )
        summary.notes += notes
        summary.details["layout"] = layout
        summary.message = LAYOUT_NAMES[layout]
        with session_factory(engine)() as session:
            run = start_run(session=session, kind=KIND, source=source, sha256=sha)
            rows = read_layout(layout, text.splitlines(keepends=True), source)
            store = _Store(session, SOURCES.get(layout, layout), index, resolution)
            for batch in _batches(rows, BATCH):
                _store_batch(session, run, store, batch, summary)
                session.commit()
                let_writers_in(session)
                steps.rows_done(len(batch))
            finish_run(session=session, run=run, summary=summary)
            session.commit()
    except (InputFileError, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, InputFileError) else str(exc)
        summary = ImportSummary(kind=KIND, source=source, status="failed", message=message)
        with session_factory(engine)() as session:
            record_failure(session=session, kind=KIND, source=source, sha256=sha, message=message)
            session.commit()
    return summary


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Store:
    session: Session
    source: str
    index: AreaIndex
    resolution: int


def _store_batch(
    session: Session, run: Any, store: _Store, batch: list[Any], summary: ImportSummary
) -> None:
    places = [r for r in batch if isinstance(r, PlaceRow)]
    problems = [r for r in batch if isinstance(r, Problem)]
    for skipped in (r for r in batch if isinstance(r, Skipped)):
        summary.details[skipped.why] = summary.details.get(skipped.why, 0) + 1
    summary.rows_read += len(batch)
    if problems:
        summary.rows_quarantined += quarantine(
            session=session, run=run, kind=KIND, problems=problems, skip_known=True
        )
        room = MAX_PROBLEMS_SHOWN - len(summary.problems)
        summary.problems += problems[: max(room, 0)]
    places = list({p.source_id: p for p in places}.values())  # the last of a repeated id wins
    if not places:
        return
    to_wgs84(places)
    held = _held_ids(session, store.source, [p.source_id for p in places])
    summary.rows_duplicate += len(held)
    summary.rows_stored += len(places) - len(held)
    _upsert(session, _place_records(places, store))


def _held_ids(session: Session, source: str, ids: list[str]) -> set[str]:
    return set(
        session.scalars(
            sa.select(Place.source_id).where(Place.source == source, Place.source_id.in_(ids))
        )
    )


def _place_records(places: list[PlaceRow], store: _Store) -> list[dict[str, Any]]:
    lats = np.array([p.lat for p in places], dtype=float)
    lons = np.array([p.lon for p in places], dtype=float)
    columns = point_columns(lats, lons, index=store.index, resolution=store.resolution)
    records = []
    for i, p in enumerate(places):
        record: dict[str, Any] = {
            "source": store.source,
            "source_id": p.source_id[:200],
            "name": p.name[:200],
            "kind": p.kind,
            "search_key": search_key(p.name, p.kind),
            "postcode_key": p.postcode.replace(" ", "") if p.postcode else None,
            "locality": (p.locality or "")[:200] or None,
            "properties": {k: v for k, v in p.properties.items() if v} or None,
            "latitude": p.lat,
            "longitude": p.lon,
        }
        record.update({name: values[i] for name, values in columns.items()})
        record["region"] = region_of(record["h3_cell"])
        record["tile"] = None
        if record["h3_cell"] is not None and p.lat is not None and p.lon is not None:
            record["tile"] = tile_of(p.lat, p.lon)
        records.append(record)
    return records


def _upsert(session: Session, records: list[dict[str, Any]]) -> None:
    """Insert or update by (source, source id), as one executemany (not one huge statement)."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(Place)
    updated = {c: statement.excluded[c] for c in records[0] if c not in ("source", "source_id")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["source", "source_id"], set_=updated),
        records,
    )
    _index_words(session, records[0]["source"], [r["source_id"] for r in records])


def _index_words(session: Session, source: str, source_ids: list[str]) -> None:
    """(Re)write the word index (:class:`PlaceWord`) of these places."""
    rows = session.execute(
        sa.select(Place.id, Place.search_key, Place.region).where(
            Place.source == source, Place.source_id.in_(source_ids)
        )
    ).all()
    ids = [r.id for r in rows]
    session.execute(sa.delete(PlaceWord).where(PlaceWord.place_id.in_(ids)))
    words = [
        {"place_id": r.id, "position": i, "word": w, "region": r.region}
        for r in rows
        for i, w in enumerate(word_suffixes(r.search_key), start=1)
    ]
    if words:
        session.execute(sa.insert(PlaceWord), words)


def word_suffixes(key: str) -> list[str]:
    """The key from each word after the first: "old mill lane" → ["mill lane", "lane"]."""
    parts = key.split(" ")
    return [" ".join(parts[i:]) for i in range(1, len(parts))]


def save_places(
    *, session: Session, source: str, places: Sequence[PlaceRow], h3_resolution: int
) -> int:
    """Store places built in code (the demo county), assigned to areas; return how many."""
    rows = list({p.source_id: p for p in places}.values())
    if not rows:
        return 0
    to_wgs84(rows)
    index = AreaIndex.from_session(session)
    store = _Store(session, source, index, h3_resolution)
    records = _place_records(rows, store)
    for start in range(0, len(records), BATCH):
        _upsert(session, records[start : start + BATCH])
    return len(records)


def count_places(*, session: Session) -> dict[str, int]:
    """How many places the gazetteer holds, by kind."""
    rows = session.execute(sa.select(Place.kind, sa.func.count()).group_by(Place.kind))
    return {kind: int(n) for kind, n in rows}
