"""Reading police.uk CSV files: which kind a file is, its rows, and which rows cannot be kept.

This module knows the three police.uk file kinds (``*-street.csv``, ``*-outcomes.csv``,
``*-stop-and-search.csv``) and nothing about the store. ``read_file`` takes a file's bytes and
returns a :class:`ParsedFile`: the good rows as a polars frame already shaped like the table they
go into (with a ``row_key`` that makes re-imports idempotent), and a :class:`Problem` for every
row that cannot be kept, naming the file, the row (1-based line, header counted) and the field.

Parsing is polars; line numbers and per-row field counts come from a vectorised scan of the bytes
(numpy), so a row cut short (a truncated download) is told apart from a row with empty fields.
Files with quoted newlines, which police.uk does not write, go through Python's ``csv`` module.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from saferstreets.crime.offences import CRIME_TYPES
from saferstreets.errors import InputFileError
from saferstreets.ingest.records import Problem, to_utf8

STREET = "crime_street"
OUTCOMES = "crime_outcomes"
STOP_SEARCH = "crime_stop_search"

KIND_LABELS = {STREET: "street", OUTCOMES: "outcomes", STOP_SEARCH: "stop-and-search"}
KIND_TABLES = {STREET: "crime", OUTCOMES: "crime_outcome", STOP_SEARCH: "stop_search"}

STREET_COLUMNS = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)  # fmt: skip
OUTCOME_COLUMNS = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Outcome type",
)  # fmt: skip
STOP_SEARCH_COLUMNS = (
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
    "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
    "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)  # fmt: skip

KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    STREET: STREET_COLUMNS,
    OUTCOMES: OUTCOME_COLUMNS,
    STOP_SEARCH: STOP_SEARCH_COLUMNS,
}
# Columns a file of the kind may lack (older police.uk releases); every other column is required.
OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {
    STREET: frozenset({"Context"}),
    OUTCOMES: frozenset(),
    STOP_SEARCH: frozenset({
        "Part of a policing operation", "Policing operation", "Self-defined ethnicity",
        "Officer-defined ethnicity", "Outcome linked to object of search",
        "Removal of more than just outer clothing",
    }),
}  # fmt: skip
# A column only one kind has: it names the kind even when other columns are missing or renamed.
SIGNATURE_COLUMNS = {
    "Crime type": STREET, "Last outcome category": STREET, "Outcome type": OUTCOMES,
    "Object of search": STOP_SEARCH, "Officer-defined ethnicity": STOP_SEARCH,
    "Removal of more than just outer clothing": STOP_SEARCH,
}  # fmt: skip
NAME_PATTERNS = {
    STREET: re.compile(r"-street\.csv$", re.I),
    OUTCOMES: re.compile(r"-outcomes\.csv$", re.I),
    STOP_SEARCH: re.compile(r"-stop-and-search\.csv$", re.I),
}
POLICE_UK_NAME = re.compile(r"(\d{4}-\d{2})-(.+?)-(street|outcomes|stop-and-search)\.csv$", re.I)

# The UK (Great Britain and Northern Ireland, with the Isles of Scilly and Shetland) in WGS84.
UK_LAT = (49.8, 60.9)
UK_LON = (-8.7, 1.8)

# Longest value each text column holds in the store (PostgreSQL enforces these).
MAX_LENGTHS = {
    "Crime ID": 64, "Reported by": 100, "Falls within": 100, "Location": 200, "LSOA code": 16,
    "LSOA name": 100, "Crime type": 64, "Last outcome category": 120, "Outcome type": 120,
    "Type": 64, "Date": 40, "Part of a policing operation": 16, "Policing operation": 200,
    "Gender": 32, "Age range": 32, "Self-defined ethnicity": 200, "Officer-defined ethnicity": 64,
    "Legislation": 200, "Object of search": 200, "Outcome": 200,
    "Outcome linked to object of search": 16, "Removal of more than just outer clothing": 16,
}  # fmt: skip

MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
DATETIME_RE = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)

SEP = "\x1f"  # joins fields before hashing; never appears in a CSV field


@dataclass
class ParsedFile:
    """One police.uk file read and checked: good rows ready to store, and every problem."""

    kind: str
    source: str
    rows_read: int
    frame: pl.DataFrame  # good rows, columns named as the table's, incl. row_key
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return KIND_TABLES[self.kind]


# --------------------------------------------------------------------------- kind and header


def parse_header(text_line: str) -> list[str]:
    """The column names of a header line, stripped."""
    try:
        names = next(csv.reader([text_line]))
    except (csv.Error, StopIteration):
        names = text_line.split(",")
    return [n.strip().strip("\ufeff") for n in names]


def detect_kind(header: Sequence[str], source: str) -> str | None:
    """The police.uk kind a header belongs to, or None if it is not a police.uk file at all.

    A header with all the kind's required columns is that kind. A header with a column only one
    kind has (``Crime type``, ``Outcome type``, ``Object of search``...) or a police.uk file name
    but with required columns missing is that kind too, and :func:`check_columns` then names what
    is missing, so a renamed column is reported rather than the file being called unrelated.
    """
    names = {h.lower() for h in header}
    for kind, columns in KIND_COLUMNS.items():
        required = [c for c in columns if c not in OPTIONAL_COLUMNS[kind]]
        # Outcomes' columns are a subset of street's but for 'Outcome type'.
        if all(c.lower() in names for c in required) and (
            kind == STREET or "crime type" not in names
        ):
            return kind
    for column, kind in SIGNATURE_COLUMNS.items():
        if column.lower() in names:
            return kind
    for kind, pattern in NAME_PATTERNS.items():
        if pattern.search(source):
            overlap = len(names & {c.lower() for c in KIND_COLUMNS[kind]})
            if overlap >= len(KIND_COLUMNS[kind]) // 2:
                return kind
    return None


def check_columns(
    kind: str, header: Sequence[str], source: str
) -> tuple[dict[str, str], list[str]]:
    """Map canonical column names to the file's; raise naming any required column missing."""
    by_lower = {h.lower(): h for h in header}
    columns = KIND_COLUMNS[kind]
    missing = [c for c in columns if c.lower() not in by_lower and c not in OPTIONAL_COLUMNS[kind]]
    known = {c.lower() for c in columns}
    unknown = [h for h in header if h.lower() not in known and h]
    if missing:
        what = ", ".join(f"'{c}'" for c in missing)
        hint = "police.uk's own files have these columns; was the header edited?"
        if unknown:
            hint = (
                "the file has column(s) police.uk does not write: "
                + ", ".join(f"'{u}'" for u in unknown)
                + "; rename them back to police.uk's names"
            )
        raise InputFileError(
            source,
            f"is a police.uk {KIND_LABELS[kind]} file but the header lacks column(s) {what} "
            "(row 1)",
            hint=hint,
        )
    notes = []
    if unknown:
        notes.append("ignored column(s) police.uk does not write: " + ", ".join(unknown))
    absent = [c for c in columns if c.lower() not in by_lower]
    if absent:
        notes.append("optional column(s) not in this file: " + ", ".join(absent))
    mapping = {c: by_lower[c.lower()] for c in columns if c.lower() in by_lower}
    return mapping, notes


