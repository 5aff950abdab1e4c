"""Survey waves as SmartSurvey-style XLSX exports with their TOML column mappings.

Each respondent gets a latent "unsafety" (one per person, plus an effect of the ward she lives
in), and each feel-safe question cuts that latent at thresholds set from the published share
feeling unsafe for her group (params), so every question's marginal follows its figure while
answers stay correlated within a person, as real answers are. Girls and boys shift from women and
men on the logit scale by the Herts YPHWS gap; women's age bands by the ONS age figures.
In the second wave, residents of wards where street lighting was upgraded feel safer after dark
and tick poor lighting less; parks drift as ONS measured between 2021 and 2022.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.special import expit, logit
from scipy.stats import norm

from saferstreets.demo import params
from saferstreets.demo.geography import County
from saferstreets.demo.text import suggestion, typo
from saferstreets.demo.xlsx import write_xlsx
from saferstreets.themes.taxonomy import SETTINGS, THEMES

FIXED_TIME = datetime(2022, 11, 1, 9, 0, 0)
SCALE = ("Very unsafe", "Fairly unsafe", "Neither safe nor unsafe", "Fairly safe", "Very safe")
DONT_KNOW = "Don't know"

AGE_LABELS: dict[str, str] = {
    "11-15": "under16",
    "16-17": "16-17",
    "18-24": "18-24",
    "25-34": "25-34",
    "35-44": "35-44",
    "45-54": "45-54",
    "55-64": "55-64",
    "65-74": "65+",
    "75 or over": "65+",
}
ADULT_AGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75 or over")
# Women's age mix among adult respondents (a modelling choice: online surveys reach few of the
# oldest).
ADULT_AGE_MIX = (0.13, 0.19, 0.19, 0.18, 0.15, 0.10, 0.06)
YOUNG_AGES = ("11-15", "16-17")

GROUPS = ("women", "girls", "men", "boys", "nonbinary", "unsaid")
GROUP_MIX = (0.66, 0.20, 0.05, 0.06, 0.015, 0.015)
GENDER_LABEL = {
    "women": "Female",
    "girls": "Female",
    "men": "Male",
    "boys": "Male",
    "nonbinary": "Non-binary",
    "unsaid": "Prefer not to say",
}

Q_AGE = "What is your age?"
Q_GENDER = "Which of these best describes you?"
Q_AREA = "Which area do you live in?"
Q_FREE = "In your own words, what would make you feel safer?"
Q_CONCERNS = "What makes you feel unsafe? (Select all that apply)"
Q_SETTINGS = "Where do you feel least safe? (Select all that apply)"
OTHER_LABEL = "Other (please specify)"

SETTING_PHRASES = {
    "park": "in a park or open space",
    "quiet_street": "in a quiet street",
    "busy_place": "in a busy place such as a high street or shopping centre",
    "public_transport": "using public transport",
    "night_time_economy": "in areas with pubs, bars and clubs",
    "home_area": "in the area where you live",
}
TIMES = {"day": "during the day", "after_dark": "after dark"}


def likert_question(time: str, setting: str) -> str:
    """The column header of a feel-safe question, e.g. '... in a quiet street after dark?'."""
    return f"How safe do you feel walking alone {SETTING_PHRASES[setting]} {TIMES[time]}?"


# Share feeling very or fairly unsafe, women 18+ and men 18+, wave 1 (see params for citations;
# entries without a published figure are modelling choices, listed in docs/demo.md).
_p = params
WOMEN_UNSAFE: dict[str, float] = {
    "after_dark.quiet_street": _p.WOMEN_UNSAFE_QUIET_STREET_DARK.value,
    "after_dark.busy_place": _p.WOMEN_UNSAFE_BUSY_DARK.value,
    "after_dark.park": _p.WOMEN_UNSAFE_PARK_DARK.value,
    "after_dark.public_transport": _p.WOMEN_UNSAFE_TRANSPORT_DARK.value,
    "after_dark.night_time_economy": 0.55,
    "after_dark.home_area": 0.40,
    "day.quiet_street": 0.06,
    "day.busy_place": 0.05,
    # all adults 7% scaled by women's after-dark excess over all adults (81/60)
    "day.park": _p.ADULTS_UNSAFE_PARK_DAY_2021.value
    * _p.WOMEN_UNSAFE_PARK_DARK.value
    / _p.ADULTS_UNSAFE_PARK_DARK_2021.value,
    "day.public_transport": _p.WOMEN_UNSAFE_TRANSPORT_DAY.value,
    "day.night_time_economy": 0.08,
    "day.home_area": 0.04,
}
MEN_UNSAFE: dict[str, float] = {
    "after_dark.quiet_street": _p.MEN_UNSAFE_QUIET_STREET_DARK.value,
    "after_dark.busy_place": _p.MEN_UNSAFE_BUSY_DARK.value,
    "after_dark.park": _p.MEN_UNSAFE_PARK_DARK.value,
    "after_dark.public_transport": _p.MEN_UNSAFE_TRANSPORT_DARK.value,
    "after_dark.night_time_economy": 0.25,
    "after_dark.home_area": 0.12,
    "day.quiet_street": 0.03,
    "day.busy_place": 0.03,
    "day.park": _p.ADULTS_UNSAFE_PARK_DAY_2021.value
    * _p.MEN_UNSAFE_PARK_DARK.value
    / _p.ADULTS_UNSAFE_PARK_DARK_2021.value,
    "day.public_transport": _p.MEN_UNSAFE_TRANSPORT_DAY.value,
    "day.night_time_economy": 0.05,
    "day.home_area": 0.02,
}
VERY_SHARE = _p.WOMEN_VERY_UNSAFE_QUIET_STREET_DARK.value / _p.WOMEN_UNSAFE_QUIET_STREET_DARK.value

# Theme tick rates for "What makes you feel unsafe?" (modelling choices, except where cited).
CONCERN_RATES: dict[str, dict[str, float]] = {
    "women": {
        "poor_lighting": 0.55,
        "no_cctv": 0.25,
        "isolated": 0.45,
        "blind_spots": 0.30,
        "overgrown": 0.20,
        "rundown": 0.20,
        "verbal_harassment": 0.30,
        "being_followed": 0.22,
        "staring": 0.22,
        "sexual_comments": 0.25,
        "touching": 0.12,
        "indecent_exposure": 0.07,
        "taking_pictures": 0.08,
        "drink_drugs": 0.35,
        "transport": 0.28,
        "specific_individual": 0.05,
    },
    "girls": {
        "poor_lighting": 0.45,
        "no_cctv": 0.15,
        "isolated": 0.40,
        "blind_spots": 0.25,
        "overgrown": 0.12,
        "rundown": 0.15,
        "verbal_harassment": 0.50,
        "being_followed": 0.32,
        "staring": 0.38,
        "sexual_comments": 0.45,
        "touching": 0.18,
        "indecent_exposure": 0.06,
        "taking_pictures": 0.22,
        "drink_drugs": 0.25,
        "transport": 0.35,
        "specific_individual": 0.06,
    },
    "men": {
        "poor_lighting": 0.35,
        "no_cctv": 0.20,
        "isolated": 0.20,
        "blind_spots": 0.15,
        "overgrown": 0.08,
        "rundown": 0.22,
        "verbal_harassment": 0.20,
        "being_followed": 0.06,
        "staring": 0.08,
        "sexual_comments": 0.03,
        "touching": 0.02,
        "indecent_exposure": 0.02,
        "taking_pictures": 0.03,
        "drink_drugs": 0.40,
        "transport": 0.15,
        "specific_individual": 0.03,
    },
}
CONCERN_RATES["boys"] = {k: min(0.9, v * 1.2) for k, v in CONCERN_RATES["men"].items()}
CONCERN_RATES["nonbinary"] = {k: min(0.9, v * 1.1) for k, v in CONCERN_RATES["women"].items()}
CONCERN_RATES["unsaid"] = CONCERN_RATES["women"]


@dataclass
class WaveFiles:
    path: Path
    mapping: Path
    wave: str


def _shift(p: float, delta: float) -> float:
    return float(expit(logit(p) + delta))


def unsafe_targets(wave_year: int) -> dict[str, dict[str, float]]:
    """Share very or fairly unsafe by group and question for a wave (before ward effects)."""
    women = dict(WOMEN_UNSAFE)
    men = dict(MEN_UNSAFE)
    if wave_year == 2022:  # ONS: parks felt less safe in 2022 than 2021, by day and after dark
        dark = logit(_p.ADULTS_UNSAFE_PARK_DARK_2022.value) - logit(
            _p.ADULTS_UNSAFE_PARK_DARK_2021.value
        )
        day = logit(_p.ADULTS_UNSAFE_PARK_DAY_2022.value) - logit(
            _p.ADULTS_UNSAFE_PARK_DAY_2021.value
        )
        for table in (women, men):
            table["after_dark.park"] = _shift(table["after_dark.park"], dark)
            table["day.park"] = _shift(table["day.park"], day)
    girls_dark = _p.GIRLS_UNSAFE_DARK_2021 if wave_year == 2021 else _p.GIRLS_UNSAFE_DARK_2022
    boys_dark = _p.BOYS_UNSAFE_DARK_2021 if wave_year == 2021 else _p.BOYS_UNSAFE_DARK_2022
    girls_day = _p.GIRLS_UNSAFE_DAY_2021 if wave_year == 2021 else _p.GIRLS_UNSAFE_DAY_2022
    boys_day = _p.BOYS_UNSAFE_DAY_2021 if wave_year == 2021 else _p.BOYS_UNSAFE_DAY_2022
    out: dict[str, dict[str, float]] = {"women": women, "men": men, "girls": {}, "boys": {}}
    g_dark = logit(girls_dark.value) - logit(women["after_dark.quiet_street"])
    g_day = logit(girls_day.value) - logit(women["day.quiet_street"])
    b_dark = logit(boys_dark.value) - logit(men["after_dark.quiet_street"])
    b_day = logit(boys_day.value) - logit(men["day.quiet_street"])
    for key in women:
        dark = key.startswith("after_dark")
        out["girls"][key] = _shift(women[key], g_dark if dark else g_day)
        out["boys"][key] = _shift(men[key], b_dark if dark else b_day)
    out["nonbinary"] = {k: _shift(v, 0.3) for k, v in women.items()}
    out["unsaid"] = dict(women)
    return out


def women_age_shifts() -> dict[str, float]:
    """Logit shifts by adult age band: ONS 16-34 and 75+ figures, middle ages solved so the
    age-weighted mean stays at the all-women figure."""
    base = _p.WOMEN_UNSAFE_QUIET_STREET_DARK.value
    young = logit(_p.WOMEN_16_34_UNSAFE_QUIET_STREET_DARK.value) - logit(base)
    old = logit(_p.WOMEN_75_UNSAFE_QUIET_STREET_DARK.value) - logit(base)
    fixed = {"18-24": young, "25-34": young, "65-74": old, "75 or over": old}
    mix = dict(zip(ADULT_AGES, ADULT_AGE_MIX, strict=True))
    lo, hi = -3.0, 3.0
    for _ in range(60):
        mid = (lo + hi) / 2
        shifts = {a: fixed.get(a, mid) for a in ADULT_AGES}
        mean = sum(mix[a] * _shift(base, shifts[a]) for a in ADULT_AGES) / sum(mix.values())
        lo, hi = (mid, hi) if mean < base else (lo, mid)
    return {a: fixed.get(a, (lo + hi) / 2) for a in ADULT_AGES}


def _answer(y: np.ndarray, p_unsafe: np.ndarray) -> np.ndarray:
    """Scale index (0 = very unsafe … 4 = very safe) from a standard-normal latent."""
    p_very = p_unsafe * VERY_SHARE
    rest = 1.0 - p_unsafe
    cuts = np.column_stack([p_very, p_unsafe, p_unsafe + 0.32 * rest, p_unsafe + 0.78 * rest])
    u = norm.cdf(y)
    return (u[:, None] > cuts).sum(axis=1)


def write_surveys(county: County, rng: np.random.Generator, out: Path) -> list[WaveFiles]:
    """Write every wave's XLSX export and TOML mapping under ``out/surveys``."""
    folder = out / "surveys"
    folder.mkdir(parents=True, exist_ok=True)
    wards = county.wards
    pop = np.array([w.population for w in wards], dtype=float)
    upgraded_wards = {p.ward for p in county.places if p.props.get("lighting_upgraded")}
    ward_effect_raw = rng.normal(0.0, 1.0, len(wards))
    # Wards with town centres and NTE feel a little less safe; the effect is standardised below.
    nte_wards = {p.ward for p in county.places if p.kind in ("nte_street", "underpass")}
    ward_effect_raw += np.array([0.6 if w.code in nte_wards else 0.0 for w in wards])
    files: list[WaveFiles] = []
    for wave in params.SURVEY_WAVES:
        year = int(wave["year"])  # type: ignore[call-overload]
        n = int(wave["responses"])  # type: ignore[call-overload]
        targets = unsafe_targets(year)
        age_shift = women_age_shifts()
        group = np.array(GROUPS)[
            rng.choice(len(GROUPS), size=n, p=np.array(GROUP_MIX) / sum(GROUP_MIX))
        ]
        young = np.isin(group, ("girls", "boys"))
        adult_p = np.array(ADULT_AGE_MIX) / sum(ADULT_AGE_MIX)
        adult_age = np.array(ADULT_AGES, dtype=object)[
            rng.choice(len(ADULT_AGES), size=n, p=adult_p)
        ]
        young_age = np.where(rng.random(n) < 0.68, YOUNG_AGES[0], YOUNG_AGES[1]).astype(object)
        ages = np.where(young, young_age, adult_age)
        ward_idx = rng.choice(len(wards), size=n, p=pop / pop.sum())
        u = ward_effect_raw[ward_idx]
        u = (u - u.mean()) / u.std()
        z = rng.normal(size=n)
        a, b = 0.75, 0.30
        c = math.sqrt(1 - a * a - b * b)
        in_upgraded = np.array([wards[j].code in upgraded_wards for j in ward_idx])
        answers: dict[str, np.ndarray] = {}
        tgroup = np.where(
            np.isin(group, ("women", "girls", "men", "boys", "nonbinary")), group, "unsaid"
        )
        for key in WOMEN_UNSAFE:
            p_unsafe = np.array([targets[str(g)][key] for g in tgroup])
            age_logit = np.array([age_shift.get(str(a), 0.0) for a in ages])
            shifts = np.where((group == "women") & key.startswith("after_dark"), age_logit, 0.0)
            p_unsafe = expit(logit(p_unsafe) + shifts)
            y = a * z + b * u + c * rng.normal(size=n)
            if year == 2022 and key in (
                "after_dark.quiet_street",
                "after_dark.park",
                "after_dark.home_area",
            ):
                y = y + 0.55 * in_upgraded  # lighting upgraded in these wards: safer after dark
            idx = _answer(y, p_unsafe).astype(object)
            labels = np.array([SCALE[int(k)] for k in idx], dtype=object)
            r = rng.random(n)
            labels[r < 0.02] = DONT_KNOW
            labels[(r >= 0.02) & (r < 0.03)] = None
            answers[key] = labels
        files.append(
            _write_wave(
                county, rng, folder, wave, group, ages, ward_idx, z, in_upgraded, answers, year
            )
        )
    return files


