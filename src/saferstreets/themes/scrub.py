"""Scrub quotes before anyone sees them: names, phone numbers, e-mail addresses, number plates.

Heuristics, tuned to miss little at the cost of the odd false alarm (a quote that loses a word
is fine; a quote that names someone is not):

- e-mail addresses → ``[email]``;
- UK phone numbers (07xxx xxxxxx, +44 7xxx..., 01xxx/02x landlines, 0800/0300 numbers, with
  spaces, dots, dashes or brackets) → ``[phone]``;
- vehicle registrations: current format (AB12 CDE), prefix (A123 BCD) and suffix (ABC 123D)
  → ``[vehicle]``;
- names: a title (Mr, Mrs, Ms, Miss, Dr...) and the capitalised words after it; a capitalised
  word after "called", "named", "name is", "known as"; and capitalised given names from a list
  of common ones (with a following capitalised surname) → ``[name]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

PLACEHOLDERS = ("[name]", "[phone]", "[email]", "[vehicle]")

# Common given names in England and Wales (ONS baby-name lists, several decades), and some
# nicknames; capitalised in text they are almost always a person.
GIVEN_NAMES = frozenset(
    """
    aaron abdul abigail adam adrian ahmed aidan aiden alan albert alex alexander alfie ali
    alice alison amanda amber amelia amir amy andrew andy angela ann anna anne anthony
    archie arthur ashley barry becky ben benjamin beth bethany bill billy bob bobby brandon
    brian callum cameron carl carol caroline charlie charles charlotte chelsea chloe chris
    christine christopher claire connor craig daisy dale daniel danny darren dave david dean
    debbie deborah declan dennis derek dominic donna dylan ed eddie edward eleanor elizabeth
    ella ellie emily emma eric ethan evie faith finley frank freddie freya gary gavin gemma
    george georgia gordon grace graham hannah harley harriet harrison harry harvey hayley
    heather helen holly ian imogen isaac isabel isabella isla jack jackie jacob jade jake
    james jamie jane jason jay jayden jenny jessica jim jimmy joan joanne joe joel john
    johnny jon jonathan jordan joseph josh joshua julie justin karen kate katie keith kelly
    kevin kieran kim kyle laura lauren lee leah leo leon lewis liam lily lisa logan louis
    louise lucy luke lydia mandy marcus margaret maria mark martin mary mason matt matthew
    maya megan melissa mia michael michelle mick mike mo mohammed mohammad muhammad molly
    nathan neil nicola nick nicholas noah oliver olivia oscar owen paige pat patrick paul
    paula peter phil philip poppy rachel rebecca reece rhys richard rob robert robbie ronnie
    rose ruby ryan sally sam samantha samuel sandra sarah scott sean shane sharon shaun
    simon sophia sophie stacey stephen steve steven stuart susan tanya terry theo thomas tim
    toby tom tommy tony tracey tyler vicky victoria wayne will william yasmin zach zoe
    """.split()  # noqa: SIM905 - a word list reads best as words
)

_PLATE_CURRENT = re.compile(r"\b[A-Z]{2}[0-9]{2}\s?[A-Z]{3}\b", re.IGNORECASE)
# older formats only in capitals: "on the M25 and" must stay as it is
_PLATE_PREFIX = re.compile(r"\b[A-Z][0-9]{1,3}\s?[A-Z]{3}\b")
_PLATE_SUFFIX = re.compile(r"\b[A-Z]{3}\s?[0-9]{1,3}[A-Z]\b")
_TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Lady|Lord|PC|DC|Sgt|Cllr)\.?\s+(?:[A-Z][\w'’-]+\s?){1,2}"
)
_CALLED = re.compile(
    r"\b((?:called|named|name is|name was|known as|calls himself|goes by)\s+)"
    r"([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)"
)
_CAPITALISED = re.compile(r"\b([A-Z][a-z'’]+)(\s+[A-Z][a-z'’-]+)?\b")


def _plate_like(match: re.Match[str]) -> str:
    text = match.group(0)
    # a plate has letters and digits; lower-case-only words like "ab12 cde" still count, but
    # plain words (no digit) never match these patterns anyway
    return "[vehicle]" if any(c.isdigit() for c in text) else text


# Given names that are also everyday words: only a name mid-sentence or with a surname.
AMBIGUOUS = frozenset(
    """
    will mark rose grace faith bill frank pat ruby holly lily daisy poppy amber jade dean
    bob jay kim rob nick mo sam lee ed victoria chelsea jordan carol sandra paige
    """.split()  # noqa: SIM905 - a word list reads best as words
)


def _name(match: re.Match[str]) -> str:
    first, surname = match.group(1), match.group(2)
    if first.lower() not in GIVEN_NAMES:
        return match.group(0)
    if first.lower() in AMBIGUOUS and not surname:
        before = match.string[: match.start()].rstrip()
        if not before or before[-1] in ".!?\"'(:;\n":
            return match.group(0)  # sentence start: "Will someone fix the lights"
    if surname and surname.strip().lower() in _NOT_SURNAMES:
        return match.group(0)  # a place: "Lee Street", "Victoria Park"
    return "[name]"


_NOT_SURNAMES = frozenset(
    """
    street road lane avenue park station close way hill square gardens court drive place
    """.split()  # noqa: SIM905 - a word list reads best as words
)


def _keep_trailing(placeholder: str) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps the separators a loose pattern swallowed at its end."""

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        return placeholder + text[len(text.rstrip(" .-)")) :]

    return replace


