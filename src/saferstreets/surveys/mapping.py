"""The survey mapping: a TOML file that says which column of an export means what.

See docs/importing-surveys.md for the format. ``load_mapping`` reads and checks a file and
reports every problem in it at once, each named by its table and key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from saferstreets.errors import InputFileError
from saferstreets.surveys.normalise import key
from saferstreets.themes.taxonomy import OTHER, SETTING_CODES, THEME_CODES

COLUMN_KEYS = (
    "respondent",
    "date",
    "age_band",
    "gender",
    "area",
    "postcode",
    "latitude",
    "longitude",
    "free_text",
)
TIMES = ("day", "after_dark")
MULTI_KEYS = {"concerns": (*THEME_CODES, OTHER), "settings": (*SETTING_CODES, OTHER)}
PLACEHOLDER = "?"  # what a suggestion writes where only the analyst knows the answer
LIKERT_KEY = re.compile(r"^(day|after_dark)\.([a-z_]+)$")


@dataclass(frozen=True)
class WaveSpec:
    name: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    source: str | None = None


@dataclass(frozen=True)
class FileSpec:
    header_rows: int | None = None  # detected when None
    sheet: str | None = None
    date_order: str = "dmy"  # dmy (UK) or mdy (US exports)


@dataclass(frozen=True)
class LikertSpec:
    key: str  # <time>.<setting code>
    column: str
    scale: tuple[str, ...]
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class MultiSelectSpec:
    key: str  # concerns | settings
    question: str
    options: dict[str, str]  # answer label -> code
    delimiter: str | None = None  # one-cell multi-select; None: column per option (or detected)
    unknown: str | None = None  # code for options not listed; None: quarantine them


@dataclass(frozen=True)
class SurveyMapping:
    wave: WaveSpec
    file: FileSpec = field(default_factory=FileSpec)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> header name(s)
    age_bands: dict[str, str] = field(default_factory=dict)
    likert: tuple[LikertSpec, ...] = ()
    multi_select: tuple[MultiSelectSpec, ...] = ()
    drop: tuple[str, ...] = ()  # more columns never to store (the tools' own are always dropped)
    # header -> {code: label}: numeric exports' codes read as labels; "" is a missing answer
    recode: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = "<mapping>"

    def column_names(self) -> list[str]:
        """Every header name the mapping refers to (for choosing a sheet and header rows)."""
        names = [n for values in self.columns.values() for n in values]
        names += [spec.column for spec in self.likert]
        names += [spec.question for spec in self.multi_select]
        names += list(self.recode)
        return names

    def to_dict(self) -> dict[str, Any]:
        """The mapping as plain data, as stored with the wave."""
        data = asdict(self)
        for k in ("period_start", "period_end"):
            if data["wave"][k] is not None:
                data["wave"][k] = data["wave"][k].isoformat()
        return data


def load_mapping(path: Path | str) -> SurveyMapping:
    """Read and check a mapping TOML file; every problem in it is reported at once."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            path,
            "mapping file not found",
            hint="write one with: saferstreets import survey EXPORT --suggest-mapping",
        )
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputFileError(
            path, "the mapping is not UTF-8 text", hint="save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(
            path,
            f"is not valid TOML: {exc}",
            hint="check quotes around header text and the line named",
        ) from None
    return mapping_from_dict(data, source=str(path))