def _area_answer(rng: np.random.Generator, ward: str, district: str) -> str | None:
    r = rng.random()
    if r < 0.84:
        return ward
    if r < 0.90:
        return district
    if r < 0.93:
        return typo(ward, rng)
    if r < 0.95:
        return ward.lower()
    return None


def _write_wave(
    county, rng, folder, wave, group, ages, ward_idx, z, in_upgraded, answers, year
) -> WaveFiles:
    n = len(group)
    wards = county.wards
    district_name = {d.code: d.name for d in county.districts}
    start = date.fromisoformat(str(wave["start"]))
    days = (date.fromisoformat(str(wave["end"])) - start).days + 1
    # Responses come in a burst at launch and a smaller one at the reminder.
    day_w = np.exp(-np.arange(days) / 9.0) + 0.6 * np.exp(-np.abs(np.arange(days) - 30) / 4.0)
    started = []
    for _ in range(n):
        d = start + timedelta(days=int(rng.choice(days, p=day_w / day_w.sum())))
        started.append(
            datetime(
                d.year,
                d.month,
                d.day,
                int(rng.choice([7, 8, 12, 13, 17, 18, 19, 20, 21, 22])),
                int(rng.integers(60)),
                int(rng.integers(60)),
            )
        )
    order = sorted(range(n), key=lambda i: (started[i], i))
    # The demo's questionnaire: the themes and settings it has rates for (the taxonomy grows).
    theme_codes = [t.code for t in THEMES if t.code in CONCERN_RATES["women"]]
    concern_labels = [t.label for t in THEMES if t.code in CONCERN_RATES["women"]]
    setting_codes = [s.code for s in SETTINGS if s.code in SETTING_PHRASES]
    setting_labels = [s.label for s in SETTINGS if s.code in SETTING_PHRASES]
    likert_keys = list(WOMEN_UNSAFE)

    header1: list[str | None] = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        Q_AGE,
        Q_GENDER,
        Q_AREA,
    ]
    header2: list[str | None] = [None, None, None, None, "Response", "Response", "Response"]
    for key in likert_keys:
        time, setting = key.split(".")
        header1.append(likert_question(time, setting))
        header2.append("Response")
    header1 += [Q_CONCERNS] + [None] * len(concern_labels)
    header2 += [*concern_labels, OTHER_LABEL]
    header1 += [Q_SETTINGS] + [None] * (len(setting_labels) - 1)
    header2 += setting_labels
    header1.append(Q_FREE)
    header2.append("Open-Ended Response")

    sheet: list[list[object]] = [list(header1), list(header2)]
    base_id = 114700000 + year * 1000
    others = (
        "Dogs off leads",
        "E-scooters on the pavement",
        "Speeding cars",
        "Men in cars slowing down",
        "Fireworks",
        "Nowhere to wait that is safe",
    )
    for rank, i in enumerate(order):
        g = str(group[i])
        ward = wards[int(ward_idx[i])]
        row: list[object] = [
            base_id + rank,
            41230000 + (1 if rank % 7 else 2),
            started[i],
            started[i] + timedelta(seconds=int(rng.integers(150, 1400))),
        ]
        row.append(None if rng.random() < 0.01 else str(ages[i]))
        row.append(GENDER_LABEL[g])
        row.append(_area_answer(rng, ward.name, district_name[ward.district]))
        for key in likert_keys:
            row.append(answers[key][i])
        rates = CONCERN_RATES[g]
        fear = math.exp(-0.35 * float(z[i]))
        ticked: list[str] = []
        for code, label in zip(theme_codes, concern_labels, strict=True):
            p = rates[code] * fear
            if code == "poor_lighting" and year == 2022 and in_upgraded[i]:
                p *= 0.55
            if g == "women" and str(ages[i]) in ("18-24", "25-34"):
                if code == "being_followed":
                    p = params.WOMEN_16_34_FOLLOWED.value * fear
                elif code == "sexual_comments":
                    p = params.WOMEN_16_34_CATCALLS.value * fear
            if rng.random() < min(p, 0.95):
                row.append(label)
                ticked.append(code)
            else:
                row.append(None)
        row.append(others[int(rng.integers(len(others)))] if rng.random() < 0.04 else None)
        for code, label in zip(setting_codes, setting_labels, strict=True):
            ans = answers[f"after_dark.{code}"][i]
            p = {"Very unsafe": 0.7, "Fairly unsafe": 0.4, "Neither safe nor unsafe": 0.12}.get(
                str(ans), 0.04
            )
            row.append(label if rng.random() < p else None)
        if rng.random() < 0.42:
            place = county.places[int(rng.integers(len(county.places)))].name.split(",")[0]
            row.append(suggestion(rng, ticked, place=place))
        else:
            row.append(None)
        sheet.append(row)
    notes: list[list[object]] = [
        ["Survey", str(wave["name"])],
        ["Exported", FIXED_TIME],
        ["Responses", n],
        ["Filter", "None (all complete and partial responses)"],
        ["Note", "IP addresses and email addresses were not collected."],
        ["Note", "Synthetic data generated for the saferstreets demo; no real respondents."],
    ]
    path = folder / f"safety-survey-{year}.xlsx"
    path.write_bytes(
        write_xlsx(
            {"Responses": sheet, "Notes": notes},
            created=FIXED_TIME,
            creator="SmartSurvey",
            bold_rows=2,
        )
    )
    mapping = folder / f"safety-survey-{year}.toml"
    mapping.write_text(
        _mapping_toml(
            wave, likert_keys, concern_labels, theme_codes, setting_labels, setting_codes
        ),
        encoding="utf-8",
    )
    return WaveFiles(path, mapping, str(wave["name"]))


