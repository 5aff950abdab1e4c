"""The strongest-hot-spots table leaves out cells whose Gi* is undefined (z None), which a
run stores where its cells have no variance (a tiny or uniform store): the assessment page and
the report crashed on them ("unsupported format string passed to NoneType")."""

from __future__ import annotations

from types import SimpleNamespace

from saferstreets.publishing.findings import _hotspots


class _Ctx:
    def cells(self, run_id: int) -> list[object]:
        return []

    def cell_names(self, cells: list[str]) -> dict[str, str]:
        return {c: f"near {c[-4:]}" for c in cells}

    def ward_of_cell(self, cell: str) -> str | None:
        return None


def test_cells_with_an_undefined_z_are_not_listed_as_hot_spots() -> None:
    run = SimpleNamespace(
        id=1,
        kind="hotspots_crime",
        summary="",
        result={
            "classes": {},
            "top": [
                {"cell": "89195da49b3ffff", "count": 9, "z": 3.21},
                {"cell": "89195da49a7ffff", "count": 4, "z": None},
            ],
        },
    )
    section = _hotspots(run, _Ctx(), "women's-safety crime")  # type: ignore[arg-type]
    [table] = [t for t in section.tables if t.caption == "The strongest hot spots"]
    assert table.rows == [["near ffff", "9", "3.2"]]
    run.result["top"] = [{"cell": "89195da49a7ffff", "count": 4, "z": None}]
    section = _hotspots(run, _Ctx(), "women's-safety crime")  # type: ignore[arg-type]
    assert not [t for t in section.tables if t.caption == "The strongest hot spots"]
