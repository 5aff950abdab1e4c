"""Reading survey exports: CSV or XLSX, one to three header rows, the right sheet.

The tools differ in how they lay out headers:

* SurveyMonkey ("expanded"): row 1 holds each question's text in the first column of its
  block (blank after); row 2 holds ``Response``, ``Open-Ended Response`` or the option label of
  each multi-select column.
* SmartSurvey: one header row; a multiple-choice question has a column per option headed
  ``Question:Option`` (the option's text in the cell when ticked). Consecutive columns sharing
  the question form one block, as do one-row exports headed "Question - Option",
  "Question [Option]" or "Question / Option".
* Qualtrics CSV: three header rows: question IDs, question text, ``{"ImportId": ...}``.
* Microsoft Forms: one header row; multi-select answers in one cell separated by ``;``.

``read_table`` turns any of these into ``Column`` objects (question, option) and data rows
numbered as a spreadsheet shows them; ``Columns.find`` resolves a mapping's header names.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saferstreets.errors import InputFileError
from saferstreets.ingest.archives import check_xlsx
from saferstreets.ingest.records import Problem
from saferstreets.surveys.normalise import cell_text, key

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
RESPONSE_LABELS = {"response", "open-ended response", "open ended response"}
_SUBLABEL_SPLIT = (
    re.compile(r"^(.+?)\s+-\s+(?:selected choice\s+-\s+)?(.+)$", re.I),
    re.compile(r"^(.+?)\s*\[(.+)\]$"),
    re.compile(r"^(.+?)\s+/\s+(.+)$"),
    re.compile(r"^(.+\S)\s*:\s*(\S[^:]*)$"),  # SmartSurvey "Question:Option" (the last colon)
)
_QUALTRICS_QID = re.compile(r"^(Q[\w.]*?)(?:_(\d+))?(?:_TEXT)?$")


@dataclass(frozen=True)
class Column:
    """One column of the export: its question text and, in a block, its option label."""

    index: int
    question: str
    option: str | None = None
    code: str | None = None  # Qualtrics question ID
    header: str | None = None  # the single header cell (one-row headers)

    @property
    def label(self) -> str:
        """The name a person would use for this column (``Question / Option`` inside a block)."""
        if self.option and key(self.option) not in RESPONSE_LABELS:
            return f"{self.question} / {self.option}"
        return self.header or self.question


@dataclass
class Table:
    """The header and data rows of one export (one sheet of an XLSX)."""

    source: str
    sheet: str | None
    header_rows: int
    columns: list[Column]
    rows: list[tuple[int, list[Any]]]  # (row number as a spreadsheet shows it, cells)
    problems: list[Problem] = field(default_factory=list)  # rows that could not be read
    notes: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    @property
    def found(self) -> Columns:
        return Columns(self.columns)


class Columns:
    """Resolves a mapping's header names to columns."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns

    def find(self, name: str) -> list[Column]:
        """Columns that ``name`` refers to: a whole question's block, one sub-column, or an ID."""
        k = key(name)
        block = [c for c in self.columns if key(c.question) == k]
        if block:
            return block
        exact = [c for c in self.columns if key(c.label) == k or (c.header and key(c.header) == k)]
        if exact:
            return exact[:1]
        return [
            c
            for c in self.columns
            if c.code and (c.code.casefold() == k or c.code.casefold().startswith(k + "_"))
        ]

    def single(self, name: str) -> Column:
        """The one column ``name`` means; a block of several needs ``Question / Option``."""
        found = self.find(name)
        if len(found) == 1:
            return found[0]
        answers = [c for c in found if c.option is None or key(c.option) in RESPONSE_LABELS]
        if len(answers) == 1:
            return answers[0]
        options = "; ".join(f"'{c.label}'" for c in found[:4])
        raise LookupError(f"names {len(found)} columns; name one of them, e.g. {options}")

    def suggestions(self, name: str) -> list[str]:
        labels = list(
            dict.fromkeys([c.question for c in self.columns] + [c.label for c in self.columns])
        )
        by_key = {key(label): label for label in labels}
        close = difflib.get_close_matches(key(name), list(by_key), n=2, cutoff=0.6)
        return [by_key[c] for c in close]


# ---------------------------------------------------------------------------------------------
# Reading cells


def read_grids(
    path: Path, *, sheet: str | None
) -> tuple[dict[str | None, list[list[Any]]], list[str], list[Problem]]:
    """Every candidate sheet's cells (a CSV is one unnamed sheet), notes, and unreadable rows."""
    if not path.exists():
        raise InputFileError(path, "file not found")
    if path.is_dir():
        raise InputFileError(path, "is a folder, not a survey export")
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError(path, "is empty", hint="export the survey responses again")
    is_zip = data[:4] == b"PK\x03\x04"
    if suffix in XLSX_SUFFIXES or (is_zip and suffix in CSV_SUFFIXES):
        return _read_xlsx(path, data, sheet=sheet), [], []
    if suffix == ".xls" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise InputFileError(
            path,
            "is an old Excel (.xls) workbook, which cannot be read",
            hint="open it and save as .xlsx or CSV (UTF-8)",
        )
    if suffix in CSV_SUFFIXES or not suffix:
        rows, notes, problems = _read_csv(path, data)
        return {None: rows}, notes, problems
    raise InputFileError(
        path,
        f"is a {suffix} file, not a survey export",
        hint="give the CSV or XLSX export of the responses",
    )


