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


# ---------------------------------------------------------------------------------------------
# Each tool's real layout, with the personal columns it exports and contact details typed into
# answers: what must never reach the store. Sources for the layouts: docs/importing-surveys.md.

Q_CONTACT = "If you would like a reply, leave your contact details"
IPS = ("203.0.113.17", "198.51.100.42", "192.0.2.201", "203.0.113.99")
EMAILS = ("josephine.bloggs@example.com", "samira.t@example.org", "annq@example.net")
FIRST_NAMES = ("Josephine", "Samira", "Annika", "Theodora")
LAST_NAMES = ("Bloggsworth", "Taylorson", "Quibbleton", "Marchbanks")
PHONES = ("07700 900123", "+44 20 7946 0018")
LAT_LON = ("51.7521", "-0.3364")
# Everything above: none of it may appear anywhere in the store after an import.
PLANTED = (*IPS, *EMAILS, *FIRST_NAMES, *LAST_NAMES, *PHONES, *LAT_LON)

# (ref, end date dd/mm/yyyy hh:mm, age, after dark, free text, contact box)
PEOPLE: list[tuple[str, str, str, str, str, str]] = [
    (
        "1001",
        "03/09/2021 10:15",
        "16-24",
        "Very unsafe",
        "Better lighting by the station. My name is Josephine Bloggsworth",
        EMAILS[1],
    ),
    (
        "1002",
        "04/09/2021 21:02",
        "25-34",
        "Fairly safe",
        "Text me on 07700 900123 about the underpass",
        PHONES[1],
    ),
    # A bad age: the answer is quarantined with the row's raw cells; the rest is stored.
    ("1003", "15/09/2021 08:00", "not an age", "Very safe", "The café by the bus stop is fine", ""),
]


def tool_mapping(*, respondent: str | None, date: str, name: str = "Autumn 2021") -> str:
    """A mapping that reads the same four questions from any tool's export."""
    ref = f'respondent = "{respondent}"\n' if respondent else ""
    return f'''
[wave]
name = "{name}"

[columns]
{ref}date = "{date}"
age_band = "{Q_AGE}"
free_text = "{Q_TEXT}"

[age_bands]
"16-24" = "16-24"
"25-34" = "25-34"

[[likert]]
key = "after_dark.quiet_street"
column = "{Q_DARK}"
scale = {json.dumps(SCALE)}
'''


def _iso(end: str) -> str:
    day, month, rest = end.split("/")
    return f"{rest[:4]}-{month}-{day} {rest[5:]}:00"


def surveymonkey_pii_grid() -> list[list[Any]]:
    """SurveyMonkey "All responses data", expanded, with its own personal columns."""
    own = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address"]
    own += ["Email Address", "First Name", "Last Name", "Custom Data 1"]
    head1 = [*own, Q_AGE, Q_DARK, Q_CONCERNS, None, None, None, Q_TEXT, Q_CONTACT]
    head2 = [None] * len(own) + ["Response", "Response", *OPTIONS]
    head2 += ["Open-Ended Response", "Open-Ended Response"]
    grid: list[list[Any]] = [head1, head2]
    for i, (ref, end, age, dark, text, contact) in enumerate(PEOPLE):
        ticks = [OPTIONS[0] if i == 0 else None, None, OPTIONS[2], None]
        email = EMAILS[i] if i < 2 else ""
        person = [IPS[i], email, FIRST_NAMES[i], LAST_NAMES[i], f"crm-{ref}"]
        grid.append([ref, "405123456", end, end, *person, age, dark, *ticks, text, contact])
    grid.append([""] * len(head1))  # a blank row
    # A row cut short after the respondent's name: quarantined whole, raw cells kept.
    grid.append(["1004", "405123456", PEOPLE[0][1], PEOPLE[0][1], IPS[3], "", FIRST_NAMES[3]])
    return grid


def msforms_pii_grid() -> list[list[Any]]:
    """Microsoft Forms' Excel download: ID, times, Email, Name, then one column per question."""
    head = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"]
    grid: list[list[Any]] = [[*head, Q_AGE, Q_DARK, Q_CONCERNS, Q_TEXT, Q_CONTACT]]
    for i, (ref, end, age, dark, text, contact) in enumerate(PEOPLE):
        name = f"{FIRST_NAMES[i]} {LAST_NAMES[i]}"
        email = EMAILS[i] if i < 2 else "anonymous"
        grid.append([ref, end, end, email, name, "", age, dark, "No CCTV;", text, contact])
    return grid


QUALTRICS_META = (
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
)


