# ruff: noqa: E501
"""Parameters of the synthetic county, with the published figures they come from.

The demo must run where ``../shared/data`` is absent, so every figure taken from a published
source is written here with its citation: the file under ``shared/data``, the line of that file
(line 1 is the header) or the indicator, and the value as published. Everything not cited here is
a modelling choice of the generator (named as such in docs/demo.md), not a published fact.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTY_NAME = "Wyvernshire"
FORCE_NAME = "Wyvernshire Constabulary"
FORCE_CODE = "E23900001"  # PFA21CD-shaped; E239… is not used by ONS
FORCE_SLUG = "demo-county"  # police.uk archive file names: YYYY-MM-<slug>-street.csv

# Where the county sits: rural land on the Northamptonshire / Oxfordshire border, chosen so the
# outline covers no city; every name in the county is invented.
CENTRE_LAT = 52.13
CENTRE_LON = -1.22
HALF_WIDTH_KM = 21.0
HALF_HEIGHT_KM = 16.0

N_DISTRICTS = 10
N_WARDS = 112
LSOAS_PER_WARD = (4, 6)  # inclusive range

# ---------------------------------------------------------------------------------------------
# Survey: feeling unsafe walking alone (very or fairly unsafe), share of those who answered.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cited:
    """A published figure: the value as a proportion, and where it was read."""

    value: float
    source: str


ONS = "ons-opn-personal-safety-headlines/ons_opn_personal_safety_headlines.csv"
YPHWS = "herts-yphws-young-people-safety-survey/yphws_safety_questions_by_breakdown.csv"
CSEW = "ons-sdg-personal-safety-csew/indicator_16-1-4.csv"
POLICE = "police-uk-hertfordshire-2021"

# ONS Opinions and Lifestyle Survey, 2 to 27 June 2021 (adults 16+, Great Britain).
WOMEN_UNSAFE_QUIET_STREET_DARK = Cited(
    0.49,
    f"{ONS} line 13: women, quiet street close to home, after dark, 49% (line 2: 'one in two')",
)
WOMEN_VERY_UNSAFE_QUIET_STREET_DARK = Cited(
    0.20, f"{ONS} line 14: women, felt very unsafe, quiet street after dark, 20%"
)
MEN_UNSAFE_QUIET_STREET_DARK = Cited(
    0.15,
    f"{ONS} line 15: men, quiet street close to home, after dark, 15% (line 3: 'one in seven')",
)
WOMEN_16_34_UNSAFE_QUIET_STREET_DARK = Cited(
    0.56, f"{ONS} line 16: women aged 16 to 34, quiet street after dark, 56%"
)
WOMEN_75_UNSAFE_QUIET_STREET_DARK = Cited(
    0.54, f"{ONS} line 17: women aged 75 and over, quiet street after dark, 54%"
)
MEN_35_54_UNSAFE_QUIET_STREET_DARK = Cited(
    0.11, f"{ONS} line 18: men aged 35 to 54, quiet street after dark, 11%"
)
WOMEN_UNSAFE_BUSY_DARK = Cited(0.49, f"{ONS} line 19: women, busy public place, after dark, 49%")
WOMEN_VERY_UNSAFE_BUSY_DARK = Cited(
    0.18, f"{ONS} line 20: women, felt very unsafe, busy public place after dark, 18%"
)
MEN_UNSAFE_BUSY_DARK = Cited(0.19, f"{ONS} line 21: men, busy public place, after dark, 19%")
WOMEN_UNSAFE_PARK_DARK = Cited(
    0.81,
    f"{ONS} line 22: women, park or other open space, after dark, 81% (line 6: 'four out of five')",
)
MEN_UNSAFE_PARK_DARK = Cited(0.39, f"{ONS} line 23: men, park or other open space, after dark, 39%")
ADULTS_UNSAFE_PARK_DAY_2021 = Cited(
    0.07, f"{ONS} line 26: all adults, park or open space, during the day, June 2021, 7%"
)
ADULTS_UNSAFE_PARK_DAY_2022 = Cited(
    0.11, f"{ONS} line 27: all adults, park or open space, during the day, Feb-Mar 2022, 11%"
)
ADULTS_UNSAFE_PARK_DARK_2021 = Cited(
    0.60, f"{ONS} line 28: all adults, park or open space, after dark, June 2021, 60%"
)
ADULTS_UNSAFE_PARK_DARK_2022 = Cited(
    0.63, f"{ONS} line 29: all adults, park or open space, after dark, Feb-Mar 2022, 63%"
)
# ONS OPN 16 February to 13 March 2022.
WOMEN_UNSAFE_TRANSPORT_DARK = Cited(
    0.48, f"{ONS} line 37: women, public transport alone, after dark, 48%"
)
MEN_UNSAFE_TRANSPORT_DARK = Cited(
    0.19, f"{ONS} line 36: men, public transport alone, after dark, 19%"
)
WOMEN_UNSAFE_TRANSPORT_DAY = Cited(
    0.11, f"{ONS} line 39: women, public transport alone, during the day, 11%"
)
MEN_UNSAFE_TRANSPORT_DAY = Cited(
    0.08, f"{ONS} line 38: men, public transport alone, during the day, 8%"
)
WOMEN_16_34_UNSAFE_TRANSPORT_DARK = Cited(
    0.58, f"{ONS} line 41: women aged 16 to 34, public transport after dark, 58%"
)
# Experiences, used as the tick rate of the matching concern among women 16 to 34.
WOMEN_16_34_FOLLOWED = Cited(
    0.29, f"{ONS} line 10: women aged 16 to 34 felt they were being followed (12 months), 29%"
)
WOMEN_16_34_CATCALLS = Cited(
    0.44,
    f"{ONS} line 9: women aged 16 to 34, catcalls, whistles, unwanted sexual comments or jokes (12 months), 44%",
)

# Hertfordshire Young People's Health and Wellbeing Survey ("Rate how safe you feel when going
# out after dark / during the day"; Safe / Neither safe or unsafe / Unsafe), school pupils.
GIRLS_UNSAFE_DARK_2021 = Cited(
    0.577, f"{YPHWS} line 5109: sex=Female, safety_dark, Unsafe, 2021: 3350/5810 = 57.7%"
)
BOYS_UNSAFE_DARK_2021 = Cited(
    0.202, f"{YPHWS} line 5134: sex=Male, safety_dark, Unsafe, 2021: 1030/5105 = 20.2%"
)
GIRLS_UNSAFE_DAY_2021 = Cited(
    0.048, f"{YPHWS} line 5112: sex=Female, safety_day, Unsafe, 2021: 280/5795 = 4.8%"
)
BOYS_UNSAFE_DAY_2021 = Cited(
    0.014, f"{YPHWS} line 5137: sex=Male, safety_day, Unsafe, 2021: 70/5105 = 1.4%"
)
GIRLS_SAFE_DARK_2021 = Cited(
    0.0895, f"{YPHWS} line 5108: sex=Female, safety_dark, Safe, 2021: 520/5810 = 9.0%"
)
BOYS_SAFE_DARK_2021 = Cited(
    0.340, f"{YPHWS} line 5133: sex=Male, safety_dark, Safe, 2021: 1735/5105 = 34.0%"
)
GIRLS_UNSAFE_DARK_2022 = Cited(
    0.557, f"{YPHWS} line 5246: sex=Female, safety_dark, Unsafe, 2022: 3215/5770 = 55.7%"
)
BOYS_UNSAFE_DARK_2022 = Cited(
    0.216, f"{YPHWS} line 5277: sex=Male, safety_dark, Unsafe, 2022: 1000/4620 = 21.6%"
)
GIRLS_UNSAFE_DAY_2022 = Cited(
    0.041, f"{YPHWS} line 5249: sex=Female, safety_day, Unsafe, 2022: 235/5765 = 4.1%"
)
BOYS_UNSAFE_DAY_2022 = Cited(
    0.019, f"{YPHWS} line 5280: sex=Male, safety_day, Unsafe, 2022: 90/4625 = 1.9%"
)

# Crime Survey for England and Wales (SDG 16.1.4): women who feel safe walking alone after dark.
WOMEN_SAFE_DARK_CSEW_2019 = Cited(
    0.6881, f"{CSEW}: 2018/19, Sex=Female, all ages, 68.8% feel very or fairly safe"
)

# ---------------------------------------------------------------------------------------------
# police.uk: crime mix, seasonality, outcomes (Hertfordshire Constabulary, 2021-01 … 2022-01).
# ---------------------------------------------------------------------------------------------

CRIME_MIX_SOURCE = (
    f"{POLICE}/SOURCES.md line 19: crime types, street files, all 13 months (108,465 rows)"
)
CRIME_TYPE_COUNTS: dict[str, int] = {
    "Violence and sexual offences": 32266,
    "Anti-social behaviour": 27858,
    "Other theft": 8105,
    "Criminal damage and arson": 7963,
    "Vehicle crime": 7844,
    "Shoplifting": 6551,
    "Public order": 5918,
    "Burglary": 3775,
    "Drugs": 2885,
    "Other crime": 1754,
    "Bicycle theft": 1152,
    "Theft from the person": 1071,
    "Possession of weapons": 725,
    "Robbery": 598,
}

SEASONALITY_SOURCE = f"{POLICE}/SOURCES.md 'Row counts per file': street rows per month, 2021"
# Street rows per calendar month in 2021 (January uses 2021-01; 2022-01 had 8,058).
MONTHLY_COUNTS_2021: dict[int, int] = {
    1: 6914,
    2: 6885,
    3: 8300,
    4: 8422,
    5: 8961,
    6: 9139,
    7: 9551,
    8: 8684,
    9: 8806,
    10: 8533,
    11: 8474,
    12: 7738,
}

NO_LOCATION_SOURCE = f"{POLICE}/SOURCES.md line 17: 1,789 of 108,465 street rows have 'No Location'"
NO_LOCATION_SHARE = 1789 / 108465

# Last outcome category of non-ASB crimes by type, counted over the 13 street files (computed
# with polars from street/*.csv, grouping on 'Crime type' and 'Last outcome category').
LAST_OUTCOME_SOURCE = (
    f"{POLICE}/street/*.csv: counts of 'Last outcome category' by 'Crime type', 13 months"
)
LAST_OUTCOME_COUNTS: dict[str, dict[str, int]] = {
    "Bicycle theft": {
        "Investigation complete; no suspect identified": 912,
        "Unable to prosecute suspect": 94,
        "Under investigation": 71,
        "Status update unavailable": 39,
        "Awaiting court outcome": 24,
        "Court result unavailable": 7,
        "Offender given a caution": 2,
        "Formal action is not in the public interest": 2,
    },
    "Burglary": {
        "Investigation complete; no suspect identified": 2637,
        "Under investigation": 517,
        "Unable to prosecute suspect": 363,
        "Status update unavailable": 138,
        "Awaiting court outcome": 74,
        "Court result unavailable": 35,
        "Offender given a caution": 9,
    },
    "Criminal damage and arson": {
        "Investigation complete; no suspect identified": 4472,
        "Unable to prosecute suspect": 2140,
        "Under investigation": 699,
        "Status update unavailable": 224,
        "Awaiting court outcome": 171,
        "Offender given a caution": 109,
        "Local resolution": 73,
        "Court result unavailable": 65,
        "Formal action is not in the public interest": 6,
    },
    "Drugs": {
        "Local resolution": 907,
        "Under investigation": 518,
        "Status update unavailable": 441,
        "Awaiting court outcome": 406,
        "Unable to prosecute suspect": 190,
        "Offender given a caution": 166,
        "Court result unavailable": 156,
        "Formal action is not in the public interest": 72,
        "Investigation complete; no suspect identified": 27,
    },
    "Other crime": {
        "Unable to prosecute suspect": 487,
        "Status update unavailable": 317,
        "Under investigation": 274,
        "Investigation complete; no suspect identified": 207,
        "Further investigation is not in the public interest": 166,
        "Awaiting court outcome": 105,
        "Action to be taken by another organisation": 81,
        "Court result unavailable": 58,
        "Offender given a caution": 21,
        "Formal action is not in the public interest": 18,
        "Local resolution": 16,
    },
    "Other theft": {
        "Investigation complete; no suspect identified": 5365,
        "Unable to prosecute suspect": 1512,
        "Under investigation": 837,
        "Status update unavailable": 242,
        "Awaiting court outcome": 63,
        "Local resolution": 31,
        "Court result unavailable": 26,
        "Action to be taken by another organisation": 12,
        "Offender given a caution": 11,
    },
    "Possession of weapons": {
        "Unable to prosecute suspect": 165,
        "Awaiting court outcome": 151,
        "Under investigation": 151,
        "Status update unavailable": 130,
        "Court result unavailable": 64,
        "Offender given a caution": 28,
        "Investigation complete; no suspect identified": 19,
        "Local resolution": 8,
        "Formal action is not in the public interest": 5,
    },
    "Public order": {
        "Unable to prosecute suspect": 3322,
        "Investigation complete; no suspect identified": 797,
        "Under investigation": 730,
        "Status update unavailable": 338,
        "Awaiting court outcome": 293,
        "Court result unavailable": 169,
        "Local resolution": 95,
        "Offender given a caution": 93,
        "Formal action is not in the public interest": 63,
        "Further action is not in the public interest": 13,
    },
    "Robbery": {
        "Unable to prosecute suspect": 227,
        "Investigation complete; no suspect identified": 187,
        "Under investigation": 110,
        "Status update unavailable": 55,
        "Awaiting court outcome": 11,
        "Court result unavailable": 7,
    },
    "Shoplifting": {
        "Investigation complete; no suspect identified": 3733,
        "Unable to prosecute suspect": 1080,
        "Under investigation": 539,
        "Awaiting court outcome": 520,
        "Court result unavailable": 327,
        "Status update unavailable": 150,
        "Local resolution": 119,
        "Offender given a caution": 57,
        "Formal action is not in the public interest": 17,
    },
    "Theft from the person": {
        "Investigation complete; no suspect identified": 739,
        "Unable to prosecute suspect": 178,
        "Under investigation": 99,
        "Status update unavailable": 46,
        "Awaiting court outcome": 3,
        "Court result unavailable": 3,
        "Offender given a caution": 2,
    },
    "Vehicle crime": {
        "Investigation complete; no suspect identified": 6325,
        "Under investigation": 552,
        "Unable to prosecute suspect": 548,
        "Status update unavailable": 235,
        "Awaiting court outcome": 92,
        "Court result unavailable": 78,
        "Offender given a caution": 6,
        "Local resolution": 5,
    },
    "Violence and sexual offences": {
        "Unable to prosecute suspect": 20456,
        "Under investigation": 4932,
        "Investigation complete; no suspect identified": 2381,
        "Status update unavailable": 1836,
        "Awaiting court outcome": 986,
        "Offender given a caution": 469,
        "Action to be taken by another organisation": 467,
        "Court result unavailable": 400,
        "Local resolution": 260,
        "Further action is not in the public interest": 51,
        "Formal action is not in the public interest": 18,
        "Further investigation is not in the public interest": 10,
    },
}

# Months from the crime's month to its outcome's month: outcomes/*.csv joined to street/*.csv on
# 'Crime ID', crimes of 2021-01 … 2021-06 (so that a year of follow-up is visible).
OUTCOME_LAG_SOURCE = (
    f"{POLICE}/outcomes/*.csv joined to street/*.csv on Crime ID, crimes 2021-01…2021-06"
)
OUTCOME_LAG_COUNTS: tuple[int, ...] = (
    10990,
    11529,
    5386,
    2697,
    1542,
    1160,
    911,
    659,
    411,
    253,
    161,
    101,
    39,
)
# 71,456 of 85,101 outcome rows name a crime in the same 13 street files; the rest refer to crimes
# recorded before the window.
OUTCOMES_MATCHED_SHARE = 71456 / 85101

# The outcome event that puts a crime into its last outcome category (police.uk vocabulary).
OUTCOME_EVENT_FOR_LAST: dict[str, str | None] = {
    "Investigation complete; no suspect identified": "Investigation complete; no suspect identified",
    "Unable to prosecute suspect": "Unable to prosecute suspect",
    "Awaiting court outcome": "Suspect charged",
    "Court result unavailable": "Suspect charged",
    "Local resolution": "Local resolution",
    "Offender given a caution": "Offender given a caution",
    "Action to be taken by another organisation": "Action to be taken by another organisation",
    "Formal action is not in the public interest": "Formal action is not in the public interest",
    "Further action is not in the public interest": "Further action is not in the public interest",
    "Further investigation is not in the public interest": "Further investigation is not in the public interest",
    "Status update unavailable": None,
    "Under investigation": None,
}

# ---------------------------------------------------------------------------------------------
# Time windows (fictional, consistent with the survey periods of the sources).
# ---------------------------------------------------------------------------------------------

CRIME_FIRST_MONTH = (2021, 10)
CRIME_MONTHS = 13  # 2021-10 … 2022-10
CRIMES_PER_MONTH = 3400  # about a third of Hertfordshire's volume: a county of ~600k people
REPORTS = 2000
REPORTS_START = "2021-10-01"
REPORTS_END = "2022-09-30"
LIGHTING_UPGRADE_DATE = "2022-03-15"  # the street-lighting works in the demo's story

SURVEY_WAVES: tuple[dict[str, object], ...] = (
    {
        "year": 2021,
        "name": "Wyvernshire Women and Girls' Safety Survey 2021",
        "start": "2021-09-01",
        "end": "2021-10-31",
        "responses": 5000,
        "source": "SmartSurvey",
    },
    {
        "year": 2022,
        "name": "Wyvernshire Women and Girls' Safety Survey 2022",
        "start": "2022-09-01",
        "end": "2022-10-31",
        "responses": 4600,
        "source": "SmartSurvey",
    },
)
