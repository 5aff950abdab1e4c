"""The survey mapping as a form: one control per part of a suggested mapping, and back.

``form_from_suggestion`` reads a suggestion (TOML text with ``# check`` comments) into the
fields a page shows, each pre-filled and, where the suggestion guessed, with the reason to check
it. ``mapping_from_form`` builds the mapping's data from the submitted fields, checks it against
the export's columns and with ``mapping_from_dict``, and names each problem by the form field it
concerns. ``to_toml`` writes the mapping for the import (the same file the CLI reads).
Pure: no store, web or CLI.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from saferstreets.errors import InputFileError
from saferstreets.surveys.mapping import COLUMN_KEYS, TIMES, mapping_from_dict
from saferstreets.surveys.reader import Column, Columns
from saferstreets.themes.taxonomy import SETTING_CODES

LIKERT_KEYS = tuple(f"{t}.{s}" for t in TIMES for s in SETTING_CODES)
SINGLE_COLUMNS = tuple(k for k in COLUMN_KEYS if k != "free_text")
MAX_FREE_TEXT = 6
_KEY_LINE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_-]+)\s*=')
_TABLE = re.compile(r"^\s*\[(\[)?\s*([^\]]*?)\s*\]")


@dataclass
class MappingForm:
    """What the form shows: the suggestion's values and, by field name, the reasons to check."""

    values: dict[str, Any]
    checks: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)


def column_choices(columns: list[Column]) -> list[str]:
    """Names an analyst can choose: each column's label, and each block's question."""
    out: list[str] = []
    for column in columns:
        for name in (column.label, column.question):
            if name and name not in out:
                out.append(name)
    return out


def _split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of one TOML line; a '#' inside a quoted string is not a comment."""
    quoted = escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i], line[i + 1 :]
    return line, ""


def checks_in(text: str) -> dict[str, str]:
    """The ``# check`` reasons of a suggestion, by the form field each concerns."""
    checks: dict[str, str] = {}
    section, n = "", {"likert": -1, "multi": -1, "recode": -1, "option": -1, "age": -1}
    for line in text.splitlines():
        code, comment = _split_comment(line)
        found = re.search(r"check:?\s*(.*)", comment)
        reason = found.group(1).strip() if found else None
        table = _TABLE.match(code)
        if table:
            name = table.group(2)
            if name == "likert" and table.group(1):
                n["likert"] += 1
                section = "likert"
            elif name == "multi_select" and table.group(1):
                n["multi"] += 1
                n["option"] = -1
                section = "multi"
            elif name == "multi_select.options":
                section = "option"
            elif name.startswith("recode."):
                n["recode"] += 1
                section = "recode"
                n["option"] = -1
            else:
                section = name
            if reason:
                target = {"recode": f"recode_{n['recode']}_header", "age_bands": "age_bands"}
                checks[target.get(section, section)] = reason
            continue
        key_match = _KEY_LINE.match(code)
        if not key_match or section in ("", "drop"):
            continue
        name = key_match.group(1).strip('"')
        if section in ("option", "recode"):
            n["option"] += 1
        elif section == "age_bands":
            n["age"] += 1
        if reason:
            checks[_field(section, name, n)] = reason
    return checks


def _field(section: str, name: str, n: dict[str, int]) -> str:
    return {
        "wave": f"wave_{name}",
        "file": f"file_{name}",
        "columns": f"col_{name}",
        "age_bands": f"age_{n['age']}_band",
        "likert": f"likert_{n['likert']}_{name}",
        "multi": f"multi_{n['multi']}_{name}",
        "option": f"multi_{n['multi']}_opt_{n['option']}_code",
        "recode": f"recode_{n['recode']}_{n['option']}_label",
    }.get(section, section)