def qualtrics_pii_grid(*, numeric: bool = False) -> list[list[Any]]:
    """Qualtrics CSV: IDs, labels, ImportId JSON; choice text or numeric values."""
    ids = [m[0] for m in QUALTRICS_META] + ["Q1", "Q2", "Q3", "Q4"]
    texts = [m[1] for m in QUALTRICS_META] + [Q_AGE, Q_DARK, Q_TEXT, Q_CONTACT]
    imports = [json.dumps({"ImportId": m[2]}, separators=(",", ":")) for m in QUALTRICS_META]
    imports += [json.dumps({"ImportId": f"QID{n}"}) for n in (1, 2, 3, 4)]
    grid: list[list[Any]] = [ids, texts, imports]
    for i, (ref, end, age, dark, text, contact) in enumerate(PEOPLE):
        if numeric:
            age = {"16-24": "2", "25-34": "3"}.get(age, "9")
            dark = str(SCALE.index(dark) + 1)
        iso = _iso(end)
        meta = [iso, iso, "IP Address", IPS[i], "100", "312", "True", iso, f"R_{ref}"]
        meta += [LAST_NAMES[i], FIRST_NAMES[i], EMAILS[i] if i < 2 else "", f"ext-{ref}"]
        meta += [*LAT_LON, "email", "EN"]
        grid.append([*meta, age, dark, text, contact])
    return grid


def smartsurvey_pii_grid() -> list[list[Any]]:
    """SmartSurvey's CSV: respondent columns first, then one header row of questions."""
    own = ["UserID", "UserNo", "Name", "Email", "IP Address", "Unique ID", "Started", "Ended"]
    own += ["Tracking Link", "Custom Variables"]
    grid: list[list[Any]] = [[*own, Q_AGE, Q_DARK, Q_TEXT, Q_CONTACT]]
    for i, (ref, end, age, dark, text, contact) in enumerate(PEOPLE):
        name = f"{FIRST_NAMES[i]} {LAST_NAMES[i]}"
        row = [f"7{ref}", ref, name, EMAILS[i] if i < 2 else "", IPS[i], f"u-{ref}", end, end]
        grid.append([*row, "Newsletter link", "", age, dark, text, contact])
    return grid


def google_forms_pii_grid() -> list[list[Any]]:
    """Google Forms' responses sheet as CSV: Timestamp, Email Address, then the questions."""
    grid: list[list[Any]] = [["Timestamp", "Email Address", Q_AGE, Q_DARK, Q_TEXT, Q_CONTACT]]
    for i, (_ref, end, age, dark, text, contact) in enumerate(PEOPLE):
        grid.append([end + ":00", EMAILS[i] if i < 2 else "", age, dark, text, contact])
    return grid


def write_messy_csv(path: Path, grid: list[list[Any]], *, bom: bool = False) -> Path:
    """A CSV as exports arrive: optional BOM, a blank line, and the line with 'café' in cp1252."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [["" if v is None else v for v in row] for row in grid]
    )
    lines = buffer.getvalue().split("\r\n")
    lines.insert(len(lines) - 1, "")  # a blank line before the end
    data = b"\r\n".join(line.encode("cp1252" if "café" in line else "utf-8") for line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


Q_LOCAL = "How safe do you feel walking alone in your local area after dark?"
Q_GRID = "How safe do you feel in each of these places during the day?"
GRID_PLACES = ("In a park", "On a bus or train")


def qualtrics_numeric_grid(n: int = 40) -> list[list[Any]]:
    """Qualtrics' numeric-values CSV: a coded age, a "local area" feel-safe question (6 = prefer
    not to say), a matrix of two places (codes 1-5) and a multi-select ticked as 1 or blank.

    Respondent i answers: age code 1 + i % 3; local area code 1 + i % 6; park 1 + i % 5;
    bus 5 - i % 5; concerns: lighting when i is even, CCTV when i % 3 == 0."""
    ids = [m[0] for m in QUALTRICS_META] + ["Q1", "Q2", "Q3_1", "Q3_2", "Q4_1", "Q4_2", "Q4_3"]
    texts = [m[1] for m in QUALTRICS_META] + [Q_AGE, Q_LOCAL]
    texts += [f"{Q_GRID} - {p}" for p in GRID_PLACES]
    texts += [f"{Q_CONCERNS} - Selected Choice - {o}" for o in OPTIONS[:3]]
    imports = [json.dumps({"ImportId": m[2]}, separators=(",", ":")) for m in QUALTRICS_META]
    imports += [json.dumps({"ImportId": f"QID{c}"}) for c in ids[len(QUALTRICS_META) :]]
    grid: list[list[Any]] = [ids, texts, imports]
    for i in range(n):
        iso = f"2021-09-{1 + i % 28:02d} 10:00:00"
        meta = [iso, iso, "IP Address", IPS[i % 4], "100", "312", "True", iso, f"R_{i:04d}"]
        meta += ["", "", "", "", "", "", "anonymous", "EN"]
        ticks = ["1" if i % 2 == 0 else "", "", "1" if i % 3 == 0 else ""]
        answers = [str(1 + i % 3), str(1 + i % 6), str(1 + i % 5), str(5 - i % 5), *ticks]
        grid.append([*meta, *answers])
    return grid