# --------------------------------------------------------------------------- raw rows


def _raw_rows_fast(data: bytes, n_header: int) -> pl.DataFrame | None:
    """Rows as strings plus ``_line`` and ``_nfields``, by polars; None if csv must decide."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(arr)]))
    if starts[-1] >= len(arr):  # the file ends with a newline: no line after it
        starts, ends = starts[:-1], ends[:-1]
    quotes = np.flatnonzero(arr == 34)
    commas = np.flatnonzero(arr == 44)
    n_commas = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
    n_fields = n_commas + 1
    if len(quotes):
        n_quotes = np.searchsorted(quotes, ends) - np.searchsorted(quotes, starts)
        if np.any(n_quotes % 2):
            return None  # a quoted field spans lines, or a quote is cut off: let csv decide
        for i in np.flatnonzero(n_quotes):
            line = data[starts[i] : ends[i]].decode("utf-8").rstrip("\r")
            try:
                n_fields[i] = len(next(csv.reader([line]), []))
            except csv.Error:  # e.g. a bare carriage return inside the line
                return None
    # Blank (or whitespace-only) lines: fewer than 3 non-space bytes and no comma.
    lengths = ends - starts
    blank = (n_commas == 0) & (lengths <= 2)
    if np.any(blank):
        for i in np.flatnonzero(blank):
            if data[starts[i] : ends[i]].strip():
                blank[i] = False
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            skip_rows=1,
            infer_schema=False,
            truncate_ragged_lines=True,
            new_columns=[f"c{i}" for i in range(n_header)],
            schema_overrides=None,
        )
    except pl.exceptions.PolarsError:  # e.g. a first row of one field (SchemaError)
        return None
    body = np.arange(1, len(starts))  # line index 0 is the header
    keep = body[~blank[1:]]
    if frame.height == len(body):
        frame = frame.filter(pl.Series(~blank[1:]))
    elif frame.height != len(keep):
        return None  # polars and the line scan disagree: trust the csv module instead
    if frame.width < n_header:  # polars stops at the columns of the first row
        frame = frame.hstack(
            [
                pl.Series(f"c{i}", [None] * frame.height, pl.String)
                for i in range(frame.width, n_header)
            ]
        )
    if any(dtype != pl.String for dtype in frame.dtypes):
        frame = frame.select(pl.all().cast(pl.String))
    # hstack, not with_columns: eager, without a query plan per file.
    return frame.hstack(
        [
            pl.Series("_line", keep + 1, dtype=pl.Int64),
            pl.Series("_nfields", n_fields[keep], dtype=pl.Int64),
        ]
    )


def _raw_rows_csv(text: str, n_header: int, source: str) -> pl.DataFrame:
    """Rows as strings plus ``_line`` and ``_nfields``, by Python's csv module (any quoting)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: list[list[str | None]] = [[] for _ in range(n_header)]
    lines: list[int] = []
    counts: list[int] = []
    try:
        next(reader)
        previous = reader.line_num
        for record in reader:
            start = previous + 1
            previous = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            lines.append(start)
            counts.append(len(record))
            for i in range(n_header):
                columns[i].append(record[i] if i < len(record) else None)
    except csv.Error as exc:
        raise InputFileError(
            source,
            f"cannot be read as CSV near line {reader.line_num}: {exc}",
            hint="open it in a spreadsheet and save it again as CSV",
        ) from exc
    frame = pl.DataFrame(
        {f"c{i}": col for i, col in enumerate(columns)},
        schema={f"c{i}": pl.String for i in range(n_header)},
    )
    return frame.with_columns(
        pl.Series("_line", lines, dtype=pl.Int64), pl.Series("_nfields", counts, dtype=pl.Int64)
    )