def scrub(text: str) -> str:
    """``text`` with names, phone numbers, e-mail addresses and number plates replaced."""
    if not text:
        return text or ""
    from saferstreets.reports.redact import redact_contact_details  # one home for the patterns

    out = redact_contact_details(text, email_mark="[email]", phone_mark="[phone]")
    for pattern in (_PLATE_CURRENT, _PLATE_PREFIX, _PLATE_SUFFIX):
        out = pattern.sub(_plate_like, out)
    out = _TITLE.sub(_keep_trailing("[name]"), out)
    out = _CALLED.sub(lambda m: m.group(1) + "[name]", out)
    out = _CAPITALISED.sub(_name, out)
    return re.sub(r"\[name\](?:\s+\[name\])+", "[name]", out)


# --- finding what a public text must not carry -------------------------------------------------
# scrub() rewrites a quote; find_personal_details() says what is in a text and where, so a public
# update can be refused with a message naming each problem. It reuses the patterns above and the
# contact-detail patterns of reports.redact, adds house numbers with streets and dates of birth,
# and widens the given names with the US census lists the ``names`` package ships (names given
# to at least 1 in 20,000 people), less the ones that are everyday or place words.

KIND_LABELS = {
    "name": "a person's name",
    "phone": "a phone number",
    "email": "an email address",
    "vehicle": "a vehicle registration",
    "address": "a house number with a street",
    "date_of_birth": "a date of birth",
}

# Census given names that are mostly words (never a name on their own, only with a surname)...
_WORDLIKE_NAMES = frozenset(
    """
    april august june may summer autumn hope joy dawn chance grant guy miles rich art bud
    candy brandy cherry crystal jewel pearl penny sandy sunny misty rocky sterling earl
    christian major king young long lane ward page love dale glen glenn heath forest cliff
    clay reed rex wade hunter iris ivy olive violet hazel drew gene gay lance dusty sky
    star storm river sage florence ray jack jean jerry russell bernard
    """.split()  # noqa: SIM905 - a word list reads best as words
)
# ...and ones never taken as a name at all, because public updates use them as words.
_NEVER_NAMES = frozenset(
    """
    ward young major king long lane page love may june april august summer autumn chance
    sunday monday tuesday wednesday thursday friday saturday
    """.split()  # noqa: SIM905 - a word list reads best as words
)
# Capitalised words after a given name that make it a place or a role, not a surname.
_PLACE_OR_ROLE = _NOT_SURNAMES | frozenset(
    """
    rd st ave ln church green centre center market bridge castle police council school
    college hospital house hall estate common wood woods field fields rise walk row terrace
    crescent grove mews parade quay wharf shopping retail bus train leisure community
    library surgery medical primary academy officer officers team teams people ward wards
    patrols patrol night nights lights lighting cctv
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_STREET_TYPES = (
    r"Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|Place|Pl|"
    r"Gardens|Gdns|Grove|Terrace|Hill|Row|Walk|Mews|Square|Sq|Parade|Rise|Green|Park|View"
)
# "4 Mill Lane", "10a High St", "Flat 2, 10 High St", "Flat 3 Castle Court": a house number (one
# to three digits, so "In 2024 Castle Road..." is not one) then capitalised words and a street.
_ADDRESS = re.compile(
    rf"\b(?:(?:Flat|Apartment|Apt|Unit)\s+\d+[A-Za-z]?,?\s+)?"
    rf"\d{{1,3}}[A-Za-z]?,?\s+(?:[A-Z][\w'’-]*\s+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    rf"|\b(?:Flat|Apartment|Apt)\s+\d+[A-Za-z]?\b"
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|(?:in\s+)?(?:19|20)\d{{2}})"
)
_DATE_OF_BIRTH = re.compile(
    rf"\b(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birthday)\s*:?\s*{_DATE}\b",
    re.IGNORECASE,
)


# Safety schemes named after a person that public updates rightly mention.
_SCHEMES = re.compile(r"\bAsk\s+for\s+(?:Angela|Ani)\b|\bAngela\s+scheme\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """Something a public text must not carry: what kind, the words found, and where."""

    kind: str
    text: str
    start: int

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@lru_cache(maxsize=1)
def census_given_names() -> frozenset[str]:
    """Given names from the ``names`` package's 1990 US census lists, lower case."""
    found: set[str] = set()
    for filename in ("dist.female.first", "dist.male.first"):
        text = (resources.files("names") / filename).read_text(encoding="ascii")
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and float(parts[1]) >= 0.005:
                found.add(parts[0].lower())
    return frozenset(found)


def _given_names() -> frozenset[str]:
    return (GIVEN_NAMES | census_given_names()) - _NEVER_NAMES


def _headline(text: str) -> bool:
    words = re.findall(r"[A-Za-z][\w'’-]*", text)
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) > 0.7


