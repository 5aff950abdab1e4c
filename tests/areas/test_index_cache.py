"""The area index a report is located by: asked of the store at most once in its freshness
window, and forgotten at once when this process imports boundaries."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from tests.areas.areas_testfiles import EAST, WEST, write

from saferstreets.areas.lookup import cached_area_index
from saferstreets.areas.service import import_boundaries
from saferstreets.db import session_factory


def _wards(tmp_path: Path, name: str, codes: list[str], shapes: list) -> Path:  # type: ignore[type-arg]
    rows = [{"WD21CD": code, "WD21NM": code} for code in codes]
    return write(tmp_path / name, rows, shapes, crs="EPSG:27700")


def test_the_index_is_asked_for_once_a_window_and_forgotten_on_import(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_boundaries(engine=engine, path=_wards(tmp_path, "one.geojson", ["W1"], [WEST]),
                      level="ward", assign=False)  # fmt: skip
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with session_factory(engine)() as session:
        first = cached_area_index(session=session, fresh_within=3600)
        asked = len(statements)
        assert asked >= 1 and first.size("ward") == 1
        # within the window: the same index, and nothing sent to the store
        assert cached_area_index(session=session, fresh_within=3600) is first
        assert len(statements) == asked
        # no window (the default): the store is asked each time
        assert cached_area_index(session=session) is first
        assert len(statements) == asked + 1
    # an import in this process: the next report sees the new ward, window or not
    two = _wards(tmp_path, "two.geojson", ["W1", "W2"], [WEST, EAST])
    import_boundaries(engine=engine, path=two, level="ward", assign=False)
    with session_factory(engine)() as session:
        assert cached_area_index(session=session, fresh_within=3600).size("ward") == 2