def form_from_suggestion(text: str, columns: list[Column]) -> MappingForm:
    """The form's fields pre-filled from a suggested mapping's TOML text."""
    data = tomllib.loads(text)
    cols = data.get("columns", {})
    free = cols.get("free_text", [])
    values: dict[str, Any] = {
        "wave": data.get("wave", {}),
        "file": data.get("file", {}),
        "columns": {k: cols.get(k, "") for k in SINGLE_COLUMNS},
        "free_text": ([free] if isinstance(free, str) else list(free))[:MAX_FREE_TEXT],
        "age_bands": list(data.get("age_bands", {}).items()),
        "likert": data.get("likert", []),
        "multi": [
            {**m, "options": list(m.get("options", {}).items())}
            for m in data.get("multi_select", [])
        ],
        "recode": [(h, list(codes.items())) for h, codes in data.get("recode", {}).items()],
        "drop": data.get("drop", {}).get("columns", []),
    }
    choices = column_choices(columns)
    for name in (*values["drop"], *(values["columns"].values()), *values["free_text"]):
        if name and name not in choices:
            choices.append(name)
    return MappingForm(values=values, checks=checks_in(text), columns=choices)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _indexed(form: Mapping[str, str], prefix: str) -> list[int]:
    """The indexes n of the submitted fields named ``<prefix><n>...``, in order."""
    found = {int(m.group(1)) for k in form if (m := re.match(rf"^{prefix}(\d+)_", k))}
    return sorted(i for i in found if i < 500)


class FormErrors(Exception):
    """The form's problems, each by the field it concerns (``form`` for the whole mapping)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


def mapping_from_form(
    form: Mapping[str, str], free_text: list[str], drop: list[str], columns: list[Column]
) -> dict[str, Any]:
    """The mapping's data from the submitted form, checked; raises FormErrors by field."""
    errors: dict[str, str] = {}
    where: dict[str, str] = {}  # mapping_from_dict's name of a problem -> the form field
    known = Columns(columns)

    def column(name: str, value: str) -> str:
        if value and not known.find(value):
            errors[name] = f"{value!r} is not a column of this export"
        return value

    data: dict[str, Any] = {"wave": {}, "file": {}, "columns": {}}
    for k in ("name", "source", "period_start", "period_end"):
        if form.get(f"wave_{k}", "").strip():
            data["wave"][k] = form[f"wave_{k}"].strip()
        where[f"[wave] {k}"] = f"wave_{k}"
    rows = form.get("file_header_rows", "").strip()
    if rows:
        data["file"]["header_rows"] = int(rows) if rows.isdigit() else rows
    where["[file] header_rows"] = "file_header_rows"
    if form.get("file_sheet", "").strip():
        data["file"]["sheet"] = form["file_sheet"].strip()
    data["file"]["date_order"] = form.get("file_date_order", "dmy")
    where["[file] date_order"] = "file_date_order"
    for k in SINGLE_COLUMNS:
        if value := column(f"col_{k}", form.get(f"col_{k}", "").strip()):
            data["columns"][k] = value
        where[f"[columns] {k}"] = f"col_{k}"
    texts = [column("col_free_text", v.strip()) for v in free_text if v.strip()]
    if texts:
        data["columns"]["free_text"] = texts
    where["[columns] free_text"] = "col_free_text"
    data["age_bands"] = _age_bands(form, where)
    data["likert"] = _likert(form, where, column)
    data["multi_select"] = _multi(form, where, column)
    data["recode"] = _recode(form, where, column)
    data["drop"] = {"columns": [column("drop", d) for d in drop if d.strip()]}
    try:
        mapping_from_dict(data, source="the form")
    except InputFileError as exc:
        for problem, message in (exc.field_errors or {}).items():
            if problem in where:  # shown next to its field: the message alone
                errors.setdefault(where[problem], message[:1].upper() + message[1:])
            else:
                errors.setdefault("form", f"{problem}: {message}")
    if errors:
        raise FormErrors(errors)
    return data