def _read_xlsx(path: Path, data: bytes, *, sheet: str | None) -> dict[str | None, list[list[Any]]]:
    """Each sheet's cells as text (dates as ISO text), read with calamine (fastexcel)."""
    import fastexcel

    check_xlsx(path, data)  # a zip bomb, or two far-apart cells that would abort calamine
    try:
        book = fastexcel.read_excel(data)
    except Exception as exc:  # fastexcel raises its own errors for damaged or cut-off workbooks
        first = str(exc).splitlines()[0]
        raise InputFileError(
            path,
            f"is not a complete XLSX workbook ({first}); it may be truncated",
            hint="download or export it again",
        ) from None
    names = list(book.sheet_names)
    if sheet is not None:
        chosen = [n for n in names if key(n) == key(sheet)]
        if not chosen:
            raise InputFileError(
                path, f"has no sheet named '{sheet}'", hint=f"its sheets are: {', '.join(names)}"
            )
        names = chosen
    grids: dict[str | None, list[list[Any]]] = {}
    for name in names:
        try:
            frame = book.load_sheet(name, header_row=None, dtypes="string").to_polars()
        except Exception as exc:
            first = str(exc).splitlines()[0]
            raise InputFileError(
                path,
                f"sheet '{name}' cannot be read ({first}); the workbook may be damaged",
                hint="open it in a spreadsheet and save it again as .xlsx",
            ) from None
        rows = [list(r) for r in frame.rows()]
        while rows and all(cell_text(v) is None for v in rows[-1]):
            rows.pop()
        grids[name] = rows
    return grids


def _decode_lines(data: bytes) -> tuple[str, list[int]]:
    """UTF-8 text (BOM dropped); lines that are not UTF-8 are read as Windows-1252 (listed)."""
    if b"\x00" in data[:8192]:
        raise UnicodeError("binary")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    out, fallback = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("cp1252", errors="replace"))
            fallback.append(number)
    return "\n".join(out), fallback


def _read_csv(path: Path, data: bytes) -> tuple[list[list[Any]], list[str], list[Problem]]:
    try:
        text, fallback = _decode_lines(data)
    except UnicodeError:
        raise InputFileError(
            path,
            "is not a text file (it looks binary)",
            hint="give the CSV or XLSX export of the responses",
        ) from None
    notes = []
    if fallback:
        shown = ", ".join(str(n) for n in fallback[:10]) + (" …" if len(fallback) > 10 else "")
        notes.append(
            f"{len(fallback)} line(s) were not UTF-8 and were read as Windows-1252 (lines {shown})"
        )
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else (";" if first.count(";") > first.count(",") else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[Any]] = []
    problems: list[Problem] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number = len(rows) + 1
            reason = (
                (
                    "the file ends inside a quoted cell: it looks truncated; this row and "
                    "anything after it were not read"
                )
                if "end of data" in str(exc)
                else (
                    f"cannot be read as CSV ({exc}); this row and anything after it were not read"
                )
            )
            problems.append(Problem(str(path), number, None, reason))
            break
        rows.append(row)
    while rows and all(not c.strip() for c in rows[-1]):
        rows.pop()
    return rows, notes, problems


# ---------------------------------------------------------------------------------------------
# Header rows


def detect_header_rows(grid: list[list[Any]]) -> int:
    """How many header rows an export has: 3 (Qualtrics), 2 (SurveyMonkey/SmartSurvey) or 1."""
    if len(grid) >= 3 and any(str(v or "").startswith('{"ImportId"') for v in grid[2]):
        return 3
    if len(grid) < 2:
        return 1
    row1, row2 = grid[0], grid[1]
    texts2 = [key(cell_text(v)) for v in row2]
    if any(t in RESPONSE_LABELS for t in texts2):
        return 2
    width = max(len(row1), len(row2))
    cells1 = [cell_text(row1[i]) if i < len(row1) else None for i in range(width)]
    cells2 = [cell_text(row2[i]) if i < len(row2) else None for i in range(width)]
    # A continuation block: blank question cells over labelled sub-columns, while the first
    # column (respondent ID, dates) has no sub-label, as a data row would have.
    continued = sum(1 for i in range(1, width) if cells1[i] is None and cells2[i] is not None)
    if continued and cells1[0] is not None and cells2[0] is None:
        return 2
    return 1


