"""Keep a report's words and point out of every log, even when the store fails.

A failed statement's exception carries what it was sending: SQLAlchemy appends
``[parameters: (...)]`` (a report's free text, its exact point, its receipt hash) and PostgreSQL
adds ``DETAIL: Failing row contains (...)`` or ``Key (...)=(...)``. Two guards keep them out:

- every engine is made with ``hide_parameters=True`` (``db.make_engine``), so SQLAlchemy never
  puts parameters into an exception or its own log lines;
- ``install_log_redaction()``, called by the web app and the command line, makes every log
  record, from any logger (ours, uvicorn's, SQLAlchemy's, a library's), pass through
  ``redact_sql_parameters`` when it is created: its message, its arguments and the text of its
  exception and traceback. A record factory rather than a handler filter, because handlers come
  and go (uvicorn installs its own) and a filter on a logger does not see records that only
  propagate through it.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

HIDDEN = "[parameters hidden]"

# Each pattern runs to the end of its line: a parameter's repr() never spans lines.
_PATTERNS = (
    re.compile(r"\[parameters: [^\n]*"),  # SQLAlchemy's statement parameters
    re.compile(r"DETAIL: [^\n]*"),  # PostgreSQL: the failing row, the key's value
    re.compile(r"Failing row contains [^\n]*"),
    re.compile(r"Key \([^\n]*\)=\([^\n]*"),
)


def redact_sql_parameters(text: str) -> str:
    """``text`` with anything that shows a statement's parameters or a row's values hidden."""
    for pattern in _PATTERNS:
        text = pattern.sub(HIDDEN, text)
    return text


class RedactSqlParameters(logging.Filter):
    """A filter that rewrites a record so that no SQL parameters or row values remain in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template only
            message = str(record.msg)
        cleaned = redact_sql_parameters(message)
        # Only a message that had something to hide is rewritten: others keep their args
        # (uvicorn's access formatter reads the args tuple).
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact_sql_parameters(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_sql_parameters(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_sql_parameters(record.stack_info)
        return True


_FILTER = RedactSqlParameters()


def install_log_redaction() -> None:
    """Make every log record created from now on in this process pass ``RedactSqlParameters``.

    Idempotent: a second call leaves the one wrapper in place.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "_redacts_sql_parameters", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory._redacts_sql_parameters = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