def mapping_from_dict(data: dict[str, Any], *, source: str = "<mapping>") -> SurveyMapping:
    """Build a mapping from parsed TOML, raising one error that lists every problem."""
    errors: dict[str, str] = {}
    known_tables = {
        "wave",
        "file",
        "columns",
        "age_bands",
        "likert",
        "multi_select",
        "drop",
        "recode",
    }
    for name in data:
        if name not in known_tables:
            errors[name] = f"unknown table; use {', '.join(sorted(known_tables))}"

    wave_data = _table(data, "wave", errors)
    _unknown_keys(wave_data, {"name", "period_start", "period_end", "source"}, "[wave]", errors)
    wave = WaveSpec(
        name=_opt_str(wave_data, "name", "[wave]", errors),
        period_start=_opt_date(wave_data, "period_start", errors),
        period_end=_opt_date(wave_data, "period_end", errors),
        source=_opt_str(wave_data, "source", "[wave]", errors),
    )
    if wave.period_start and wave.period_end and wave.period_end < wave.period_start:
        errors["[wave] period_end"] = "is before period_start"

    file_data = _table(data, "file", errors)
    _unknown_keys(file_data, {"header_rows", "sheet", "date_order"}, "[file]", errors)
    header_rows = file_data.get("header_rows")
    if header_rows is not None and (not isinstance(header_rows, int) or not 1 <= header_rows <= 3):
        errors["[file] header_rows"] = "must be 1, 2 or 3"
        header_rows = None
    date_order = file_data.get("date_order", "dmy")
    if date_order not in ("dmy", "mdy"):
        errors["[file] date_order"] = 'must be "dmy" (day first, UK) or "mdy" (month first, US)'
        date_order = "dmy"
    file = FileSpec(
        header_rows=header_rows,
        sheet=_opt_str(file_data, "sheet", "[file]", errors),
        date_order=date_order,
    )

    columns_data = _table(data, "columns", errors)
    _unknown_keys(columns_data, set(COLUMN_KEYS), "[columns]", errors)
    columns: dict[str, tuple[str, ...]] = {}
    for name, value in columns_data.items():
        if name not in COLUMN_KEYS:
            continue
        if isinstance(value, str) and value.strip():
            columns[name] = (value,)
        elif (
            name == "free_text"
            and isinstance(value, list)
            and value
            and all(isinstance(v, str) and v.strip() for v in value)
        ):
            columns[name] = tuple(value)
        else:
            errors[f"[columns] {name}"] = "must be the header text of a column" + (
                " (or a list of them)" if name == "free_text" else ""
            )

    age_data = _table(data, "age_bands", errors)
    age_bands: dict[str, str] = {}
    for answer, band in age_data.items():
        if isinstance(band, str) and band.strip() == PLACEHOLDER:
            errors[f"[age_bands] {answer!r}"] = (
                f"'{PLACEHOLDER}' is a placeholder: write the age band that answer {answer!r} "
                "stands for"
            )
        elif not isinstance(band, str) or not band.strip() or len(band) > 16:
            errors[f"[age_bands] {answer!r}"] = "must map to a band of at most 16 characters"
        else:
            age_bands[key(answer)] = band.strip()

    likert: list[LikertSpec] = []
    seen_keys: set[str] = set()
    for i, item in enumerate(_array(data, "likert", errors), start=1):
        where = f"[[likert]] #{i}"
        _unknown_keys(item, {"key", "column", "scale", "missing"}, where, errors)
        spec_key = item.get("key")
        match = LIKERT_KEY.match(spec_key) if isinstance(spec_key, str) else None
        if not match:
            errors[f"{where} key"] = (
                f"{spec_key!r} must be <time>.<setting>, time one of {', '.join(TIMES)}"
            )
        elif match.group(2) not in SETTING_CODES:
            errors[f"{where} key"] = (
                f"setting {match.group(2)!r} is not one of {', '.join(SETTING_CODES)}"
            )
        elif spec_key in seen_keys:
            errors[f"{where} key"] = f"{spec_key!r} is used by an earlier [[likert]]"
        column = item.get("column")
        if not isinstance(column, str) or not column.strip():
            errors[f"{where} column"] = "must be the header text of the question's column"
        scale = item.get("scale")
        if (
            not isinstance(scale, list)
            or len(scale) < 2
            or not all(isinstance(s, str) and s.strip() for s in scale)
        ):
            errors[f"{where} scale"] = "must list at least two answer labels, lowest first"
            scale = []
        elif len({key(s) for s in scale}) != len(scale):
            errors[f"{where} scale"] = "lists the same label twice"
        missing = item.get("missing", [])
        if not isinstance(missing, list) or not all(isinstance(s, str) for s in missing):
            errors[f"{where} missing"] = "must be a list of answer labels"
            missing = []
        elif {key(m) for m in missing} & {key(s) for s in scale}:
            errors[f"{where} missing"] = "repeats a label that is on the scale"
        if isinstance(spec_key, str):
            seen_keys.add(spec_key)
        if f"{where} key" not in errors and isinstance(spec_key, str) and isinstance(column, str):
            likert.append(
                LikertSpec(key=spec_key, column=column, scale=tuple(scale), missing=tuple(missing))
            )

    multi: list[MultiSelectSpec] = []
    for i, item in enumerate(_array(data, "multi_select", errors), start=1):
        where = f"[[multi_select]] #{i}"
        _unknown_keys(item, {"key", "question", "delimiter", "options", "unknown"}, where, errors)
        spec_key = item.get("key")
        if spec_key not in MULTI_KEYS:
            errors[f"{where} key"] = f"{spec_key!r} must be one of {', '.join(MULTI_KEYS)}"
            continue
        question = item.get("question")
        if not isinstance(question, str) or not question.strip():
            errors[f"{where} question"] = "must be the question's header text"
        delimiter = item.get("delimiter")
        if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
            errors[f"{where} delimiter"] = 'must be a character such as ";"'
            delimiter = None
        options = item.get("options")
        if not isinstance(options, dict) or not options:
            errors[f"{where} options"] = "must map each answer label to a code"
            options = {}
        allowed = MULTI_KEYS[spec_key]
        for label, code in options.items():
            if code not in allowed:
                errors[f"{where} options {label!r}"] = (
                    f"{code!r} is not a {spec_key[:-1]} code; use one of {', '.join(allowed)}"
                )
        unknown = item.get("unknown")
        if unknown is not None and unknown not in allowed:
            errors[f"{where} unknown"] = f"{unknown!r} is not a {spec_key[:-1]} code"
        if isinstance(question, str):
            multi.append(
                MultiSelectSpec(
                    key=spec_key,
                    question=question,
                    options=dict(options),
                    delimiter=delimiter,
                    unknown=unknown,
                )
            )

    drop_data = _table(data, "drop", errors)
    _unknown_keys(drop_data, {"columns"}, "[drop]", errors)
    drop = drop_data.get("columns", [])
    if not isinstance(drop, list) or not all(isinstance(d, str) and d.strip() for d in drop):
        errors["[drop] columns"] = "must be a list of header texts"
        drop = []

    recode = _recode(_table(data, "recode", errors), errors)

    if not (columns or likert or multi):
        errors.setdefault(
            "[columns]", "the mapping names no columns, [[likert]] or [[multi_select]]"
        )
    if errors:
        raise InputFileError(
            source,
            f"the mapping has {len(errors)} problem{'s' if len(errors) != 1 else ''}",
            field_errors=errors,
            hint="fix these in the mapping file and run the import again",
        )
    return SurveyMapping(
        wave=wave,
        file=file,
        columns=columns,
        age_bands=age_bands,
        likert=tuple(likert),
        multi_select=tuple(multi),
        drop=tuple(drop),
        recode=recode,
        source=source,
    )


