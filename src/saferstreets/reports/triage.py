"""Triage: which reports a person must read soon (the safeguarding queue), and why.

The public form is for places, not for reporting crimes or emergencies, yet some people will use
it for that. A report goes to the safeguarding queue when its words suggest that someone is in
danger now or at risk of serious harm, when it names or identifies an individual (stalking,
domestic abuse, a known offender), or when a child describes sexual contact or exposure. Rules,
not a model: every flag says which rule fired, staff can see why, and a test pins each rule.
Being over-inclusive is the safe error: staff clear a false flag in seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that suggest danger now or a threat to life.
_DANGER = [
    (
        r"\b(?:right now|at the moment|as (?:i|we) (?:write|type|speak)|currently)\b.{0,60}"
        r"\b(?:follow\w*|outside|waiting|watching|here|behind me|near me)\b",
        "danger now",
    ),
    (
        r"\b(?:is|he'?s|they'?re|they are|someone'?s|a man'?s) (?:still )?"
        r"(?:outside|following me|waiting for me|at my door|in my (?:house|home|flat|garden))\b",
        "danger now",
    ),
    (
        r"\b(?:help me|please help|"
        r"i'?m (?:scared|terrified|afraid) (?:for my life|he will|he'?ll))\b",
        "asks for help",
    ),
    (
        r"\b(?:kill(?:ed|ing|s)?|murder(?:ed|ing|s)?|strangl(?:e|ed|ing)|chok(?:e|ed|ing)|"
        r"stab(?:bed|bing|s)?)\b",
        "threat to life",
    ),
    (r"\b(?:knife|knives|gun|firearm|weapon|machete|acid)\b", "weapon"),
    (r"\b(?:raped?|sexual(?:ly)? assault\w*|forced (?:me|her) to)\b", "sexual assault"),
    (r"\b(?:suicid\w*|kill myself|end my life|self[- ]harm\w*)\b", "risk to herself"),
    (r"\b(?:kidnap\w*|abduct\w*|dragged (?:me|her) into|pulled (?:me|her) into)\b", "abduction"),
]
# Words that name or identify a person.
_PERSON = [
    (r"\b(?:his|her|their) name is\b", "names a person"),
    (r"\b(?:called|named|known as) [A-Z][a-z]+(?: [A-Z][a-z]+)?\b", "names a person"),
    (r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][a-z]+", "names a person"),
    (
        r"\bmy (?:ex|ex[- ]?(?:partner|boyfriend|husband|girlfriend|wife)|partner|husband|"
        r"boyfriend|stepdad|step-dad|stepfather|landlord|neighbour|manager|boss|teacher|coach)\b",
        "identifies someone she knows",
    ),
    (
        r"\b(?:lives at|lives on|works at|drives a|registration|number plate|reg(?:istration)? "
        r"(?:no|number))\b",
        "identifies someone",
    ),
    (r"\b[A-Z]{2}\d{2} ?[A-Z]{3}\b", "gives a number plate"),
]
_DANGER_RE = [(re.compile(p, re.IGNORECASE | re.DOTALL), why) for p, why in _DANGER]
_PERSON_RE = [
    (re.compile(p) if "[A-Z]" in p else re.compile(p, re.IGNORECASE), why) for p, why in _PERSON
]
# Contact and image offences against a child; comments and catcalling are left to the themes.
_CHILD_SEXUAL = {"touching", "indecent_exposure", "taking_pictures"}
_NOT_DANGER = re.compile(
    r"\b(?:lady ?killer|killing time|killer heels|kill(?:s|ing)? the mood|killing my feet|"
    r"to die for)\b",
    re.IGNORECASE,
)


# How soon each finding must be read (1 first): the safeguarding queue is ordered by the most
# urgent finding of a report, then by age.
_URGENCY = {
    "danger now": 1,
    "asks for help": 1,
    "threat to life": 1,
    "weapon": 1,
    "abduction": 1,
    "risk to herself": 1,
    "sexual assault": 2,
    "a child describes sexual behaviour": 2,
}
LEAST_URGENT = 3  # names or identifies a person


def urgency_of(findings: list[str] | tuple[str, ...]) -> int:
    """The urgency (1 danger now, 2 a child or sexual violence, 3 a named person) of findings."""
    return min((_URGENCY.get(f.strip(), LEAST_URGENT) for f in findings), default=LEAST_URGENT)


@dataclass(frozen=True)
class Triage:
    """Whether a report goes to the safeguarding queue, a short reason for staff, and how soon
    it must be read (``urgency``: 1 danger now, 2 a child or sexual violence, 3 a named person).
    """

    urgent: bool
    reason: str | None = None
    urgency: int | None = None


def triage(
    *,
    free_text: str | None,
    other_reason: str | None = None,
    reasons: list[str] | tuple[str, ...] = (),
    age_band: str | None = None,
) -> Triage:
    """Decide whether a report needs a person to read it soon (the safeguarding queue)."""
    text = " ".join(t for t in (free_text, other_reason) if t)
    found: list[str] = []
    if text:
        scrubbed = _NOT_DANGER.sub(" ", text)
        for pattern, why in _DANGER_RE:
            if pattern.search(scrubbed) and why not in found:
                found.append(why)
        for pattern, why in _PERSON_RE:
            if pattern.search(text) and why not in found:
                found.append(why)
    if age_band == "under16" and _CHILD_SEXUAL.intersection(reasons):
        found.append("a child describes sexual behaviour")
    if not found:
        return Triage(urgent=False)
    return Triage(urgent=True, reason="; ".join(found)[:200], urgency=urgency_of(found))
