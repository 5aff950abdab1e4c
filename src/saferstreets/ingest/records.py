"""What every import reports, and reading text honestly: pure, no store.

``Problem`` (why a row could not be kept), ``ImportSummary`` (what an import did with one file),
the progress protocol importers speak, and decoding (UTF-8, else Windows-1252 line by line).
The pure readers (``crime.policeuk``, ``themes.classifier``, ``surveys.reader``) use these
without importing the store; :mod:`saferstreets.ingest.service` keeps runs and quarantine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saferstreets.errors import InputFileError
from saferstreets.progress import Progress, silent


@dataclass
class Problem:
    """Why one row (or one field of it) could not be kept."""

    source: str
    row_number: int | None
    field: str | None
    reason: str
    raw: dict[str, Any] | None = None

    def __str__(self) -> str:
        where = self.source
        if self.row_number is not None:
            where += f", row {self.row_number}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.reason}"


@dataclass
class ImportSummary:
    """What one import did with one file."""

    kind: str
    source: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    status: str = "ok"  # ok, failed, skipped (same file already imported), ignored (not ours)
    message: str | None = None
    problems: list[Problem] = field(default_factory=list)  # the first few, for the console
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)  # said about the file; no row lost by these
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific counts, kept on the run

    def line(self) -> str:
        """One line for the console."""
        if self.status == "failed":
            return f"{self.source}: FAILED, nothing stored: {self.message}"
        if self.status == "ignored":
            return f"{self.source}: ignored ({self.message})"
        parts = [f"{self.rows_read:,} read", f"{self.rows_stored:,} stored"]
        if self.rows_duplicate:
            parts.append(f"{self.rows_duplicate:,} already held")
        if self.rows_quarantined:
            parts.append(f"{self.rows_quarantined:,} quarantined")
        text = f"{self.source}: " + ", ".join(parts)
        if self.message:
            text += f" ({self.message})"
        return text


MAX_PROBLEMS_SHOWN = 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_utf8(data: bytes, source: str) -> tuple[bytes, list[str]]:
    """A text file's bytes as UTF-8 without BOM, and notes on what was done to get there.

    UTF-8 (with or without BOM) passes through untouched. Otherwise each line that is not valid
    UTF-8 is read as Windows-1252 (what Excel saves as "CSV" in the UK), so a file that mixes the
    two keeps its UTF-8 lines intact; the note names the first such line. Binary files are refused.
    """
    if b"\x00" in data[:8192]:
        raise InputFileError(
            source,
            "is not a text file (it looks binary)",
            hint="give a CSV file, or an XLSX where one is accepted",
        )
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("UTF-8 with a byte-order mark (read as UTF-8)")
    try:
        data.decode("utf-8")
        return data, notes
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    fixed: list[bytes] = []
    first: int | None = None
    count = 0
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
            fixed.append(line)
        except UnicodeDecodeError:
            count += 1
            first = first or number
            fixed.append(line.decode("cp1252", errors="replace").encode("utf-8"))
    notes.append(f"not UTF-8: {count:,} line(s) read as Windows-1252 (first at row {first})")
    return b"\n".join(fixed), notes


def decode_text(data: bytes, source: str) -> str:
    """Decode a text file: UTF-8 (BOM or not), else Windows-1252 line by line; refuse binary."""
    return to_utf8(data, source)[0].decode("utf-8")


def display_path(path: Path | str) -> str:
    return str(path)


def total(summaries: Sequence[ImportSummary], *, kind: str = "total") -> ImportSummary:
    """The sum of several summaries (files that failed count as read 0, stored 0)."""
    out = ImportSummary(kind=kind, source="total")
    for s in summaries:
        out.rows_read += s.rows_read
        out.rows_stored += s.rows_stored
        out.rows_duplicate += s.rows_duplicate
        out.rows_quarantined += s.rows_quarantined
    failed = sum(1 for s in summaries if s.status == "failed")
    if failed:
        out.status = "failed"
        out.message = f"{failed} file(s) failed"
    return out


#: the names an import's progress speaks: its files (done of all) and its rows (so far)
FILES = "files"
ROWS = "rows stored or checked"


def short_source(source: str) -> str:
    """A file's name, or ``archive.zip!member`` for a file inside an archive."""
    if "!" in source:
        archive, member = source.split("!", 1)
        return f"{Path(archive).name}!{member}"
    return Path(source).name


class ImportSteps:
    """An import's steps told in the one progress shape (:class:`saferstreets.progress.Progress`).

    ``progress(FILES..., done, total)`` as files start and finish (``"files (name)"`` while one is
    read), ``progress(ROWS, rows so far, None)`` as rows are stored, and a failed file's summary
    line as a bare step. ``None`` is silent.
    """

    def __init__(self, progress: Progress | None) -> None:
        self.say: Progress = progress or silent
        self.files = 0
        self.done = 0
        self.rows = 0
        self.what = FILES

    def begin(self, *, files: int) -> None:
        self.files = files
        self.say(FILES, 0, files)

    def file_started(self, source: str) -> None:
        self.what = f"{FILES} ({short_source(source)})"
        self.say(self.what, self.done, self.files)

    def rows_done(self, rows: int) -> None:
        self.rows += rows
        self.say(ROWS, self.rows, None)

    def file_done(self, summary: ImportSummary) -> None:
        self.done += 1
        self.say(self.what, self.done, self.files)
        if summary.status == "failed":
            self.say(summary.line())
