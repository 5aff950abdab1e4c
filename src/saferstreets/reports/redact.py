"""Redaction of contact details typed into free text.

A woman may type her own (or someone else's) email address or phone number into "in your own
words". The report is accepted and kept as written for the safeguarding queue, where staff may
need it; everywhere else (her status page, analyst lists, exports, public pages) the text goes
through ``redact_contact_details`` first.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[email removed]"
PHONE_MARK = "[phone number removed]"

# local@domain.tld, also written "name (at) domain (dot) com" or "name at domain dot com".
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"{_LOCAL}\s*(?:@|\(at\)|\[at\])\s*(?:{_LABEL}\s*(?:\.|\(dot\)|\[dot\])\s*)+[A-Za-z]{{2,24}}\b",
    re.IGNORECASE,
)
_EMAIL_SPELT = re.compile(
    rf"\b{_LOCAL}\s+at\s+(?:{_LABEL}\s+dot\s+)+[A-Za-z]{{2,24}}\b", re.IGNORECASE
)
# Runs of digits (with spaces, dots, dashes, brackets) that look like a phone number: UK forms
# such as 07700 900123, +44 (0)20 7946 0000, 0044 1632 960000, 01632-960-000, and international.
_PHONE = re.compile(
    r"""
    (?<![\w/.-])
    (?:\+|00)?\(?\d(?:[\s().-]{0,3}\d){8,14}
    (?![\w/])
    """,
    re.VERBOSE,
)
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if _DATE_LIKE.match(text.strip()) or len(digits) < 9 or len(digits) > 15:
        return text
    return PHONE_MARK


def redact_contact_details(
    text: str, *, email_mark: str = EMAIL_MARK, phone_mark: str = PHONE_MARK
) -> str:
    """``text`` with email addresses and phone numbers replaced by a marker saying so (theme
    quotes use shorter ones: ``themes.scrub``)."""
    if not text:
        return text
    text = _EMAIL.sub(email_mark, text)
    text = _EMAIL_SPELT.sub(email_mark, text)
    return _PHONE.sub(lambda m: phone_mark if _phone(m) == PHONE_MARK else m.group(0), text)


def has_contact_details(text: str | None) -> bool:
    """Whether ``text`` contains something ``redact_contact_details`` would remove."""
    return bool(text) and redact_contact_details(text) != text  # type: ignore[arg-type]


def find_contact_details(text: str) -> list[tuple[str, str, int]]:
    """Each email address and phone number in ``text``: (``"email"``/``"phone"``, words, start)."""
    if not text:
        return []
    found = [("email", m.group(0), m.start()) for m in _EMAIL.finditer(text)]
    found += [("email", m.group(0), m.start()) for m in _EMAIL_SPELT.finditer(text)]
    found += [
        ("phone", m.group(0).strip(), m.start())
        for m in _PHONE.finditer(text)
        if _phone(m) == PHONE_MARK
    ]
    return found


NAME_MARK = "[name removed]"
# A name the writer introduces: "my name is Jo Bloggs", "call me Sam", "I'm called Ann". The
# introduction may be in any case; the name must be capitalised ("call me back" is not a name).
_INTRODUCED_NAME = re.compile(
    r"\b((?i:my\s+name\s+is|my\s+name's|my\s+names|call\s+me|i\s+am\s+called|i'm\s+called|"
    r"ask\s+for)\s+)([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)"
)


def redact_personal_details(text: str) -> str:
    """``text`` with contact details and introduced names ("my name is ...") replaced."""
    if not text:
        return text
    text = redact_contact_details(text)
    return _INTRODUCED_NAME.sub(lambda m: m.group(1) + NAME_MARK, text)


def introduced_names(text: str) -> list[tuple[str, int]]:
    """Each name the writer introduces ("my name is Jo Bloggs"): (the name, where it starts)."""
    return [(m.group(2), m.start(2)) for m in _INTRODUCED_NAME.finditer(text or "")]