# --------------------------------------------------------------------------- checks


def _clean(name: str) -> pl.Expr:
    """A text column stripped, with empty values as null."""
    col = pl.col(name).str.strip_chars()
    return pl.when(col.str.len_chars() > 0).then(col).otherwise(None).alias(name)


def _quote(expr: pl.Expr, width: int = 40) -> pl.Expr:
    text = expr.fill_null("")
    return (
        pl.when(text.str.len_chars() > width)
        .then(pl.concat_str([text.str.slice(0, width), pl.lit("…")]))
        .otherwise(text)
    )


def _coordinate_checks() -> list[tuple[pl.Expr, str, pl.Expr]]:
    lat, lon = pl.col("Latitude"), pl.col("Longitude")
    flat, flon = pl.col("_lat"), pl.col("_lon")
    in_lat = flat.is_between(*UK_LAT)
    in_lon = flon.is_between(*UK_LON)
    return [
        (lat.is_null() & lon.is_not_null(), "Latitude",
         pl.lit("Latitude is empty but Longitude is given; give both or neither")),
        (lon.is_null() & lat.is_not_null(), "Longitude",
         pl.lit("Longitude is empty but Latitude is given; give both or neither")),
        (lat.is_not_null() & flat.is_null(), "Latitude",
         pl.format("Latitude '{}' is not a number", _quote(lat))),
        (lon.is_not_null() & flon.is_null(), "Longitude",
         pl.format("Longitude '{}' is not a number", _quote(lon))),
        (~in_lat & ~in_lon & flat.is_between(*UK_LON) & flon.is_between(*UK_LAT), "Latitude",
         pl.format("Latitude {} and Longitude {} look swapped (UK latitudes are 49.8 to 60.9, "
                   "longitudes -8.7 to 1.8)", lat, lon)),
        (flat.is_not_null() & ~in_lat, "Latitude",
         pl.format("Latitude {} is outside the UK (49.8 to 60.9)", lat)),
        (flon.is_not_null() & ~in_lon, "Longitude",
         pl.format("Longitude {} is outside the UK (-8.7 to 1.8)", lon)),
    ]  # fmt: skip


