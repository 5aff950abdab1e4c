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

# Relevant to women's and girls' safety in public space (configurable: Settings.womens_safety_crime_types).
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

# police.uk outcome categories grouped for "pursuing offenders".
CHARGED_OUTCOMES: tuple[str, ...] = ("Suspect charged", "Suspect charged as part of another case",
                                     "Offender sent to prison", "Offender given suspended prison sentence",
                                     "Offender fined", "Offender given community sentence",
                                     "Offender given conditional discharge", "Offender given absolute discharge",
                                     "Offender ordered to pay compensation", "Offender otherwise dealt with",
                                     "Offender given a caution", "Defendant found not guilty",
                                     "Court result unavailable", "Court case unable to proceed",
                                     "Defendant sent to Crown Court", "Awaiting court outcome")
NO_SUSPECT_OUTCOMES: tuple[str, ...] = ("Investigation complete; no suspect identified",)
VICTIM_NO_SUPPORT_OUTCOMES: tuple[str, ...] = (
    "Unable to prosecute suspect",  # police.uk's wording covers "victim does not support action"
)


def harm_weight(crime_type: str, weights: dict[str, float] | None = None) -> float:
    """The harm weight of a crime type (1.0 for a type not in the table)."""
    return (weights or HARM_WEIGHTS).get(crime_type, 1.0)
