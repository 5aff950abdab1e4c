"""What in a survey export identifies a respondent, so that it is never stored.

Three things are removed before a response (or a quarantined row) is stored:

* **the survey tools' personal columns**, known by name for each tool (``TOOLS``): IP address,
  email, names, recipient fields, the IP-derived location, custom data and external references;
* **columns whose answers are mostly** IP addresses, email addresses, phone numbers or
  latitude/longitude pairs, whatever their heading (``personal_by_content``);
* **contact details typed into answers**: every text cell goes through
  ``reports.redact.redact_personal_details``, the same redaction the public form applies to what
  a reporter sees back.

A column the mapping uses for a question is never dropped silently: the import keeps it and
warns, so the analyst can name it under ``[drop]`` or map another column.

The tool is recognised from the header (``recognise_tool``) and named in the suggested mapping
and the import summary. The lists were checked against published exports (see
docs/importing-surveys.md, "Sources"); a name on any tool's list is dropped whichever tool made
the file, so a tool that is not recognised loses nothing to a wrong guess.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from saferstreets.reports.redact import EMAIL_MARK, PHONE_MARK, redact_personal_details
from saferstreets.surveys.normalise import cell_text, json_value, key
from saferstreets.surveys.reader import Column, Table


@dataclass(frozen=True)
class Tool:
    """One survey tool's export: the headers that name it, and its own columns."""

    name: str
    personal: tuple[str, ...]  # headers (compared by ``key``) holding who answered
    own: tuple[str, ...]  # the tool's other columns (IDs, times, status): kept as written


TOOLS = (
    Tool(
        "SurveyMonkey",
        personal=("IP Address", "Email Address", "First Name", "Last Name", "Custom Data 1"),
        own=("Respondent ID", "Collector ID", "Start Date", "End Date"),
    ),
    Tool(
        "Microsoft Forms",
        personal=("Email", "Name"),
        own=("ID", "Start time", "Completion time", "Last modified time"),
    ),
    Tool(
        "Qualtrics",
        # Row 1 (IDs) and row 2 (labels) of the three header rows.
        personal=(
            "IPAddress",
            "IP Address",
            "RecipientLastName",
            "Recipient Last Name",
            "RecipientFirstName",
            "Recipient First Name",
            "RecipientEmail",
            "Recipient Email",
            "ExternalReference",
            "External Data Reference",
            "LocationLatitude",
            "Location Latitude",
            "LocationLongitude",
            "Location Longitude",
        ),
        own=(
            "StartDate",
            "Start Date",
            "EndDate",
            "End Date",
            "Status",
            "Response Type",
            "Progress",
            "Duration (in seconds)",
            "Finished",
            "RecordedDate",
            "Recorded Date",
            "ResponseId",
            "Response ID",
            "DistributionChannel",
            "Distribution Channel",
            "UserLanguage",
            "User Language",
        ),
    ),
    Tool(
        "SmartSurvey",
        personal=("Name", "Email", "IP Address", "Unique ID", "Tracking Link", "Custom Variables"),
        own=("UserID", "UserNo", "Started", "Ended"),
    ),
    Tool(
        "Google Forms",
        personal=("Email Address", "Email address", "Username"),
        own=("Timestamp",),
    ),
)
# Headers personal in any export, whichever tool made it.
_PERSONAL_PATTERN = re.compile(
    r"^(ip ?address|e-?mail( address)?|(first|last|full|given|sur) ?name|name|surname|username|"
    r"recipient ?.*|location ?(latitude|longitude)|custom ?data ?\d*|custom ?variables? ?\d*|"
    r"external ?(data )?reference|unique ?id|tracking ?link|(tele)?phone( number)?|"
    r"mobile( number)?|contact ?(number|details|email)?|(street |home |postal )?address( \d)?)$"
)
_PERSONAL_NAMES = frozenset(key(h) for tool in TOOLS for h in tool.personal)
_OWN_NAMES = frozenset(key(h) for tool in TOOLS for h in tool.own)
_DATE_TIME = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?\S*)?$")
_LAT_LON = re.compile(r"^\(?\s*(-?\d{1,2}\.\d{3,})\s*[,;]\s*(-?\d{1,3}\.\d{3,})\s*\)?$")
MOSTLY = 0.5  # a column is personal when at least this share of its answers is
SAMPLE = 2000  # rows read to judge a column by its answers


def is_personal_header(*names: str | None) -> bool:
    """Whether a column headed ``names`` (its header, question or Qualtrics ID) is personal."""
    for name in names:
        if name and (key(name) in _PERSONAL_NAMES or _PERSONAL_PATTERN.match(key(name))):
            return True
    return False


def is_tool_column(*names: str | None) -> bool:
    """Whether a column is one of a tool's own (IDs, times, status), kept as written."""
    return any(name and key(name) in _OWN_NAMES for name in names)


