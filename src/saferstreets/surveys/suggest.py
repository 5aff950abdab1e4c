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
from saferstreets.surveys.mapping import PLACEHOLDER
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
    "car_park": "car carpark carparks parking multistorey",
    "underpass": "underpass underpasses subway subways tunnel tunnels footbridge",
    "taxi_rank": "taxi taxis rank ranks cab cabs",
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
    "intimidation intimidating verbal insults",
    "groups_of_men": "groups group gangs gang men boys lads loitering hanging around",
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
_FREE_TEXT_WHY = "long, varied answers read as free text (scrubbed of contact details)"
_AGE_UNREAD = (
    "  # check: not read as an age: write its band, or delete the line to quarantine the answer"
)
_SAFE_Q = re.compile(r"\b(un)?safe(ty|ly)?\b", re.I)
_CODE = re.compile(r"^-?\d{1,2}$")
# "1 = Very unsafe, 5 = Very safe" or "(1 - very unsafe ... 5 - very safe)" in a question's text
_CODE_IN_TEXT = re.compile(r"\b(\d{1,2})\s*[=:-]\s*([A-Za-z][A-Za-z' ]{1,40}?)\s*(?=[,;)/]|\d|$)")


def _codes(values: list[str]) -> list[int] | None:
    """The distinct whole-number codes when every answer is one (a numeric export), else None."""
    if not values or not all(_CODE.match(v.strip()) for v in values):
        return None
    return sorted({int(v) for v in values})


def _labels_in_text(text: str) -> dict[int, str]:
    """Codes the question's own text explains ("1 = Very unsafe ... 5 = Very safe")."""
    return {int(n): label.strip() for n, label in _CODE_IN_TEXT.findall(text)}


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
SETTING_VOCAB = {s.code: _tokens(SETTING_WORDS[s.code]) for s in SETTINGS}

# A phrase that settles what an option or question means (the longest phrase found wins).
SETTING_PHRASES: dict[str, tuple[str, ...]] = {
    "car_park": ("car park", "carpark", "multi-storey", "multi storey", "parking"),
    "underpass": ("underpass", "subway"),
    "taxi_rank": ("taxi rank",),
    "park": ("park", "open space", "green space", "playing field", "woodland", "common"),
    "quiet_street": ("quiet street", "quiet road", "residential street", "side street", "alley"),
    "busy_place": ("town centre", "city centre", "high street", "shopping", "busy street"),
    "public_transport": ("bus", "train", "station", "public transport", "tram", "tube"),
    "night_time_economy": ("pub", "club", "bar", "night out", "nightlife"),
    "home_area": ("local area", "neighbourhood", "neighborhood", "where you live", "near home"),
}
THEME_PHRASES: dict[str, tuple[str, ...]] = {
    "groups_of_men": (
        "groups of men",
        "group of men",
        "gangs of men",
        "groups of boys",
        "groups of lads",
        "groups of young men",
        "men hanging around",
        "loitering",
    ),
    "poor_lighting": ("lighting", "street light", "poorly lit", "badly lit", "unlit"),
    "no_cctv": ("cctv",),
    "being_followed": ("followed", "stalk"),
    "blind_spots": ("underpass", "subway", "alley", "hiding place"),
    "transport": ("taxi rank", "bus stop", "station", "public transport"),
    "drink_drugs": ("drunk", "drugs", "alcohol", "spiking"),
    "overgrown": ("overgrown",),
    "isolated": ("isolated", "deserted", "quiet street", "no one around", "nobody around"),
}


def _match(
    text: str, vocab: dict[str, set[str]], phrases: dict[str, tuple[str, ...]]
) -> tuple[str | None, str | None]:
    """The code an option or question most likely means, and why it needs checking (None: sure).

    Sure only when a phrase settles it and no other code reads as well, or when every word
    matches one code alone; anything less says why it is a guess."""
    k = norm.key(text)
    hits = sorted(
        ((len(p), code) for code, ps in phrases.items() for p in ps if re.search(rf"\b{p}", k)),
        reverse=True,
    )
    words = _tokens(text)
    scored = sorted(
        ((len(words & v) / len(words) if words else 0.0, code) for code, v in vocab.items()),
        reverse=True,
    )
    (best, best_code), (runner, runner_code) = scored[0], scored[1]
    if hits:
        code = hits[0][1]
        rivals = sorted({c for n, c in hits if n == hits[0][0] and c != code})
        if rivals:
            return code, f"also reads as {rivals[0]}"
        if best >= 0.5 and best_code not in {c for _, c in hits}:
            return code, f"also reads as {best_code}"
        return code, None
    if best < 0.34:
        return None, "no close match in the taxonomy"
    matched = len(words & vocab[best_code])
    if runner == best:
        return best_code, f"as close to {runner_code}"
    if best >= 0.99 and matched >= 2:
        return best_code, None
    if matched < 2:
        return best_code, f"only '{sorted(words & vocab[best_code])[0]}' matches"
    return best_code, f"{matched} of {len(words)} words match"


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


