"""Zip archives from outside (police.uk downloads, XLSX workbooks): what is safe to open.

Pure: a zip's directory in, an ``InputFileError`` out when it is hostile, before a byte is
unpacked.

- **Zip bombs.** A member that unpacks to more than ``MAX_RATIO`` times its packed size, once
  past ``RATIO_FROM`` bytes, is refused: deflated CSV and XML of real data packs 5 to 20 to one
  (police.uk's street files about 6, survey workbooks about 10); a bomb packs a thousand to one.
  ``zipfile`` never unpacks more than a member's declared size, so the declared sizes bound what
  is read.
- **Path traversal.** Member names are never used as paths on disk here; a name that would lead
  outside the archive (absolute, ``..``, a drive, a NUL) is still refused, as a sign of a
  hostile file.
- **XLSX extent bombs.** calamine (fastexcel) builds a dense grid from the first to the last cell
  used: two cells, ``A1`` and ``XFD1048576``, ask for 17 billion cells and abort the process.
  :func:`check_xlsx` reads each sheet's cell references (and its ``dimension``) first and refuses
  a sheet of more than ``MAX_XLSX_CELLS`` cells.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from saferstreets.errors import InputFileError

__all__ = [
    "MAX_RATIO",
    "MAX_XLSX_CELLS",
    "MAX_XLSX_UNPACKED",
    "ZIP_ERRORS",
    "check_member",
    "check_xlsx",
    "unsafe_name",
]

MAX_RATIO = 100
RATIO_FROM = 16 << 20  # smaller members cannot do harm whatever their ratio
MAX_XLSX_UNPACKED = 512 << 20  # a survey workbook's XML, all parts together
MAX_XLSX_CELLS = 25_000_000  # e.g. 100,000 responses x 250 columns
_CHUNK = 1 << 20
#: what ``zipfile`` raises on a damaged or unusual archive (a bad CRC, a cut stream, a zip
#: version or compression method it does not support)
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    OSError,
    EOFError,
    RuntimeError,
    ValueError,
)
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\b[^>]*?\bref="(?:[A-Z]+[0-9]+:)?([A-Z]{1,3})([0-9]{1,7})"'
)


def unsafe_name(name: str) -> bool:
    """Whether a member's name leads outside the archive (or holds a NUL)."""
    normal = name.replace("\\", "/")
    return (
        "\x00" in name
        or normal.startswith("/")
        or bool(re.match(r"^[A-Za-z]:", normal))
        or ".." in normal.split("/")
    )


def check_member(info: zipfile.ZipInfo, source: str) -> None:
    """Refuse a member that unpacks out of all proportion to its packed size (a zip bomb)."""
    packed = max(info.compress_size, 1)
    if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * packed:
        raise InputFileError(
            source,
            f"unpacks to {info.file_size:,} bytes from {info.compress_size:,}: more than "
            f"{MAX_RATIO} times its packed size, as a zip bomb does; it was not read",
            hint="unpack it yourself and check it, or download the original again",
        )


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number


def _sheet_extent(zf: zipfile.ZipFile, name: str) -> tuple[int, int]:
    """The last row and column any cell of this sheet (or its dimension) names."""
    rows = cols = 0
    tail = b""
    try:
        with zf.open(name) as member:
            while chunk := member.read(_CHUNK):
                text = tail + chunk
                for pattern in (_CELL_REF, _DIMENSION):
                    for match in pattern.finditer(text):
                        cols = max(cols, _column_number(match[1]))
                        rows = max(rows, int(match[2]))
                tail = text[-256:]  # a reference cut by the chunk's end is read with the next
    except ZIP_ERRORS:
        pass  # damaged (a bad CRC is found at the end): the extent read so far still counts
    return rows, cols


def check_xlsx(path: Path | str, data: bytes) -> None:
    """Refuse a workbook that is a zip bomb or whose sheets span too many cells.

    A file that is not a zip at all is left for the reader to refuse in its own words.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS:
        return
    with zf:
        infos = zf.infolist()
        for info in infos:
            if unsafe_name(info.filename):
                raise InputFileError(
                    path, f"holds a part named {info.filename[:80]!r}: not a real workbook"
                )
            check_member(info, f"{path}!{info.filename}")
        unpacked = sum(info.file_size for info in infos)
        if unpacked > MAX_XLSX_UNPACKED:
            raise InputFileError(
                path,
                f"unpacks to {unpacked:,} bytes, more than the {MAX_XLSX_UNPACKED:,} a survey "
                "workbook may; it was not read",
                hint="export the responses as CSV instead",
            )
        for info in infos:
            if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", info.filename):
                continue
            rows, cols = _sheet_extent(zf, info.filename)
            if rows * cols > MAX_XLSX_CELLS:
                raise InputFileError(
                    path,
                    f"has a sheet spanning {rows:,} rows by {cols:,} columns "
                    f"({rows * cols:,} cells, more than {MAX_XLSX_CELLS:,}); it was not read",
                    hint="delete the empty rows and columns after the data, or export as CSV",
                )