def _checks(
    kind: str, present: set[str], n_header: int, header_names: Sequence[str]
) -> list[tuple[pl.Expr, str | None, pl.Expr]]:
    """(failing-condition, field, reason) in the order they are tried; the first failing wins."""
    nf = pl.col("_nfields")
    checks: list[tuple[pl.Expr, str | None, pl.Expr]] = [
        (
            nf < n_header,
            "_short",
            pl.format(
                "the row has {} of the header's {} fields (cut short?)", nf, pl.lit(n_header)
            ),
        ),
        (
            nf > n_header,
            None,
            pl.format("the row has {} fields, more than the header's {}", nf, pl.lit(n_header)),
        ),
    ]

    def required(name: str) -> None:
        checks.append((pl.col(name).is_null(), name, pl.lit(f"{name} is empty")))

    if kind in (STREET, OUTCOMES):
        required("Month")
        checks.append(
            (
                ~pl.col("Month").str.contains(MONTH_RE),
                "Month",
                pl.format("Month '{}' is not a month in YYYY-MM form", _quote(pl.col("Month"))),
            )
        )
        required("Reported by")
        required("Falls within")
        if kind == STREET:
            required("Crime type")
        else:
            checks.append(
                (
                    pl.col("Crime ID").is_null(),
                    "Crime ID",
                    pl.lit("Crime ID is empty; an outcome must name its crime"),
                )
            )
            required("Outcome type")
    else:
        required("Date")
        checks.append(
            (
                ~pl.col("Date").str.contains(DATETIME_RE),
                "Date",
                pl.format(
                    "Date '{}' is not a date and time (YYYY-MM-DDTHH:MM:SS)", _quote(pl.col("Date"))
                ),
            )
        )
        required("Type")
    checks.extend(_coordinate_checks())
    for name in KIND_COLUMNS[kind]:
        limit = MAX_LENGTHS.get(name)
        if limit and name in present:
            checks.append(
                (
                    pl.col(name).str.len_chars() > limit,
                    name,
                    pl.lit(f"{name} is longer than {limit} characters"),
                )
            )
    return checks


def _first_problem(
    checks: list[tuple[pl.Expr, str | None, pl.Expr]], header_names: Sequence[str]
) -> tuple[pl.Expr, pl.Expr]:
    """Expressions for the first failing check's field and reason (null where the row is good)."""
    field_expr: Any = None
    reason_expr: Any = None
    for cond, name, reason in reversed(checks):
        if name == "_short":
            # The first column the row does not reach.
            fexpr = pl.col("_nfields").replace_strict(
                dict(enumerate(header_names)), default=None, return_dtype=pl.String
            )
        else:
            fexpr = pl.lit(name, pl.String)
        cond = cond.fill_null(False)
        if field_expr is None:
            field_expr = pl.when(cond).then(fexpr).otherwise(pl.lit(None, pl.String))
            reason_expr = pl.when(cond).then(reason).otherwise(pl.lit(None, pl.String))
        else:
            field_expr = pl.when(cond).then(fexpr).otherwise(field_expr)
            reason_expr = pl.when(cond).then(reason).otherwise(reason_expr)
    return field_expr.alias("_field"), reason_expr.alias("_reason")


KEY_BYTES = 16  # row keys: 128 bits, so that two different rows never share one in practice
_HEX_ID = re.compile(r"[0-9a-fA-F]{64}")


def _digest_column(values: pl.Series) -> pl.Series:
    """The first KEY_BYTES of each string's sha256 (stable across versions, unlike polars' hash)."""
    sha = hashlib.sha256
    raw = values.cast(pl.Binary).to_list()  # bytes straight from polars: no str.encode per row
    return pl.Series([sha(v).digest()[:KEY_BYTES] for v in raw], dtype=pl.Binary)


