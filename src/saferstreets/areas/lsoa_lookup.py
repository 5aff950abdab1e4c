"""LSOAs of both vintages: the ONS LSOA (2011) to LSOA (2021) lookup, and each crime's 2021 code.

police.uk names each crime's LSOA by its **2011** code; boundaries a force imports may be
**2021**. The ONS publishes the lookup between them ("LSOA (2011) to LSOA (2021) to Local
Authority District (2022) Lookup for England and Wales", a CSV with the columns ``LSOA11CD,
LSOA11NM, LSOA21CD, LSOA21NM, CHGIND, LAD22CD, LAD22NM, LAD22NMW, ObjectId``). ``CHGIND`` says how
each 2011 LSOA changed: ``U`` not at all, ``S`` split into two or more 2021 LSOAs (one row each),
``M`` merged with others into one 2021 LSOA, ``X`` redrawn irregularly. A file without
``CHGIND`` (the "best fit" lookup) is read too; the change is then worked out from the pairs.

:func:`import_lsoa_lookup` replaces the lookup held with the file's good rows (bad ones are
quarantined, naming file, row and field) and gives every crime its 2021 code
(``crime.source_lsoa21_code``) where its 2011 code maps to exactly one 2021 LSOA; a split 2011
LSOA has no single successor, so those crimes keep none (their point still places them in the
2021 LSOA when 2021 boundaries are imported: ``crime.lsoa_code``). Crimes imported later get
their 2021 code as they are stored (:func:`fill_crime_lsoa21`).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.areas.models import LsoaLookup
from saferstreets.errors import InputFileError
from saferstreets.ingest.records import ImportSummary, Problem, sha256_bytes, to_utf8

KIND = "lsoa_lookup"
REQUIRED = ("LSOA11CD", "LSOA21CD")
CHANGES = {"U": "unchanged", "S": "split", "M": "merged", "X": "redrawn"}
LSOA_CODE = re.compile(r"^[EW]01\d{6}$")


def _columns(header: list[str], source: str) -> dict[str, int]:
    """Where each column we read is (case and spaces ignored); a required one missing is fatal."""
    at = {h.strip().upper(): i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in at]
    if missing:
        raise InputFileError(
            source,
            f"is not the ONS LSOA 2011 to 2021 lookup: no {' or '.join(missing)} column "
            f"(row 1 has {', '.join(repr(h) for h in header[:6])})",
            hint="download 'LSOA (2011) to LSOA (2021) to LAD (2022) Lookup' from the ONS",
        )
    found: dict[str, int] = {
        name: at[name]
        for name in ("LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "CHGIND")
        if name in at
    }
    for suffix in ("CD", "NM"):  # the district columns change name by year: LAD22CD, LAD23CD...
        lad = sorted(h for h in at if re.fullmatch(rf"LAD\d\d{suffix}", h))
        if lad:
            found[f"LAD{suffix}"] = at[lad[-1]]
    return found


def _check(
    row: dict[str, str], line: int, source: str, seen: dict[tuple[str, str], int]
) -> Problem | None:
    for name in REQUIRED:
        value = row.get(name, "")
        if not LSOA_CODE.match(value):
            shown = repr(value[:20]) if value else "empty"
            return Problem(source, line, name, f"{shown} is not an LSOA code (E01… or W01…)", row)
    change = row.get("CHGIND")
    if change is not None and change not in CHANGES:
        return Problem(source, line, "CHGIND", f"'{change[:10]}' is not one of U, S, M, X", row)
    pair = (row["LSOA11CD"], row["LSOA21CD"])
    if pair in seen:
        return Problem(source, line, "LSOA21CD", f"repeats the pair on row {seen[pair]}", row)
    seen[pair] = line
    return None


def read_lookup(data: bytes, source: str) -> tuple[list[dict[str, Any]], list[Problem], int]:
    """The good rows (as the table's columns), the problems, and how many rows were read."""
    text = to_utf8(data, source)[0].decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise InputFileError(source, "is empty", hint="download the file again")
    at = _columns(header, source)
    good: list[dict[str, str]] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    read = 0
    for line, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        read += 1
        row = {name: fields[i].strip() for name, i in at.items() if i < len(fields)}
        if problem := _check(row, line, source, seen):
            problems.append(problem)
        else:
            good.append(row)
    return [_shape(row) for row in _with_changes(good)], problems, read


def _with_changes(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows with ``CHGIND`` worked out from the pairs where the file has none."""
    if all("CHGIND" in r for r in rows):
        return rows
    parts = Counter(r["LSOA11CD"] for r in rows)
    merged = Counter(r["LSOA21CD"] for r in rows)
    for r in rows:
        if "CHGIND" not in r:
            many, into = parts[r["LSOA11CD"]] > 1, merged[r["LSOA21CD"]] > 1
            r["CHGIND"] = "X" if many and into else "S" if many else "M" if into else "U"
    return rows


def _shape(row: dict[str, str]) -> dict[str, Any]:
    return {
        "lsoa11_code": row["LSOA11CD"],
        "lsoa11_name": row.get("LSOA11NM") or None,
        "lsoa21_code": row["LSOA21CD"],
        "lsoa21_name": row.get("LSOA21NM") or None,
        "change": row["CHGIND"],
        "lad_code": row.get("LADCD") or None,
        "lad_name": row.get("LADNM") or None,
    }


def import_lsoa_lookup(
    *, session: Session, path: Path, settle: Callable[[], None] | None = None
) -> ImportSummary:
    """Replace the lookup with the file's good rows, quarantine the rest, fill crimes' 2021
    codes; the summary says how many crimes' 2011 and 2021 codes differ. ``settle`` is called
    once the lookup is replaced and between batches of crimes (the command commits there)."""
    from saferstreets.ingest.service import finish_run, quarantine, start_run

    data = path.read_bytes()
    source = str(path)
    rows, problems, read = read_lookup(data, source)
    run = start_run(session=session, kind=KIND, source=source, sha256=sha256_bytes(data))
    session.execute(sa.delete(LsoaLookup))
    if rows:
        session.execute(sa.insert(LsoaLookup), [{**r, "import_run_id": run.id} for r in rows])
    quarantine(session=session, run=run, kind=KIND, problems=problems, skip_known=True)
    if settle is not None:
        settle()
    fill_crime_lsoa21(session=session, settle=settle)
    counts = Counter(r["change"] for r in rows)
    summary = ImportSummary(
        kind=KIND,
        source=source,
        rows_read=read,
        rows_stored=len(rows),
        rows_quarantined=len(problems),
        problems=problems[:20],
    )
    summary.details = {
        "changes": {CHANGES[k]: v for k, v in sorted(counts.items())},
        **lsoa_vintages(session=session),
    }
    summary.message = ", ".join(f"{v:,} {CHANGES[k]}" for k, v in sorted(counts.items())) or None
    finish_run(session=session, run=run, summary=summary)
    return summary


#: Crimes given their 2021 code per statement (by id range), so no statement holds SQLite's
#: write lock long when the store holds millions of crimes.
FILL_BATCH = 20_000


def fill_crime_lsoa21(
    *, session: Session, run_id: int | None = None, settle: Callable[[], None] | None = None
) -> None:
    """Set each crime's 2021 LSOA code from its 2011 one, where that is one 2021 LSOA (all
    crimes, or those of one import run), ``FILL_BATCH`` ids at a time with ``settle`` between."""
    from saferstreets.crime.models import Crime

    lookup = LsoaLookup.__table__
    single = (
        sa.select(sa.case((sa.func.count() == 1, sa.func.min(lookup.c.lsoa21_code))))
        .where(lookup.c.lsoa11_code == Crime.source_lsoa_code)
        .scalar_subquery()
    )
    which: list[sa.ColumnElement[bool]] = [Crime.source_lsoa_code.is_not(None)]
    if run_id is not None:
        which.append(Crime.import_run_id == run_id)
    low, high = session.execute(
        sa.select(sa.func.min(Crime.id), sa.func.max(Crime.id)).where(*which)
    ).one()
    if low is None:
        return
    for start in range(low, high + 1, FILL_BATCH):
        in_batch = Crime.id.between(start, start + FILL_BATCH - 1)
        session.execute(sa.update(Crime).values(source_lsoa21_code=single).where(*which, in_batch))
        if settle is not None and start + FILL_BATCH <= high:
            settle()


def lsoa_vintages(*, session: Session) -> dict[str, int]:
    """Crimes by how their police.uk (2011) LSOA code stands against 2021: the same code,
    a different one, split over several 2021 LSOAs, or not in the lookup held."""
    from saferstreets.crime.models import Crime

    lookup_rows = int(session.scalar(sa.select(sa.func.count()).select_from(LsoaLookup)) or 0)
    coded = Crime.source_lsoa_code.is_not(None)
    in_lookup = Crime.source_lsoa_code.in_(sa.select(LsoaLookup.lsoa11_code))

    def n(*where: Any) -> int:
        query = sa.select(sa.func.count()).select_from(Crime).where(coded, *where)
        return int(session.scalar(query) or 0)

    same = n(Crime.source_lsoa21_code == Crime.source_lsoa_code)
    differ = n(Crime.source_lsoa21_code != Crime.source_lsoa_code)
    split = n(Crime.source_lsoa21_code.is_(None), in_lookup) if lookup_rows else 0
    return {
        "lookup_rows": lookup_rows,
        "crimes_with_lsoa": n(),
        "lsoa_same_2021": same,
        "lsoa_differs_2021": differ,
        "lsoa_split_2021": split,
        "lsoa_not_in_lookup": n(~in_lookup) if lookup_rows else n(),
    }