def _q(s: str) -> str:
    """A TOML basic string."""
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{out}"'


def _mapping_toml(
    wave, likert_keys, concern_labels, theme_codes, setting_labels, setting_codes
) -> str:
    lines = [
        "# Column mapping for the SmartSurvey export of this wave (saferstreets survey import).",
        "[wave]",
        f"name = {_q(str(wave['name']))}",
        f"period_start = {_q(str(wave['start']))}",
        f"period_end = {_q(str(wave['end']))}",
        f"source = {_q(str(wave['source']))}",
        "",
        "[file]",
        "header_rows = 2",
        'sheet = "Responses"',
        "",
        "[columns]",
        'respondent = "Respondent ID"',
        'date = "End Date"',
        f"age_band = {_q(Q_AGE)}",
        f"gender = {_q(Q_GENDER)}",
        f"area = {_q(Q_AREA)}",
        f"free_text = {_q(Q_FREE)}",
        "",
        "[age_bands]",
    ]
    lines += [f"{_q(label)} = {_q(code)}" for label, code in AGE_LABELS.items()]
    for key in likert_keys:
        time, setting = key.split(".")
        lines += [
            "",
            "[[likert]]",
            f"key = {_q(key)}",
            f"column = {_q(likert_question(time, setting))}",
            "scale = [" + ", ".join(_q(s) for s in SCALE) + "]",
            f"missing = [{_q(DONT_KNOW)}]",
        ]
    lines += [
        "",
        "[[multi_select]]",
        'key = "concerns"',
        f"question = {_q(Q_CONCERNS)}",
        "",
        "[multi_select.options]",
    ]
    lines += [
        f"{_q(label)} = {_q(code)}" for label, code in zip(concern_labels, theme_codes, strict=True)
    ]
    lines.append(f'{_q(OTHER_LABEL)} = "other"')
    lines += [
        "",
        "[[multi_select]]",
        'key = "settings"',
        f"question = {_q(Q_SETTINGS)}",
        "",
        "[multi_select.options]",
    ]
    lines += [
        f"{_q(label)} = {_q(code)}"
        for label, code in zip(setting_labels, setting_codes, strict=True)
    ]
    return "\n".join(lines) + "\n"
