"""``saferstreets import boundaries`` and ``saferstreets areas assign``/``find``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store, rich_progress
from saferstreets.models_common import AREA_LEVELS

app = typer.Typer(help="Areas: assign points to areas, find areas by name.", no_args_is_help=True)


def import_boundaries_command(
    path: Annotated[
        list[Path],
        typer.Argument(
            help="GeoJSON, GeoPackage or Shapefile files, or folders of them (one level's "
            "areas, e.g. the ward files of several districts)."
        ),
    ],
    level: Annotated[str, typer.Option(help=f"Which areas these are: {', '.join(AREA_LEVELS)}.")],
    code_field: Annotated[
        str | None,
        typer.Option(help="Field holding the area code (found by ONS convention if not given)."),
    ] = None,
    name_field: Annotated[str | None, typer.Option(help="Field holding the area name.")] = None,
    parent_level: Annotated[
        str | None,
        typer.Option(
            help="Level of the parents (default: district for wards, LSOAs and town "
            "centres; force for districts)."
        ),
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="Layer to read from a GeoPackage with several.")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Also remove this level's areas that the file does not hold."
        ),
    ] = False,
) -> None:
    """Import boundaries (EPSG:4326 or British National Grid), then re-assign all points."""
    from saferstreets.areas.service import import_boundaries
    from saferstreets.config import get_settings

    settings = get_settings()
    engine = open_store(settings)
    with rich_progress(console) as progress:
        summary = import_boundaries(
            settings=settings,
            engine=engine,
            path=path,
            level=level,
            code_field=code_field,
            name_field=name_field,
            parent_level=parent_level,
            progress=progress,
            layer=layer,
            replace=replace,
        )
    console.print(summary.line(), highlight=False)
    for problem in summary.problems:
        console.print(f"  quarantined: {problem}", highlight=False, markup=False)
    if summary.status == "failed":
        raise typer.Exit(1)


def import_lsoa_lookup_command(
    path: Annotated[
        Path,
        typer.Argument(help="The ONS LSOA (2011) to LSOA (2021) lookup CSV (LSOA11CD, LSOA21CD…)."),
    ],
) -> None:
    """Import the ONS LSOA 2011 to 2021 lookup (replacing the one held) and give every crime
    the 2021 code of police.uk's 2011 LSOA."""
    from saferstreets.areas.lsoa_lookup import import_lsoa_lookup
    from saferstreets.db import committing, session_scope

    with session_scope(open_store()) as session:  # committed in batches: the form stays open
        summary = import_lsoa_lookup(session=session, path=path, settle=committing(session))
    console.print(summary.line(), highlight=False)
    for problem in summary.problems:
        console.print(f"  quarantined: {problem}", highlight=False, markup=False)
    d = summary.details
    console.print(
        f"Crimes with police.uk's 2011 LSOA code: {d['crimes_with_lsoa']:,}; "
        f"{d['lsoa_differs_2021']:,} differ from their 2021 code, "
        f"{d['lsoa_split_2021']:,} split over several 2021 LSOAs.",
        highlight=False,
    )


@app.command("assign")
def assign_cmd(
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Only this table (repeatable).")
    ] = None,
    only_missing: Annotated[
        bool, typer.Option("--only-missing", help="Only rows not yet assigned.")
    ] = False,
) -> None:
    """Assign every located record (crime, reports, survey answers) to areas and H3 cells."""
    from saferstreets.areas.service import assign_points
    from saferstreets.config import get_settings

    settings = get_settings()
    engine = open_store(settings)
    with rich_progress(console) as progress:
        counts = assign_points(
            engine=engine,
            tables=table or None,
            only_missing=only_missing,
            progress=progress,
            settings=settings,
        )
    for name, count in counts.items():
        console.print(f"{name}: {count:,} rows assigned", highlight=False)


@app.command("find")
def find_cmd(
    text: Annotated[str, typer.Argument(help="Part of an area's name.")],
    limit: Annotated[int, typer.Option(help="At most this many.")] = 10,
) -> None:
    """Find areas by name (wards, town centres, districts, LSOAs)."""
    from saferstreets.areas.service import find_areas_by_name
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        matches = find_areas_by_name(session=session, text=text, limit=limit)
    if not matches:
        console.print(f"No area's name contains '{text}'.", highlight=False)
    for m in matches:
        within = f" in {m.parent_name}" if m.parent_name else ""
        console.print(f"{m.kind:<12} {m.code:<12} {m.name}{within}", highlight=False)
