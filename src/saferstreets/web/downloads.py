"""Downloads the web serves: CSV and XLSX made safe by :mod:`saferstreets.exports`, and GeoJSON."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from saferstreets.exports import csv_text, safe_cell


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download (UTF-8 with BOM so that Excel reads the encoding right)."""
    return Response(
        "\ufeff" + csv_text(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "data"
) -> Response:
    """An XLSX download: every text cell made safe as in the CSV and stored as a string, never
    a formula (openpyxl would otherwise write a cell starting ``=`` as one)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])

    def cells(values: Sequence[Any]) -> list[Any]:
        out = []
        for value in values:
            value = "" if value is None else safe_cell(value)
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            out.append(cell)
        return out

    ws.append(cells(list(header)))
    for row in rows:
        ws.append(cells(list(row)))
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def geojson_response(filename: str, collection: dict[str, Any]) -> Response:
    """A GeoJSON download (the caller makes its text properties safe)."""
    return Response(
        json.dumps(collection, separators=(",", ":")),
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