def build_columns(grid: list[list[Any]], header_rows: int) -> list[Column]:
    """Columns from the header rows, forward-filling question text across a block."""
    width = max((len(r) for r in grid[: max(header_rows, 1) + 50]), default=0)

    def cell(r: int, i: int) -> str | None:
        return cell_text(grid[r][i]) if r < len(grid) and i < len(grid[r]) else None

    columns: list[Column] = []
    if header_rows == 3:
        texts = [cell(1, i) or cell(0, i) or f"Column {i + 1}" for i in range(width)]
        codes = [cell(0, i) for i in range(width)]
        groups: dict[str, list[int]] = {}
        for i, code in enumerate(codes):
            match = _QUALTRICS_QID.match(code or "")
            if match and match.group(2):
                groups.setdefault(match.group(1), []).append(i)
        for i in range(width):
            question, option = texts[i], None
            match = _QUALTRICS_QID.match(codes[i] or "")
            if match and len(groups.get(match.group(1), [])) > 1:
                question, option = _split_label(texts[i])
            columns.append(Column(i, question, option, code=codes[i], header=texts[i]))
        return _dedupe(columns)
    if header_rows == 2:
        current: str | None = None
        for i in range(width):
            top, sub = cell(0, i), cell(1, i)
            if top is not None:
                current = top
            if current is None:  # no question text yet: the sub-label names the column
                columns.append(Column(i, sub or f"Column {i + 1}", None))
                continue
            columns.append(Column(i, current, sub))
        return _dedupe(columns)
    headers = [cell(0, i) or f"Column {i + 1}" for i in range(width)]
    columns = [Column(i, h, header=h) for i, h in enumerate(headers)]
    # One-row exports that name sub-columns "Question - Option", "Question [Option]" or
    # "Question / Option": consecutive columns sharing a question form a block.
    parts = [_split_label(h) for h in headers]
    i = 0
    while i < width:
        j = i
        while j + 1 < width and parts[i][1] and parts[j + 1][1] and parts[j + 1][0] == parts[i][0]:
            j += 1
        if j > i:
            for n in range(i, j + 1):
                columns[n] = Column(n, parts[n][0], parts[n][1], header=headers[n])
        i = j + 1
    return _dedupe(columns)


def _split_label(text: str) -> tuple[str, str | None]:
    for pattern in _SUBLABEL_SPLIT:
        match = pattern.match(text)
        if match:
            return match.group(1).strip(), match.group(2).strip()
    return text, None


def _dedupe(columns: list[Column]) -> list[Column]:
    """Make each column's label unique (a repeated header gets ' (2)', ' (3)')."""
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        k = key(c.label)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1:
            suffix = f" ({seen[k]})"
            if c.option:
                c = Column(c.index, c.question, c.option + suffix, c.code, c.header)
            else:
                c = Column(
                    c.index,
                    c.question + suffix,
                    None,
                    c.code,
                    (c.header + suffix) if c.header else None,
                )
        out.append(c)
    return out


def _score(columns: list[Column], names: Iterable[str]) -> int:
    found = Columns(columns)
    return sum(1 for n in names if found.find(n))


def read_table(
    path: Path,
    *,
    sheet: str | None = None,
    header_rows: int | None = None,
    wanted: list[str] | None = None,
) -> Table:
    """Read an export; choose the sheet and header-row count that best fit ``wanted`` names."""
    grids, notes, problems = read_grids(path, sheet=sheet)
    candidates = []
    for name, grid in grids.items():
        if not grid:
            continue
        detected = detect_header_rows(grid)
        options = (
            [header_rows] if header_rows else [detected] + [n for n in (1, 2, 3) if n != detected]
        )
        for n in options:
            if n > len(grid):
                continue
            columns = build_columns(grid, n)
            score = _score(columns, wanted) if wanted else sum(1 for c in columns if c.question)
            # Prefer: more names found, the detected header count, then the sheet with more rows.
            candidates.append(
                (score, n == detected, len(grid), -list(grids).index(name), name, n, columns)
            )
    if not candidates:
        raise InputFileError(
            path,
            "has no rows" if len(grids) <= 1 else "has only empty sheets",
            hint="export the survey responses again",
        )
    candidates.sort(key=lambda c: c[:4], reverse=True)
    score, _, _, _, name, n, columns = candidates[0]
    if wanted and score == 0:
        where = f"sheet '{name}'" if name else "the header"
        raise InputFileError(
            path,
            f"none of the mapping's columns are in {where}",
            hint=(
                f"its sheets are {', '.join(str(g) for g in grids)}; choose one"
                if len(grids) > 1
                else "check that this is the export the mapping was written for"
            ),
        )
    grid = grids[name]
    rows = [(i + 1, r) for i, r in enumerate(grid) if i >= n and any(cell_text(v) for v in r)]
    source = str(path) + (f" [{name}]" if name is not None and len(grids) > 1 else "")
    if name is not None and len(grids) > 1:
        notes.append(
            f"read sheet '{name}' ({', '.join(str(g) for g in grids if g != name)} ignored)"
        )
    return Table(
        source=source,
        sheet=name,
        header_rows=n,
        columns=columns,
        rows=rows,
        problems=problems,
        notes=notes,
        sheets=[str(g) for g in grids],
    )
