"""Survey exports shaped like the real tools' (made here, in each test's folder), and mappings."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Q_AGE = "What is your age?"
Q_AREA = "Which area do you live in?"
Q_POSTCODE = "What is your postcode?"
Q_DARK = "How safe do you feel walking alone in a quiet street after dark?"
Q_DAY = "How safe do you feel in your town centre during the day?"
Q_CONCERNS = "What makes you feel unsafe? (Select all that apply)"
Q_TEXT = "In your own words, what would make you feel safer?"
SCALE = ["Very unsafe", "Fairly unsafe", "Neither safe nor unsafe", "Fairly safe", "Very safe"]
OPTIONS = ["Poor street lighting", "Groups of men shouting", "No CCTV", "Other (please specify)"]

# (respondent, end date, age, area, postcode, after dark, day, concerns, free text)
ROWS: list[tuple[Any, ...]] = [
    (
        "1001",
        "03/09/2021 10:15",
        "16-24",
        "Watford",
        "wd17 1aa",
        "Very unsafe",
        "Fairly safe",
        ["Poor street lighting", "Groups of men shouting"],
        "Better lighting on the path by the station",
    ),
    (
        "1002",
        "04/09/2021 21:02",
        "25-34",
        "St Albans",
        "AL13AB",
        " very UNSAFE ",
        "Very safe",
        ["No CCTV"],
        "",
    ),
    (
        "1003",
        "15/09/2021 08:00",
        "65+",
        "",
        "",
        "Don't know",
        "Fairly unsafe",
        ["Other (please specify)"],
        "Men hanging around the underpass",
    ),
]


def mapping_toml(
    *,
    name: str = "Autumn 2021",
    header_rows: int | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    date: str = "End Date",
    respondent: str = "Respondent ID",
    extra_columns: str = "",
    unknown: str | None = None,
) -> str:
    """A mapping in the documented format for the files below."""
    file_lines = []
    if header_rows:
        file_lines.append(f"header_rows = {header_rows}")
    if sheet:
        file_lines.append(f'sheet = "{sheet}"')
    multi_extra = f'delimiter = "{delimiter}"\n' if delimiter else ""
    if unknown:
        multi_extra += f'unknown = "{unknown}"\n'
    return f'''
[wave]
name = "{name}"
period_start = "2021-09-01"
period_end = "2021-10-31"
source = "test export"

[file]
{chr(10).join(file_lines)}

[columns]
respondent = "{respondent}"
date = "{date}"
age_band = "{Q_AGE}"
area = "{Q_AREA}"
postcode = "{Q_POSTCODE}"
free_text = "{Q_TEXT}"
{extra_columns}

[age_bands]
"16-24" = "16-24"
"25-34" = "25-34"
"65+" = "65+"

[[likert]]
key = "after_dark.quiet_street"
column = "{Q_DARK}"
scale = {json.dumps(SCALE)}
missing = ["Don't know", "Prefer not to say"]

[[likert]]
key = "day.busy_place"
column = "{Q_DAY}"
scale = {json.dumps(SCALE)}

[[multi_select]]
key = "concerns"
question = "{Q_CONCERNS}"
{multi_extra}
[multi_select.options]
"Poor street lighting" = "poor_lighting"
"Groups of men shouting" = "verbal_harassment"
"No CCTV" = "no_cctv"
"Other (please specify)" = "other"
'''


def write_mapping(folder: Path, text: str, name: str = "mapping.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def surveymonkey_grid(rows: Sequence[tuple[Any, ...]] = ROWS) -> list[list[Any]]:
    """SurveyMonkey's expanded layout: question text over blocks, option labels in row 2."""
    head1 = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        Q_AGE,
        Q_AREA,
        Q_POSTCODE,
        Q_DARK,
        Q_DAY,
        Q_CONCERNS,
        None,
        None,
        None,
        Q_TEXT,
    ]
    head2 = [
        None,
        None,
        None,
        None,
        "Response",
        "Response",
        "Response",
        "Response",
        "Response",
        *OPTIONS,
        "Open-Ended Response",
    ]
    grid: list[list[Any]] = [head1, head2]
    for ref, end, age, area, pc, dark, day, concerns, text in rows:
        ticks = [(o if o in concerns else None) for o in OPTIONS]
        if "Other (please specify)" in concerns:
            ticks[3] = "Men by the shops"  # the typed 'other' text sits in the option's column
        grid.append([ref, "4242", end, end, age, area, pc, dark, day, *ticks, text or None])
    return grid


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, grid in sheets.items():
        sheet = book.create_sheet(name)
        for row in grid:
            sheet.append(row)
    book.save(path)
    return path


def write_csv(
    path: Path, grid: list[list[Any]], *, encoding: str = "utf-8", bom: bool = False
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in grid:
        writer.writerow(["" if v is None else v for v in row])
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def msforms_grid(rows: Sequence[tuple[Any, ...]] = ROWS) -> list[list[Any]]:
    """Microsoft Forms: one header row; multi-select answers in one cell, each followed by ';'."""
    grid: list[list[Any]] = [
        [
            "ID",
            "Start time",
            "Completion time",
            "Email",
            "Name",
            Q_AGE,
            Q_AREA,
            Q_POSTCODE,
            Q_DARK,
            Q_DAY,
            Q_CONCERNS,
            Q_TEXT,
        ]
    ]
    for ref, end, age, area, pc, dark, day, concerns, text in rows:
        cell = "".join(f"{c};" for c in concerns)
        grid.append([ref, end, end, "anonymous", "", age, area, pc, dark, day, cell, text])
    return grid


def qualtrics_grid(rows: Sequence[tuple[Any, ...]] = ROWS) -> list[list[Any]]:
    """Qualtrics CSV: question IDs, question text, ImportId JSON; multi-select split by option."""
    ids = [
        "StartDate",
        "EndDate",
        "ResponseId",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "Q5",
        "Q6_1",
        "Q6_2",
        "Q6_3",
        "Q6_4",
        "Q7",
    ]
    texts = [
        "Start Date",
        "End Date",
        "Response ID",
        Q_AGE,
        Q_AREA,
        Q_POSTCODE,
        Q_DARK,
        Q_DAY,
        *[f"{Q_CONCERNS} - Selected Choice - {o}" for o in OPTIONS],
        Q_TEXT,
    ]
    imports = [json.dumps({"ImportId": i}, separators=(",", ":")) for i in ids]
    grid: list[list[Any]] = [ids, texts, imports]
    for ref, end, age, area, pc, dark, day, concerns, text in rows:
        day_, month, rest = end.split("/")
        iso = f"{rest[:4]}-{month}-{day_} {rest[5:]}:00"
        ticks = [("1" if o in concerns else "") for o in OPTIONS]
        grid.append([iso, iso, f"R_{ref}", age, area, pc, dark, day, *ticks, text])
    return grid