def recognise_tool(headers: Iterable[str | None], *, header_rows: int, numeric: bool) -> str | None:
    """The survey tool that made an export, from its header; None when not recognised.

    ``numeric``: whether the answers are mostly numeric codes (a Qualtrics "numeric values" export
    rather than "choice text").
    """
    keys = {key(h) for h in headers if h}
    if header_rows == 3 or {"responseid", "recordeddate"} <= keys:
        return "Qualtrics (numeric values)" if numeric else "Qualtrics (choice text)"
    if {"respondent id", "collector id"} <= keys:
        return "SurveyMonkey"
    if {"start time", "completion time"} <= keys:
        return "Microsoft Forms"
    if {"userid", "userno"} & keys or {"started", "ended", "ip address"} <= keys:
        return "SmartSurvey"
    if "timestamp" in keys:
        return "Google Forms"
    return None


def _is_ip(text: str) -> bool:
    if len(text) > 45 or not ("." in text or ":" in text):
        return False
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def _is_email(text: str) -> bool:
    spelt = " at " in text or "(at)" in text or "[at]" in text
    return ("@" in text or spelt) and redact_personal_details(text).strip() == EMAIL_MARK


def _is_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return (
        9 <= digits <= 15
        and not _DATE_TIME.match(text)
        and redact_personal_details(text).strip() == PHONE_MARK
    )


def _is_lat_lon(text: str) -> bool:
    match = _LAT_LON.match(text.strip())
    if match is None:
        return False
    return abs(float(match[1])) <= 90 and abs(float(match[2])) <= 180


CONTENT_TESTS = (
    ("IP addresses", _is_ip),
    ("email addresses", _is_email),
    ("phone numbers", _is_phone),
    ("latitude/longitude pairs", _is_lat_lon),
)


def personal_by_content(values: Sequence[Any]) -> str | None:
    """What a column's answers mostly are ("email addresses, phone numbers"), or None.

    A column is personal when at least half its answers are IP addresses, email addresses,
    phone numbers or latitude/longitude pairs (a "leave your details" box mixes them).
    """
    texts = [t for t in (cell_text(v) for v in values[:SAMPLE]) if t]
    found: dict[str, int] = {}
    for text in texts:
        for what, test in CONTENT_TESTS:
            if test(text):
                found[what] = found.get(what, 0) + 1
                break
    if not texts or sum(found.values()) < MOSTLY * len(texts):
        return None
    return ", ".join(sorted(found, key=lambda w: -found[w]))


# Everything ``redact_personal_details`` could change has one of these: a cheap test first.
_CUE = re.compile(r"@|\d(?:\D{0,4}\d){8}|(?i:\bat\b|\(at\)|\[at\]|name|call|ask\s+for)")


def scrub_cell(value: Any) -> tuple[Any, bool]:
    """A raw cell with contact details and introduced names removed, and whether it changed.

    Dates and times are left alone (a timestamp's digits are not a phone number).
    """
    if not isinstance(value, str) or not _CUE.search(value):
        return value, False
    if _DATE_TIME.match(value.strip()):
        return value, False
    scrubbed = redact_personal_details(value)
    return scrubbed, scrubbed != value


def _names(column: Column) -> tuple[str | None, ...]:
    return (column.header, column.question if column.option is None else None, column.code)


def _values(table: Table, column: Column) -> list[Any]:
    return [cells[column.index] for _, cells in table.rows if column.index < len(cells)]


def _is_numeric_export(table: Table, skip: set[int]) -> bool:
    """Whether most answered questions hold integer codes (ticks of a multi-select aside)."""
    coded = considered = 0
    for column in table.columns:
        if column.index in skip:
            continue
        texts = {t for t in (cell_text(v) for v in _values(table, column)) if t}
        if not texts or texts == {"1"}:
            continue
        considered += 1
        coded += all(t.isdigit() for t in texts) and len(texts) >= 2
    return considered > 0 and coded >= 0.5 * considered


@dataclass
class PersonalColumns:
    """The columns of one export that identify a respondent, and what the import does with them."""

    tool: str | None
    dropped: dict[int, str]  # column index -> why ("IP Address is ..." or "mostly emails")
    kept: dict[int, str]  # personal-looking columns the mapping uses: kept, with a warning
    untouched: set[int]  # the tool's own columns (IDs, times): kept as written, not scrubbed
    not_found: list[str]  # names under [drop] that are not in the file

    def warnings(self, table: Table) -> list[str]:
        """What the analyst should hear about: kept personal columns, [drop] names not found."""
        labels = {c.index: c.label for c in table.columns}
        out = [
            f"column '{labels[i]}' looks personal ({why}) but the mapping uses it, so it was "
            "kept; name it under [drop] if it should not be stored"
            for i, why in self.kept.items()
        ]
        out += [f"[drop] names '{n}', which is not in the file" for n in self.not_found]
        return out