def _recode(table: dict[str, Any], errors: dict[str, str]) -> dict[str, dict[str, str]]:
    """``[recode."header"]`` tables: each code (as written in the export) to the label it means;
    an empty label makes the code a missing answer ("prefer not to say")."""
    out: dict[str, dict[str, str]] = {}
    for header, codes in table.items():
        where = f"[recode.{header!r}]"
        if not isinstance(codes, dict) or not codes:
            errors[where] = 'must map each code to a label, e.g. "1" = "Very unsafe"'
            continue
        bad = [c for c, v in codes.items() if not isinstance(v, str) or len(v) > 200]
        placeholders = [c for c, v in codes.items() if isinstance(v, str) and v == PLACEHOLDER]
        if bad:
            errors[where] = f'code {bad[0]!r} must map to a label (text), or "" for missing'
        elif placeholders:
            errors[where] = (
                f"code {placeholders[0]!r} is still '{PLACEHOLDER}': write the label it stands for"
            )
        else:
            out[header] = {str(c): v.strip() for c, v in codes.items()}
    return out


def _table(data: dict[str, Any], name: str, errors: dict[str, str]) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        errors[f"[{name}]"] = "must be a table"
        return {}
    return value


def _array(data: dict[str, Any], name: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors[f"[[{name}]]"] = "must be an array of tables"
        return []
    return value


def _unknown_keys(
    table: dict[str, Any], allowed: set[str], where: str, errors: dict[str, str]
) -> None:
    for name in table:
        if name not in allowed:
            errors[f"{where} {name}"] = f"unknown key; use {', '.join(sorted(allowed))}"


def _opt_str(table: dict[str, Any], name: str, where: str, errors: dict[str, str]) -> str | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        errors[f"{where} {name}"] = "must be text"
        return None
    return value.strip()


def _opt_date(table: dict[str, Any], name: str, errors: dict[str, str]) -> date | None:
    value = table.get(name)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[f"[wave] {name}"] = f"{value!r} is not a date (use YYYY-MM-DD)"
        return None
