"""police.uk crime types: which matter for women's safety, which belong to the night-time economy,
and how much harm each does.

The categories are police.uk's fourteen "Crime type" values. Harm weights follow the Cambridge Crime
Harm Index (Sherman, Neyroud and Neyroud 2016: the starting-point sentence in days of imprisonment
for a first offender) collapsed to police.uk's broad categories. A category mixes offences of very
different harm (violence and sexual offences includes common assault and rape), so these are
approximate, blended defaults; a force with offence-level data should configure its own
(``Settings.harm_weights``).
"""

from __future__ import annotations

CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

# Relevant to women's and girls' safety in public space
# (configurable: Settings.womens_safety_crime_types).
WOMENS_SAFETY_TYPES: tuple[str, ...] = (
    "Violence and sexual offences",
    "Public order",
    "Robbery",
    "Theft from the person",
    "Anti-social behaviour",
)

# Offences that concentrate in the night-time economy (pubs, clubs, late venues, taxis).
NIGHT_TIME_ECONOMY_TYPES: tuple[str, ...] = (
    "Violence and sexual offences",
    "Public order",
    "Drugs",
    "Criminal damage and arson",
    "Theft from the person",
)

# Approximate CCHI-style weights in days (see module docstring). ASB is not a crime: nominal 1.
HARM_WEIGHTS: dict[str, float] = {
    "Anti-social behaviour": 1.0,
    "Bicycle theft": 2.0,
    "Burglary": 40.0,
    "Criminal damage and arson": 5.0,
    "Drugs": 10.0,
    "Other crime": 5.0,
    "Other theft": 2.0,
    "Possession of weapons": 20.0,
    "Public order": 2.0,
    "Robbery": 365.0,
    "Shoplifting": 1.0,
    "Theft from the person": 20.0,
    "Vehicle crime": 10.0,
    "Violence and sexual offences": 60.0,
}

# police.uk outcome wording, grouped as the Home Office's crime outcome groups (Crime outcomes in
# England and Wales, table of outcome types). The street files' "Last outcome category" uses court
# and status wording ("Awaiting court outcome", "Under investigation") that the outcomes files'
# "Outcome type" does not, so both vocabularies are listed. Checked against every value in the
# Hertfordshire 2021 files (tests/crime/test_offences.py).
CHARGED_OUTCOMES: tuple[str, ...] = (
    # Charged or summonsed, and what the court then did.
    "Suspect charged", "Suspect charged as part of another case", "Awaiting court outcome",
    "Defendant sent to Crown Court", "Court result unavailable", "Court case unable to proceed",
    "Defendant found not guilty", "Offender sent to prison",
    "Offender given suspended prison sentence", "Offender fined",
    "Offender given community sentence", "Offender given conditional discharge",
    "Offender given absolute discharge", "Offender ordered to pay compensation",
    "Offender deprived of property", "Offender otherwise dealt with",
)  # fmt: skip
OUT_OF_COURT_OUTCOMES: tuple[str, ...] = (
    # Formal (cautions, penalty notices, drugs warnings) and informal (community resolution).
    "Offender given a caution", "Offender given a drugs possession warning",
    "Offender given penalty notice", "Offender given a penalty notice", "Local resolution",
)  # fmt: skip
NO_SUSPECT_OUTCOMES: tuple[str, ...] = ("Investigation complete; no suspect identified",)
UNABLE_TO_PROSECUTE_OUTCOMES: tuple[str, ...] = (
    # Evidential difficulties, whether or not the victim supports action (Home Office 14, 15, 16).
    "Unable to prosecute suspect",
)
VICTIM_NO_SUPPORT_OUTCOMES = UNABLE_TO_PROSECUTE_OUTCOMES  # police.uk does not separate them
NOT_IN_PUBLIC_INTEREST_OUTCOMES: tuple[str, ...] = (
    "Formal action is not in the public interest", "Further action is not in the public interest",
    "Further investigation is not in the public interest",
)  # fmt: skip
OTHER_AGENCY_OUTCOMES: tuple[str, ...] = ("Action to be taken by another organisation",)
OPEN_OUTCOMES: tuple[str, ...] = ("Under investigation",)
UNKNOWN_OUTCOMES: tuple[str, ...] = ("Status update unavailable",)

OUTCOME_GROUPS: dict[str, tuple[str, ...]] = {
    "charged": CHARGED_OUTCOMES,
    "out_of_court": OUT_OF_COURT_OUTCOMES,
    "unable_to_prosecute": UNABLE_TO_PROSECUTE_OUTCOMES,
    "no_suspect": NO_SUSPECT_OUTCOMES,
    "not_in_public_interest": NOT_IN_PUBLIC_INTEREST_OUTCOMES,
    "other_agency": OTHER_AGENCY_OUTCOMES,
    "under_investigation": OPEN_OUTCOMES,
    "unknown": UNKNOWN_OUTCOMES,
}
#: each outcome group as a report or page names it
OUTCOME_GROUP_WORDS: dict[str, str] = {
    "charged": "Charged or summonsed",
    "out_of_court": "Dealt with out of court (caution, penalty notice, local resolution)",
    "unable_to_prosecute": "Unable to prosecute the suspect",
    "no_suspect": "No suspect identified",
    "not_in_public_interest": "Not in the public interest to go further",
    "other_agency": "Left to another organisation",
    "under_investigation": "Still under investigation",
    "unknown": "Status unknown",
    "other": "Other outcome",
}
_GROUP_OF = {o.lower(): g for g, outcomes in OUTCOME_GROUPS.items() for o in outcomes}


def outcome_group(outcome: str | None) -> str:
    """The group of a police.uk outcome (a key of ``OUTCOME_GROUPS``); "other" if not listed."""
    if not outcome:
        return "unknown"
    return _GROUP_OF.get(outcome.strip().lower(), "other")


def harm_weight(crime_type: str, weights: dict[str, float] | None = None) -> float:
    """The harm weight of a crime type (1.0 for a type not in the table)."""
    return (weights or HARM_WEIGHTS).get(crime_type, 1.0)