def _likert_key(text: str, used: set[str], place: str | None = None) -> tuple[str, bool]:
    """``<time>.<setting>`` for a feel-safe question, and whether it is a sure guess.

    ``place`` is a matrix row's own text ("In a park"): the setting is read from it alone."""
    time = "after_dark" if re.search(r"dark|night|evening", text, re.I) else "day"
    setting, why = _match(place or text, SETTING_VOCAB, SETTING_PHRASES)
    sure = setting is not None and why is None
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

    numeric = personal.tool == "Qualtrics (numeric values)"
    recodes: list[str] = []
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

    def add_numeric_likert(
        column_name: str, text: str, codes: list[int], place: str | None = None
    ) -> bool:
        """A feel-safe question exported as codes: a [[likert]] on labels and the [recode]."""
        told = _labels_in_text(text)
        if told and set(codes) <= set(told):
            labels = {c: told[c] for c in sorted(told)}
            why = "labels read from the question's text"
            scale = tuple(labels[c] for c in sorted(labels))
        else:
            scale = next((sc for sc in SAFETY_SCALES if len(sc) >= max(codes)), SAFETY_SCALES[0])
            if max(codes) > len(scale) + 2 or min(codes) < 1:
                return False
            labels = {n: scale[n - 1] if n <= len(scale) else "" for n in range(1, max(codes) + 1)}
            why = (
                f"codes, not labels: assumed 1 = {scale[0]} .. {len(scale)} = {scale[-1]}; "
                "compare with the survey's choices"
            )
        key, sure = _likert_key(text, used_keys, place)
        if key in used_keys:
            return False
        used_keys.add(key)
        likert.append(
            "\n".join(
                [
                    "[[likert]]",
                    f"key = {_q(key)}" + ("" if sure else "  # check: time and setting guessed"),
                    f"column = {_q(column_name)}",
                    f"scale = [{', '.join(_q(s) for s in scale)}]",
                    'missing = []  # codes recoded to "" below are missing answers',
                ]
            )
        )
        block = [f"[recode.{_q(column_name)}]  # check: {why}"]
        for n, label in labels.items():
            comment = "" if label else '  # check: assumed "prefer not to say": a missing answer'
            block.append(f"{_q(str(n))} = {_q(label)}{comment}")
        recodes.append("\n".join(block))
        return True

    def add_multi(question: str, labels: list[str], delimiter: str | None) -> None:
        theme_total = sum(_best(label, THEME_VOCAB)[1] for label in labels)
        setting_total = sum(_best(label, SETTING_VOCAB)[1] for label in labels)
        is_settings = setting_total > theme_total or bool(
            re.search(r"\bwhere\b|places", question, re.I)
        )
        vocab, phrases = (
            (SETTING_VOCAB, SETTING_PHRASES) if is_settings else (THEME_VOCAB, THEME_PHRASES)
        )
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
            code, why = _match(label, vocab, phrases)
            if re.match(r"other\b", norm.key(label)):
                block.append(f"{_q(label)} = {_q(OTHER)}")
            elif code is None:
                block.append(f"{_q(label)} = {_q(OTHER)}  # check: {why}")
            else:
                block.append(f"{_q(label)} = {_q(code)}" + (f"  # check: {why}" if why else ""))
        multi.append("\n".join(block))

    for block in blocks:
        first = block[0]
        question = first.question
        if len(block) > 1 and not all(norm.key(c.option or "") in RESPONSE_LABELS for c in block):
            # A block of sub-columns: a matrix of Likert questions, or a multi-select.
            block_codes = [_codes(_values(rows, c)) for c in block]
            if (
                all(block_codes)
                and any(max(c or [0]) > 1 for c in block_codes)
                and _SAFE_Q.search(question)
            ):  # a numeric matrix: several codes per column, where a multi-select has only 1
                for column, codes in zip(block, block_codes, strict=True):
                    if not add_numeric_likert(
                        column.label, column.label, codes or [1], column.option
                    ):
                        skipped.append(f"{column.label} (numeric codes not read as a scale)")
                continue
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
            codes = _codes(values)
            if (
                codes
                and _SAFE_Q.search(column.label)
                and add_numeric_likert(header, column.label, codes)
            ):
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
            if _AREA.search(k) and "area" not in columns and not _SAFE_Q.search(k):
                sure = re.search(r"which (area|district|town|ward|borough)|where do you live", k)
                columns["area"] = (
                    header,
                    "  # matched to imported areas by code or name"
                    + ("" if sure else "; check: the heading only mentions an area"),
                )
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
        out.add(f"free_text = {_q(free_text[0])}  # check: {_FREE_TEXT_WHY}")
    elif free_text:
        out.add(f"free_text = [{', '.join(_q(t) for t in free_text)}]  # check: {_FREE_TEXT_WHY}")
    age_codes = _codes(age_values)
    if age_values and age_codes and (numeric or max(age_codes) <= 12):
        out.add()
        out.add(
            "[age_bands]  # check: the answers are codes, not ages: write the band each stands "
            "for (the import refuses '?')"
        )
        for n in age_codes:
            out.add(f'{_q(str(n))} = "?"  # check: the age band of code {n}')
    elif age_values:
        bands: dict[str, str] = {}
        for value in sorted(set(age_values), key=lambda v: (_age_sort(v), v)):
            try:
                band = norm.age_band(value)
            except norm.AnswerError:
                band = None
            if band is not None and len(bands) < 30:
                bands[value] = band if norm.reads_as_age(value) else PLACEHOLDER
        if bands:
            out.add()
            out.add("[age_bands]  # answer -> band; 'Prefer not to say' is kept as missing")
            for value, band in bands.items():
                out.add(f"{_q(value)} = {_q(band)}" + _AGE_UNREAD * (band == PLACEHOLDER))
    for block_text in likert + multi:
        out.add()
        out.add(block_text)
    for block_text in recodes:
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
