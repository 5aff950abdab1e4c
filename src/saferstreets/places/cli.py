"""``saferstreets import places PATH...`` and ``saferstreets places search|describe``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from saferstreets.cli.support import console, open_store, rich_import_progress

app = typer.Typer(
    help="The gazetteer: find places by name or postcode, name a point.", no_args_is_help=True
)


def import_places_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="OS Open Names CSVs, ONSPD CSV, NaPTAN Stops.csv, station lists, landmark "
            "CSV or GeoJSON files, or folders of them."
        ),
    ],
) -> None:
    """Import the files that name places; each place is assigned to its areas."""
    from saferstreets.config import get_settings
    from saferstreets.ingest.cli import print_summaries
    from saferstreets.places.service import import_places

    settings = get_settings()
    engine = open_store(settings)
    with rich_import_progress(console) as progress:
        summaries = import_places(
            engine=engine,
            paths=paths,
            h3_resolution=settings.h3_resolution,
            progress=progress,
        )
    print_summaries(console, summaries, title="Places import")
    skipped: dict[str, int] = {}
    for s in summaries:
        for key in ("terminated", "no_grid_reference", "inactive"):
            skipped[key] = skipped.get(key, 0) + int(s.details.get(key, 0))
    if any(skipped.values()):
        console.print(
            f"Left out on purpose: {skipped['terminated']:,} terminated postcodes, "
            f"{skipped['no_grid_reference']:,} postcodes with no grid reference, "
            f"{skipped['inactive']:,} inactive stops.",
            highlight=False,
        )
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="A name, part of one, or a postcode.")],
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 10,
) -> None:
    """Find places by name (typos forgiven) or by postcode, whole or partial."""
    from saferstreets.db import session_scope
    from saferstreets.places.search import search_places

    with session_scope(open_store()) as session:
        matches = search_places(session=session, text=text, limit=limit)
    if not matches:
        console.print(f"No place matches '{text}'.", markup=False, highlight=False)
        return
    table = Table(title=f"Places matching '{text}'")
    for col in ("name", "what", "lat", "lon", "area"):
        table.add_column(col)
    for m in matches:
        table.add_row(
            m.name, m.detail, f"{m.latitude:.5f}", f"{m.longitude:.5f}", m.area_code or ""
        )
    console.print(table)


@app.command("describe")
def describe(
    lat: Annotated[float, typer.Argument(help="Latitude (WGS84).")],
    lon: Annotated[float, typer.Argument(help="Longitude (WGS84).")],
) -> None:
    """Name a point from the nearest places and its ward."""
    from saferstreets.db import session_scope
    from saferstreets.places.naming import describe_point

    with session_scope(open_store()) as session:
        console.print(describe_point(session=session, lat=lat, lon=lon), highlight=False)