def crime_key(crime_id: str) -> bytes:
    """The key a Crime ID is stored and joined under (``crime.row_key``, ``outcome.crime_key``).

    police.uk's Crime IDs are SHA-256 digests in hex: their first 32 hex digits are already as
    good as any hash of them. Any other ID (another publisher's, a hand-made file's) is hashed.
    """
    if _HEX_ID.fullmatch(crime_id):
        return bytes.fromhex(crime_id[: 2 * KEY_BYTES])
    return hashlib.sha256(crime_id.encode("utf-8")).digest()[:KEY_BYTES]


def crime_keys(ids: pl.Series) -> pl.Series:
    """:func:`crime_key` of every Crime ID in a column, vectorised (null stays null)."""
    hex_id = ids.str.contains(f"^{_HEX_ID.pattern}$").fill_null(False)
    keys = ids.str.slice(0, 2 * KEY_BYTES).str.decode("hex", strict=False)
    keys = pl.select(pl.when(hex_id).then(keys).otherwise(None)).to_series()
    other = ~hex_id & ids.is_not_null()
    if other.any():
        keys = keys.scatter(other.arg_true(), _digest_column(ids.filter(other)))
    return keys


@functools.lru_cache(maxsize=64)
def _problem_exprs(
    kind: str, present: frozenset[str], header: tuple[str, ...]
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """For a header (built once per header, not once per file): whether a row fails any check
    (``_bad``, cheap: booleans only), and the first failing check's field and reason (built only
    for the rows that fail, since formatting a reason for every row cost more than the checks)."""
    checks = _checks(kind, set(present), len(header), header)
    bad = pl.any_horizontal([cond.fill_null(False) for cond, _, _ in checks]).alias("_bad")
    return (bad, *_first_problem(checks, header))


def force_from_name(source: str) -> str | None:
    """The force slug in a police.uk file name (``2021-01-hertfordshire-street.csv``)."""
    match = POLICE_UK_NAME.search(source.replace("\\", "/").rsplit("/", 1)[-1])
    return match.group(2) if match else None


# --------------------------------------------------------------------------- read a file


def read_file(data: bytes, source: str, *, kind: str | None = None) -> ParsedFile:
    """Read one police.uk CSV's bytes: detect its kind, check every row, key the good ones.

    Raises :class:`InputFileError` for a file that cannot be imported at all (not text, not a
    police.uk file, a required column missing); row-level problems are returned, not raised.
    """
    utf8, notes = to_utf8(data, source)
    if not utf8.strip():
        raise InputFileError(source, "is empty", hint="download the file again")
    first_nl = utf8.find(b"\n")
    header_line = (utf8 if first_nl < 0 else utf8[:first_nl]).decode("utf-8").rstrip("\r")
    header = parse_header(header_line)
    kind = kind or detect_kind(header, source)
    if kind is None:
        shown = ", ".join(f"'{h}'" for h in header[:6]) + (", …" if len(header) > 6 else "")
        raise InputFileError(
            source,
            f"is not a police.uk street, outcomes or stop-and-search file (row 1 has {shown})",
            hint="give the CSV files from a police.uk download (YYYY-MM-force-street.csv etc.)",
        )
    mapping, column_notes = check_columns(kind, header, source)
    notes.extend(column_notes)
    n_header = len(header)
    raw = _raw_rows_fast(utf8, n_header)
    if raw is None:
        raw = _raw_rows_csv(utf8.decode("utf-8"), n_header, source)
    # Name the columns canonically; add optional ones the file lacks as null.
    position = {h: i for i, h in enumerate(header)}
    columns = KIND_COLUMNS[kind]
    bad_expr, field_expr, reason_expr = _problem_exprs(kind, frozenset(mapping), tuple(header))
    # One query plan for naming, cleaning and checking every row.
    checked = (
        raw.lazy()
        .select(
            *[
                (
                    pl.col(f"c{position[mapping[c]]}") if c in mapping else pl.lit(None, pl.String)
                ).alias(c)
                for c in columns
            ],
            "_line",
            "_nfields",
        )
        .with_columns(_clean(c) for c in columns)
        .with_columns(
            pl.col("Latitude").cast(pl.Float64, strict=False).alias("_lat"),
            pl.col("Longitude").cast(pl.Float64, strict=False).alias("_lon"),
        )
        .with_columns(bad_expr)
        .collect()
    )
    is_failing = checked["_bad"]
    if is_failing.any():
        failing = checked.filter(is_failing).with_columns(field_expr, reason_expr)
        frame = (
            checked.filter(~is_failing)
            .with_columns(
                pl.lit(None, pl.String).alias("_field"), pl.lit(None, pl.String).alias("_reason")
            )
            .vstack(failing)
            .sort("_line")
        )
    else:
        frame = checked.with_columns(
            pl.lit(None, pl.String).alias("_field"), pl.lit(None, pl.String).alias("_reason")
        )
    frame = frame.drop("_bad")
    rows_read = frame.height

    is_bad = frame["_reason"].is_not_null()
    if is_bad.any():
        bad = frame.filter(is_bad)
        good = frame.filter(~is_bad)
    else:
        bad, good = frame.clear(), frame
    problems = [
        Problem(
            source=source,
            row_number=row["_line"],
            field=row["_field"],
            reason=row["_reason"],
            raw={c: row[c] for c in columns if row[c] is not None} | {"_fields": row["_nfields"]},
        )
        for row in bad.iter_rows(named=True)
    ]
    last_line = int(frame["_line"].max() or 0) if frame.height else 0  # type: ignore[arg-type]
    for p in problems:
        if p.row_number == last_line and p.field and "cut short" in p.reason:
            p.reason = p.reason.replace("(cut short?)", "(the file is cut short)")
    details: dict[str, Any] = {}
    if kind in (STREET, OUTCOMES, STOP_SEARCH):
        details["no_location"] = good["_lat"].null_count()
    if kind == STREET:
        details["no_crime_id"] = good["Crime ID"].null_count()
        _note_shared_ids(good, details, notes)
        odd = ~good["Crime type"].is_in(list(CRIME_TYPES))
        if odd.any():
            unknown = good.filter(odd).group_by("Crime type").len().sort("Crime type")
            details["unknown_crime_types"] = dict(unknown.iter_rows())
            notes.append(
                "crime type(s) not in police.uk's list, kept as given: "
                + ", ".join(f"'{t}' ({n})" for t, n in unknown.iter_rows())
            )
    shaped = _shape(kind, good, source)
    return ParsedFile(
        kind=kind,
        source=source,
        rows_read=rows_read,
        frame=shaped,
        problems=problems,
        notes=notes,
        details=details,
    )


def _note_shared_ids(good: pl.DataFrame, details: dict[str, Any], notes: list[str]) -> None:
    """Count (and say) the Crime IDs more than one kept row of the file carries."""
    counts = good["Crime ID"].drop_nulls().value_counts()
    shared = counts.filter(pl.col("count") > 1)
    if shared.height:
        rows = int(shared["count"].sum())
        details["shared_crime_ids"] = shared.height
        details["rows_sharing_a_crime_id"] = rows
        notes.append(
            f"{rows:,} rows share {shared.height:,} Crime IDs with another row of the file "
            "(police.uk publishes them so): all kept and counted, and flagged for the analyst"
        )


def _shared_ids(good: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """For each good street row: the number of earlier rows of this file with its Crime ID
    (0 for the first, and for rows without one), and whether another row shares its ID."""
    ids = good.select(
        pl.int_range(pl.len()).over("Crime ID").alias("occurrence"),
        (pl.len().over("Crime ID") > 1).alias("shared"),
        pl.col("Crime ID").is_not_null().alias("has_id"),
    )
    occurrence = pl.select(
        pl.when(ids["has_id"]).then(ids["occurrence"]).otherwise(0).cast(pl.Int32)
    ).to_series()
    shared = (ids["shared"] & ids["has_id"]).alias("crime_id_shared")
    return occurrence.alias("crime_id_occurrence"), shared


def shared_key(crime_id: str, occurrence: int) -> bytes:
    """The row key of the ``occurrence``-th (1, 2, ...) later row of a file with a Crime ID
    already on an earlier row (the first row's key is :func:`crime_key`)."""
    text = f"{crime_id}{SEP}occurrence{SEP}{occurrence}"
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


def _occurrence_keys(frame: pl.DataFrame, parts: list[pl.Expr]) -> pl.Series:
    """Key (sha256) of the joined parts plus the row's occurrence among identical rows."""
    joined = pl.concat_str([p.fill_null("") for p in parts], separator=SEP).alias("_joined")
    text = (
        frame.lazy()
        .select(joined)
        .select(
            pl.concat_str(
                ["_joined", pl.int_range(pl.len()).over("_joined").cast(pl.String)], separator=SEP
            )
        )
        .collect()
        .to_series()
    )
    return _digest_column(text)


def _shape(kind: str, good: pl.DataFrame, source: str) -> pl.DataFrame:
    """The good rows with the table's column names and a ``row_key``."""
    month = pl.concat_str([pl.col("Month"), pl.lit("-01")])
    # The columns street and outcome files share, in the table's names.
    common = (
        pl.col("Crime ID").alias("crime_id"),
        month.alias("month"),
        pl.col("Reported by").alias("reported_by"),
        pl.col("Falls within").alias("falls_within"),
        pl.col("_lon").alias("longitude"),
        pl.col("_lat").alias("latitude"),
        pl.col("Location").alias("location"),
        pl.col("LSOA code").alias("source_lsoa_code"),
        pl.col("LSOA name").alias("source_lsoa_name"),
    )
    if kind == STREET:
        shaped = good.select(
            *common,
            pl.col("Crime type").alias("crime_type"),
            pl.col("Last outcome category").alias("last_outcome"),
            pl.col("Context").alias("context"),
        )
        no_id = good["Crime ID"].is_null()
        keys = crime_keys(good["Crime ID"])
        if no_id.any():
            hashed = _occurrence_keys(good.filter(no_id), [pl.col(c) for c in STREET_COLUMNS])
            keys = keys.scatter(no_id.arg_true(), hashed)
        occurrence, shared = _shared_ids(good)
        later = occurrence > 0
        if later.any():
            pairs = zip(good["Crime ID"].filter(later), occurrence.filter(later), strict=True)
            keys = keys.scatter(
                later.arg_true(), pl.Series([shared_key(i, n) for i, n in pairs], dtype=pl.Binary)
            )
        return shaped.hstack([keys.alias("row_key"), shared, occurrence])
    if kind == OUTCOMES:
        shaped = good.select(
            *common,
            pl.col("Outcome type").alias("outcome_type"),
        )
        keys = _occurrence_keys(good, [pl.col("Crime ID"), pl.col("Month"), pl.col("Outcome type")])
        return shaped.hstack(
            [keys.alias("row_key"), crime_keys(good["Crime ID"]).alias("crime_key")]
        )
    force = force_from_name(source)
    shaped = good.select(
        pl.lit(force, pl.String).alias("force"),
        pl.col("Type").alias("type"),
        pl.col("Date").alias("occurred_at"),
        pl.col("Part of a policing operation").alias("part_of_policing_operation"),
        pl.col("Policing operation").alias("policing_operation"),
        pl.col("_lat").alias("latitude"),
        pl.col("_lon").alias("longitude"),
        pl.col("Gender").alias("gender"),
        pl.col("Age range").alias("age_range"),
        pl.col("Self-defined ethnicity").alias("self_defined_ethnicity"),
        pl.col("Officer-defined ethnicity").alias("officer_defined_ethnicity"),
        pl.col("Legislation").alias("legislation"),
        pl.col("Object of search").alias("object_of_search"),
        pl.col("Outcome").alias("outcome"),
        pl.col("Outcome linked to object of search").alias("outcome_linked_to_object"),
        pl.col("Removal of more than just outer clothing").alias("removal_of_outer_clothing"),
    )
    keys = _occurrence_keys(
        good, [pl.lit(force or "", pl.String), *[pl.col(c) for c in STOP_SEARCH_COLUMNS]]
    )
    return shaped.hstack([keys.alias("row_key")])
