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

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)44\s?\(?0?\)?\s?|\(?0)"  # +44 (0) or 0
    r"(?:\d[\s.\-()]{0,2}){9,10}"  # nine or ten more digits, loosely separated
    r"(?!\d)"
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
    out = _EMAIL.sub("[email]", text)
    out = _PHONE.sub(_keep_trailing("[phone]"), out)
    for pattern in (_PLATE_CURRENT, _PLATE_PREFIX, _PLATE_SUFFIX):
        out = pattern.sub(_plate_like, out)
    out = _TITLE.sub(_keep_trailing("[name]"), out)
    out = _CALLED.sub(lambda m: m.group(1) + "[name]", out)
    out = _CAPITALISED.sub(_name, out)
    return re.sub(r"\[name\](?:\s+\[name\])+", "[name]", out)