def _age_bands(form: Mapping[str, str], where: dict[str, str]) -> dict[str, str]:
    bands: dict[str, str] = {}
    for i in _indexed(form, "age_"):
        answer = form.get(f"age_{i}_answer", "")
        if answer:
            bands[answer] = form.get(f"age_{i}_band", "").strip() or "?"
            where[f"[age_bands] {answer!r}"] = f"age_{i}_band"
    return bands


def _likert(form: Mapping[str, str], where: dict[str, str], column: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in _indexed(form, "likert_"):
        key = form.get(f"likert_{i}_key", "").strip()
        if not key:  # "do not import this question"
            continue
        out.append(
            {
                "key": key,
                "column": column(f"likert_{i}_column", form.get(f"likert_{i}_column", "").strip()),
                "scale": _lines(form.get(f"likert_{i}_scale", "")),
                "missing": _lines(form.get(f"likert_{i}_missing", "")),
            }
        )
        for part in ("key", "column", "scale", "missing"):
            where[f"[[likert]] #{len(out)} {part}"] = f"likert_{i}_{part}"
    return out


def _multi(form: Mapping[str, str], where: dict[str, str], column: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in _indexed(form, "multi_"):
        key = form.get(f"multi_{i}_key", "").strip()
        if not key:
            continue
        spec: dict[str, Any] = {
            "key": key,
            "question": column(f"multi_{i}_question", form.get(f"multi_{i}_question", "").strip()),
            "options": {},
        }
        n = len(out) + 1
        for part in ("key", "question", "delimiter", "options", "unknown"):
            where[f"[[multi_select]] #{n} {part}"] = f"multi_{i}_{part}"
        for j in _indexed(form, f"multi_{i}_opt_"):
            label = form.get(f"multi_{i}_opt_{j}_label", "")
            if label:
                spec["options"][label] = form.get(f"multi_{i}_opt_{j}_code", "")
                where[f"[[multi_select]] #{n} options {label!r}"] = f"multi_{i}_opt_{j}_code"
        if delimiter := form.get(f"multi_{i}_delimiter", ""):
            spec["delimiter"] = delimiter
        if unknown := form.get(f"multi_{i}_unknown", ""):
            spec["unknown"] = unknown
        out.append(spec)
    return out


def _recode(
    form: Mapping[str, str], where: dict[str, str], column: Any
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for i in _indexed(form, "recode_"):
        header = column(f"recode_{i}_header", form.get(f"recode_{i}_header", "").strip())
        if not header:
            continue
        codes = {}
        for j in _indexed(form, f"recode_{i}_"):
            if code := form.get(f"recode_{i}_{j}_code", "").strip():
                codes[code] = form.get(f"recode_{i}_{j}_label", "").strip()
        out[header] = codes
        where[f"[recode.{header!r}]"] = f"recode_{i}_header"
    return out


def _q(value: Any) -> str:
    if isinstance(value, bool | int):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_q(v) for v in value) + "]"
    return json.dumps(str(value)).replace("\x7f", "\\u007f")


def to_toml(data: dict[str, Any]) -> str:
    """The mapping's data as TOML (what ``load_mapping`` reads back to the same mapping)."""
    out = ["# Built from the mapping form"]
    for table in ("wave", "file", "columns", "age_bands", "drop"):
        out.append(f"\n[{table}]")
        out += [f"{_q(k)} = {_q(v)}" for k, v in data.get(table, {}).items()]
    for item in data.get("likert", []):
        out.append("\n[[likert]]")
        out += [f"{k} = {_q(v)}" for k, v in item.items()]
    for item in data.get("multi_select", []):
        out.append("\n[[multi_select]]")
        out += [f"{k} = {_q(v)}" for k, v in item.items() if k != "options"]
        out.append("[multi_select.options]")
        out += [f"{_q(k)} = {_q(v)}" for k, v in item["options"].items()]
    for header, codes in data.get("recode", {}).items():
        out.append(f"\n[recode.{_q(header)}]")
        out += [f"{_q(k)} = {_q(v)}" for k, v in codes.items()]
    return "\n".join(out) + "\n"
