"""Suggesting a mapping for a new export, from its headers and answers.

The suggestion is a starting point that an analyst checks: every guess that could be wrong
carries a ``# check`` comment, and questions it could not place are listed as comments at the end.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from saferstreets.surveys import normalise as norm
from saferstreets.surveys.personal import PersonalColumns, find_personal
from saferstreets.surveys.reader import RESPONSE_LABELS, Column, read_table
from saferstreets.themes.taxonomy import OTHER, SETTINGS, THEMES

SAMPLE_ROWS = 5000

# Scale families, lowest first; a column is Likert when every answer is on one variant.
SAFETY_SCALES = (
    ("Very unsafe", "Fairly unsafe", "Neither safe nor unsafe", "Fairly safe", "Very safe"),
    ("Very unsafe", "Unsafe", "Neither safe nor unsafe", "Safe", "Very safe"),
    ("Very unsafe", "Quite unsafe", "Neither safe nor unsafe", "Quite safe", "Very safe"),
    ("Very unsafe", "Somewhat unsafe", "Neither safe nor unsafe", "Somewhat safe", "Very safe"),
    ("Very unsafe", "A bit unsafe", "Fairly safe", "Very safe"),
)
OTHER_SCALES = (
    ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"),
    (
        "Strongly disagree",
        "Tend to disagree",
        "Neither agree nor disagree",
        "Tend to agree",
        "Strongly agree",
    ),
    (
        "Strongly disagree",
        "Somewhat disagree",
        "Neither agree nor disagree",
        "Somewhat agree",
        "Strongly agree",
    ),
    (
        "Very unlikely",
        "Fairly unlikely",
        "Neither likely nor unlikely",
        "Fairly likely",
        "Very likely",
    ),
    ("Very unlikely", "Unlikely", "Neither likely nor unlikely", "Likely", "Very likely"),
    ("Never", "Rarely", "Sometimes", "Often", "Always"),
    ("Never", "Rarely", "Sometimes", "Often", "Very often"),
    ("Never", "Occasionally", "Sometimes", "Often", "Always"),
    ("Not at all worried", "Not very worried", "Fairly worried", "Very worried"),
)
MISSING_ANSWERS = (
    "Don't know",
    "Prefer not to say",
    "Not applicable",
    "N/A",
    "I don't go there",
    "I don't go there after dark",
    "Does not apply",
    "Not sure",
)

SETTING_WORDS = {
    "park": "park parks open space spaces green common countryside woods woodland field fields "
    "recreation ground playground",
    "quiet_street": "quiet street streets road roads residential alley alleys alleyway lane path",
    "busy_place": "town centre center city high street shopping busy shops market",
    "public_transport": "bus buses train trains station stations transport taxi taxis tube tram "
    "stop stops",
    "night_time_economy": "pub pubs club clubs bar bars night out nightlife venue venues nightclub",
    "home_area": "local area neighbourhood neighborhood home live near where your",
}
THEME_WORDS = {
    "poor_lighting": "lighting lights lit dark darkness street lights",
    "no_cctv": "cctv camera cameras recorded",
    "isolated": "isolated deserted empty alone quiet nobody remote",
    "blind_spots": "alley alleys alleyway underpass underpasses hidden corners layout hiding "
    "blind spots",
    "overgrown": "overgrown bushes hedges trees vegetation sightlines",
    "rundown": "rundown run down derelict graffiti litter vandalism boarded neglected",
    "verbal_harassment": "shouting shouted abuse abusive catcalling catcalled harassment harassed "
    "intimidation intimidating groups gangs verbal insults",
    "being_followed": "followed following stalked stalking",
    "staring": "staring stared leering leered watched",
    "sexual_comments": "sexual comments remarks gestures wolf whistling whistled",
    "touching": "touching touched groping groped grabbed assault",
    "indecent_exposure": "indecent exposure exposed flashing flasher",
    "taking_pictures": "pictures photos photographs filming filmed upskirting",
    "drink_drugs": "drunk drink drinking alcohol drugs drug dealing spiking spiked",
    "transport": "bus buses train trains station stations transport taxi taxis stop",
}
_STOP_WORDS = (
    "a an and or the of in on at to for by with from is are be been was were it its my me i you "
    "your people person there this that not no any other please specify feel feeling makes make "
    "unsafe safe"
)
_STOP = frozenset(_STOP_WORDS.split())

_META = re.compile(
    r"^(collector id|start ?date|start time|status|progress|duration.*|finished|"
    r"distribution ?channel|user ?language|last modified time|recorded ?date|response ?type|"
    r"started|ended|userid|user id)$"
)
_RESPONDENT = re.compile(r"^(respondent( id| no\.?| number)?|response ?id|id|userno|user no)$")
_DATE_HEADER = re.compile(
    r"(end ?date|completion time|date submitted|submitted|submit date|"
    r"timestamp|completed|^date$|ended)"
)
_AGE = re.compile(r"\bage\b|how old")
_GENDER = re.compile(r"gender|\bsex\b|describes? you")
_AREA = re.compile(
    r"which (area|district|town|ward|borough)|where do you live|\barea\b|\bward\b|"
    r"\bdistrict\b"
)
_POSTCODE_HEADER = re.compile(r"post ?code")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _tokens(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", norm.key(text))
    out = set()
    for w in words:
        if w in _STOP or len(w) < 2:
            continue
        out.add(w)
        if w.endswith("s") and len(w) > 3:
            out.add(w[:-1])
    return out


def _best(text: str, vocab: dict[str, set[str]]) -> tuple[str | None, float]:
    words = _tokens(text)
    if not words:
        return None, 0.0
    scored = sorted(
        ((len(words & v) / len(words), code) for code, v in vocab.items()), reverse=True
    )
    score, code = scored[0]
    return (code, score) if score > 0 else (None, 0.0)


THEME_VOCAB = {
    t.code: _tokens(" ".join((t.label, t.description, *t.examples, THEME_WORDS.get(t.code, ""))))
    for t in THEMES
}
SETTING_VOCAB = {s.code: _tokens(s.label + " " + SETTING_WORDS[s.code]) for s in SETTINGS}


def _scale_for(values: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], bool] | None:
    """(scale, missing answers seen, is a feel-safe scale) when every answer is on one scale."""
    keys = {norm.key(v) for v in values}
    missing = {norm.key(m): m for m in MISSING_ANSWERS}
    answers = keys - set(missing)
    if not answers:
        return None
    for scales, safety in ((SAFETY_SCALES, True), (OTHER_SCALES, False)):
        for scale in scales:
            if answers <= {norm.key(s) for s in scale}:
                seen_missing = tuple(missing[k] for k in sorted(keys & set(missing)))
                return scale, seen_missing, safety
    return None


def _values(rows: list[tuple[int, list[Any]]], column: Column) -> list[str]:
    out = []
    for _, cells in rows:
        text = norm.cell_text(cells[column.index]) if column.index < len(cells) else None
        if text is not None:
            out.append(text)
    return out


def _likert_key(text: str, used: set[str]) -> tuple[str, bool]:
    """``<time>.<setting>`` for a feel-safe question, and whether it is a sure guess."""
    time = "after_dark" if re.search(r"dark|night|evening", text, re.I) else "day"
    setting, score = _best(text, SETTING_VOCAB)
    sure = setting is not None and score > 0
    return f"{time}.{setting or 'home_area'}", sure and f"{time}.{setting}" not in used


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def suggest(path: Path, *, sheet: str | None = None) -> str:
    """The suggested mapping for the export at ``path`` as TOML text."""
    table = read_table(path, sheet=sheet)
    rows = table.rows[:SAMPLE_ROWS]
    personal = find_personal(table)
    blocks: list[list[Column]] = []
    for column in table.columns:
        if column.index in personal.dropped:
            continue
        if blocks and blocks[-1][-1].question == column.question and column.option is not None:
            blocks[-1].append(column)
        else:
            blocks.append([column])

    columns: dict[str, tuple[str, str]] = {}  # key -> (header, comment)
    free_text: list[str] = []
    likert: list[str] = []
    multi: list[str] = []
    age_values: list[str] = []
    skipped: list[str] = []
    used_keys: set[str] = set()
    date_order = "dmy"
    date_order_sure = False

    def name_of(column: Column, block: list[Column]) -> str:
        return column.question if len(block) == 1 else column.label

    def add_likert(column_name: str, text: str, values: list[str]) -> bool:
        found = _scale_for(values)
        if found is None:
            return False
        scale, missing, safety = found
        key, sure = _likert_key(text, used_keys)
        block = []
        if not safety:
            block.append(
                "# Not a feel-safe question (feel_safe keys are <time>.<setting>): "
                "uncomment and set a key to import it."
            )
        elif key in used_keys:
            block.append(f"# check: {key} is already used above; set another key and uncomment.")
            safety = False
        prefix = "" if safety else "# "
        block.append(prefix + "[[likert]]")
        block.append(
            prefix
            + f"key = {_q(key)}"
            + ("" if sure or not safety else "  # check: time and setting guessed")
        )
        block.append(prefix + f"column = {_q(column_name)}")
        block.append(prefix + f"scale = [{', '.join(_q(s) for s in scale)}]")
        block.append(
            prefix + f"missing = [{', '.join(_q(m) for m in (missing or MISSING_ANSWERS[:2]))}]"
        )
        if safety:
            used_keys.add(key)
        likert.append("\n".join(block))
        return True

    def add_multi(question: str, labels: list[str], delimiter: str | None) -> None:
        theme_total = sum(_best(label, THEME_VOCAB)[1] for label in labels)
        setting_total = sum(_best(label, SETTING_VOCAB)[1] for label in labels)
        is_settings = setting_total > theme_total or bool(
            re.search(r"\bwhere\b|places", question, re.I)
        )
        vocab = SETTING_VOCAB if is_settings else THEME_VOCAB
        block = [
            "[[multi_select]]",
            f"key = {_q('settings' if is_settings else 'concerns')}"
            + (
                "  # check: concerns or settings"
                if min(theme_total, setting_total) > 0.5 * max(theme_total, setting_total)
                else ""
            ),
            f"question = {_q(question)}",
        ]
        if delimiter:
            block.append(f"delimiter = {_q(delimiter)}")
        block.append("[multi_select.options]")
        for label in labels:
            code, score = _best(label, vocab)
            if re.match(r"other\b", norm.key(label)):
                block.append(f"{_q(label)} = {_q(OTHER)}")
            elif code is None or score < 0.34:
                block.append(f"{_q(label)} = {_q(OTHER)}  # check: no close match in the taxonomy")
            else:
                block.append(f"{_q(label)} = {_q(code)}" + ("" if score >= 0.99 else "  # check"))
        multi.append("\n".join(block))

    for block in blocks:
        first = block[0]
        question = first.question
        if len(block) > 1 and not all(norm.key(c.option or "") in RESPONSE_LABELS for c in block):
            # A block of sub-columns: a matrix of Likert questions, or a multi-select.
            if all(_scale_for(_values(rows, c)) for c in block):
                for column in block:
                    add_likert(column.label, column.label, _values(rows, column))
                continue
            # Any text in a column counts as choosing its option ('Other (please specify)' too).
            add_multi(question, [c.option or c.question for c in block], None)
            continue
        for column in block:
            header = name_of(column, block)
            k = norm.key(column.header or column.question)
            values = _values(rows, column)
            if _RESPONDENT.match(k) and "respondent" not in columns:
                columns["respondent"] = (header, "")
                continue
            if _DATE_HEADER.search(k) and "date" not in columns and values:
                parsed = _parse_dates(values)
                if parsed is not None:
                    columns["date"] = (header, "")
                    date_order, date_order_sure = parsed
                    continue
            if _META.match(k):
                skipped.append(f"{header} (survey tool's own column)")
                continue
            if k in ("latitude", "lat") and "latitude" not in columns:
                columns["latitude"] = (header, "")
                continue
            if k in ("longitude", "lon", "lng", "long") and "longitude" not in columns:
                columns["longitude"] = (header, "")
                continue
            if not values:
                skipped.append(f"{header} (no answers)")
                continue
            if add_likert(header, column.label, values):
                continue
            with_semicolon = sum(1 for v in values if ";" in v)
            if with_semicolon >= max(1, 0.15 * len(values)):
                parts = Counter(p.strip() for v in values for p in v.split(";") if p.strip())
                add_multi(header, [p for p, _ in parts.most_common(40)], ";")
                continue
            if _POSTCODE_HEADER.search(k) or _share(values, _is_postcode) >= 0.7:
                columns.setdefault("postcode", (header, ""))
                continue
            if (_AGE.search(k) or _share(values, _is_age) >= 0.7) and "age_band" not in columns:
                columns["age_band"] = (header, "")
                age_values = values
                continue
            distinct = len(set(values))
            if _GENDER.search(k) and "gender" not in columns and distinct <= 12:
                columns["gender"] = (header, "")
                continue
            if _AREA.search(k) and "area" not in columns:
                columns["area"] = (header, "  # matched to imported areas by code or name")
                continue
            mean_len = sum(len(v) for v in values) / len(values)
            if norm.key(column.option or "") == "open-ended response" or (
                mean_len >= 25 and distinct >= 0.6 * len(values)
            ):
                free_text.append(header)
                continue
            skipped.append(f"{header} ({distinct} different answers)")

    out = _Writer()
    out.add(f"# Suggested mapping for {path.name}: check every line marked '# check',")
    out.add(
        "# then import with: saferstreets import survey "
        f"{_q(path.name)} --mapping {_q(path.name + '.mapping.toml')}"
    )
    out.add()
    out.add("[wave]")
    out.add(f"name = {_q(path.stem.replace('_', ' ').replace('-', ' '))}  # check: the wave's name")
    if personal.tool:
        out.add(f"source = {_q(personal.tool)}  # recognised from the header")
    out.add()
    out.add("[file]")
    out.add(f"header_rows = {table.header_rows}")
    if table.sheet is not None:
        out.add(f"sheet = {_q(table.sheet)}")
    if "date" in columns:
        out.add(
            f"date_order = {_q(date_order)}"
            + ("" if date_order_sure else "  # check: day first (dmy) or month first (mdy)")
        )
    out.add()
    out.add("[columns]")
    if not columns and not free_text:
        out.add("# no respondent, date, age, gender, area or free-text columns recognised")
    for name in (
        "respondent",
        "date",
        "age_band",
        "gender",
        "area",
        "postcode",
        "latitude",
        "longitude",
    ):
        if name in columns:
            header, comment = columns[name]
            out.add(f"{name} = {_q(header)}{comment}")
    if len(free_text) == 1:
        out.add(f"free_text = {_q(free_text[0])}  # check")
    elif free_text:
        out.add(f"free_text = [{', '.join(_q(t) for t in free_text)}]  # check")
    if age_values:
        bands: dict[str, str] = {}
        for value in sorted(set(age_values), key=lambda v: (_age_sort(v), v)):
            try:
                band = norm.age_band(value)
            except norm.AnswerError:
                band = None
            if band is not None and len(bands) < 30:
                bands[value] = band
        if bands:
            out.add()
            out.add("[age_bands]  # answer -> band; 'Prefer not to say' is kept as missing")
            for value, band in bands.items():
                out.add(f"{_q(value)} = {_q(band)}")
    for block_text in likert + multi:
        out.add()
        out.add(block_text)
    out.add()
    _add_drop(out, table, personal)
    if skipped:
        out.add()
        out.add("# Columns not mapped (kept in each response's raw row):")
        for item in skipped:
            out.add(f"#   {item}")
    return out.text()


def _share(values: list[str], test: Any) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def _is_postcode(value: str) -> bool:
    try:
        norm.postcode(value)
    except norm.AnswerError:
        return False
    return True


_AGE_VALUE = re.compile(r"^(under \d+|\d+ ?(-|to) ?\d+|\d+ ?(\+|and over|or over|plus))$")


def _is_age(value: str) -> bool:
    return bool(_AGE_VALUE.match(norm.key(value)))


def _age_sort(value: str) -> int:
    match = re.search(r"\d+", value)
    if not match:
        return 999
    return int(match.group()) - (1 if norm.key(value).startswith("under") else 0)


def _parse_dates(values: list[str]) -> tuple[str, bool] | None:
    """('dmy'|'mdy', sure) when most values are dates; None when they are not."""
    sample = values[:500]
    for order in ("dmy", "mdy"):
        ok = 0
        for v in sample:
            try:
                norm.parse_date(v, order=order)
                ok += 1
            except norm.AnswerError:
                pass
        if ok >= 0.8 * len(sample):
            slashed = [v for v in sample if re.match(r"^\d{1,2}[/.-]\d{1,2}[/.-]", v)]
            if not slashed:
                return "dmy", True
            firsts = [int(re.split(r"[/.-]", v)[0]) for v in slashed]
            seconds = [int(re.split(r"[/.-]", v)[1]) for v in slashed]
            if any(f > 12 for f in firsts):
                return "dmy", True
            if any(s > 12 for s in seconds):
                return "mdy", True
            return order, False
    return None


def _add_drop(out: _Writer, table: Any, personal: PersonalColumns) -> None:
    """The [drop] table: the personal columns found, each with the reason."""
    out.add("[drop]  # personal data: never stored. Name more columns here to drop them too.")
    dropped = [c for c in table.columns if c.index in personal.dropped]
    if not dropped:
        out.add("columns = []")
        return
    out.add("columns = [")
    for column in dropped:
        out.add(f"  {_q(column.label)},  # {personal.dropped[column.index]}")
    out.add("]")