def _names(text: str) -> list[Finding]:
    from saferstreets.reports.redact import introduced_names

    found = [Finding("name", m.group(0).strip(), m.start()) for m in _TITLE.finditer(text)]
    found += [Finding("name", m.group(2), m.start(2)) for m in _CALLED.finditer(text)]
    found += [Finding("name", name, start) for name, start in introduced_names(text)]
    given, headline = _given_names(), _headline(text)
    for match in _CAPITALISED.finditer(text):
        first, surname = match.group(1), (match.group(2) or "").strip()
        word = first.lower()
        if word not in given or (surname and surname.lower() in _PLACE_OR_ROLE):
            continue
        if (word in _WORDLIKE_NAMES or word in AMBIGUOUS) and headline:
            continue  # "Patrols Will Continue", "New Lights By Grace Church"
        if word in _WORDLIKE_NAMES and not surname:
            continue  # "hope", "joy", "Miles of new lighting"
        if word in AMBIGUOUS and not surname:
            before = text[: match.start()].rstrip()
            if not before or before[-1] in ".!?\"'(:;\n":
                continue  # "Will someone...", but "we met Lee" is a name
        found.append(Finding("name", match.group(0).strip(), match.start()))
    schemes = [m.span() for m in _SCHEMES.finditer(text)]
    return [f for f in found if not any(a <= f.start < b for a, b in schemes)]


def find_personal_details(text: str) -> list[Finding]:
    """Everything in ``text`` that could identify a person, in the order it appears."""
    from saferstreets.reports.redact import find_contact_details

    if not text:
        return []
    found = [Finding(kind, words, start) for kind, words, start in find_contact_details(text)]
    found = [
        Finding(f.kind, f.text.lstrip("("), f.start + len(f.text) - len(f.text.lstrip("(")))
        for f in found
    ]
    for pattern in (_PLATE_CURRENT, _PLATE_PREFIX, _PLATE_SUFFIX):
        found += [
            Finding("vehicle", m.group(0), m.start())
            for m in pattern.finditer(text)
            if any(c.isdigit() for c in m.group(0))
        ]
    found += [
        Finding("address", m.group(0).rstrip(" ."), m.start()) for m in _ADDRESS.finditer(text)
    ]
    found += [
        Finding("date_of_birth", m.group(0), m.start()) for m in _DATE_OF_BIRTH.finditer(text)
    ]
    found += _names(text)
    return _without_overlaps(found)


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    """One finding per stretch of text: the first listed kind wins (a phone over a name)."""
    kept: list[Finding] = []
    for finding in found:
        end = finding.start + len(finding.text)
        if all(end <= k.start or finding.start >= k.start + len(k.text) for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)