def find_personal(
    table: Table, *, drop: Sequence[str] = (), used: Iterable[int] = ()
) -> PersonalColumns:
    """Which columns to drop: the tools' personal columns, the mapping's ``[drop]`` list, and
    columns whose answers are mostly IP addresses, emails, phone numbers or coordinates.

    ``used`` are the indexes of the columns the mapping reads; one that looks personal is kept
    (and reported) rather than dropped, unless the mapping also names it under ``[drop]``.
    """
    used = set(used)
    named: dict[int, str] = {}
    not_found = []
    for name in drop:
        found = table.found.find(name)
        if not found:
            not_found.append(name)
        for column in found:
            named[column.index] = "named under [drop]"
    untouched = {c.index for c in table.columns if is_tool_column(*_names(c))}
    dropped: dict[int, str] = dict(named)
    kept: dict[int, str] = {}
    for column in table.columns:
        why = None
        if is_personal_header(*_names(column), column.option):
            why = "a survey tool's personal column"
        elif column.index not in untouched:
            content = personal_by_content(_values(table, column))
            why = f"mostly {content}" if content else None
        if column.index in named:  # the reason it was found, if it was, else the mapping's
            dropped[column.index] = why or named[column.index]
            continue
        if why is None:
            continue
        (kept if column.index in used else dropped)[column.index] = why
    untouched -= set(dropped)
    numeric = _is_numeric_export(table, untouched | set(dropped) | set(kept))
    tool = recognise_tool(
        [h for c in table.columns for h in (c.header, c.question, c.code)],
        header_rows=table.header_rows,
        numeric=numeric,
    )
    return PersonalColumns(tool, dropped, kept, untouched, not_found)


class RowScrubber:
    """Turns each row's cells into the raw row that is stored, counting what it removed."""

    def __init__(
        self, columns: Sequence[Column], personal: PersonalColumns, *, as_written: Iterable[int]
    ) -> None:
        self.personal = personal
        self.kept = [(c.label, c.index) for c in columns if c.index not in personal.dropped]
        self.dropped = [(c.label, c.index) for c in columns if c.index in personal.dropped]
        self.as_written = personal.untouched | set(as_written)
        self.values_dropped: dict[str, int] = {label: 0 for label, _ in self.dropped}
        self.cells_scrubbed = 0

    def raw(self, cells: Sequence[Any]) -> dict[str, Any]:
        """The row without personal columns, its text cleared of contact details."""
        for label, i in self.dropped:
            if i < len(cells) and cells[i] is not None and str(cells[i]).strip():
                self.values_dropped[label] += 1
        out: dict[str, Any] = {}
        for label, i in self.kept:
            value = json_value(cells[i]) if i < len(cells) else None
            if i not in self.as_written:
                value, changed = scrub_cell(value)
                self.cells_scrubbed += changed
            out[label] = value
        return out

    @staticmethod
    def text(text: str | None) -> str | None:
        """Free text cleared of contact details and introduced names."""
        return redact_personal_details(text) if text else text

    def details(self) -> dict[str, Any]:
        """Counts for the import run (column names and counts, never values)."""
        return {
            "tool": self.personal.tool,
            "dropped_columns": {
                label: {"values": self.values_dropped[label], "why": self.personal.dropped[i]}
                for label, i in self.dropped
            },
            "answers_scrubbed": self.cells_scrubbed,
        }

    def notes(self) -> list[str]:
        """One line each for the console: the tool, what was dropped, what was scrubbed."""
        out = [f"recognised as {self.personal.tool}"] if self.personal.tool else []
        if self.dropped:
            listed = ", ".join(
                f"{label} ({self.values_dropped[label]:,})" for label, _ in self.dropped
            )
            out.append(f"personal columns dropped, values not stored: {listed}")
        if self.cells_scrubbed:
            out.append(f"contact details removed from {self.cells_scrubbed:,} answers")
        return out


def personal_labels(
    values_by_label: dict[str, list[Any]], *, drop: Iterable[str] = (), used: Iterable[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """For raw rows already stored: (labels to drop, personal-looking labels kept as mapped).

    The same tests as ``find_personal``, applied to the stored raw rows' labels: a tool's
    personal column, a name under ``[drop]``, or mostly IP addresses, emails, phones, coordinates.
    """
    drop_keys = {key(d) for d in drop}
    used_keys = {key(u) for u in used}
    dropped: dict[str, str] = {}
    kept: dict[str, str] = {}
    for label, values in values_by_label.items():
        question, _, option = label.partition(" / ")
        why = None
        if is_personal_header(label, option or None):
            why = "a survey tool's personal column"
        elif not is_tool_column(label):
            content = personal_by_content(values)
            why = f"mostly {content}" if content else None
        if key(label) in drop_keys or key(question) in drop_keys:
            dropped[label] = why or "named under [drop]"
            continue
        if why is None:
            continue
        mapped = key(label) in used_keys or key(question) in used_keys
        (kept if mapped else dropped)[label] = why
    return dropped, kept
