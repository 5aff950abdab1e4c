"""Record ids in URLs: only numbers the store's id columns can hold, so that an absurd id is a
plain 404 instead of an overflow deep in the database driver (a 500).

Every ``{name:int}`` path parameter uses :class:`StoreIdConvertor` (registered as ``int`` when
``saferstreets.web`` is imported, before any route is declared): its pattern matches only 0 to
:data:`MAX_ID`, the largest value of a PostgreSQL ``integer`` (SQLite's limit is larger), so a
longer number matches no route. Ids in query strings and forms use :data:`StoreId`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.convertors import IntegerConvertor, register_url_convertor

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every id column


def at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..``limit`` (leading zeros allowed)."""
    digits = str(limit)
    if len(digits) == 1:
        return f"0*[0-{digits}]"
    parts = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        rest = len(digits) - i - 1
        if int(d) > 0:
            low = "0" if i else "1"
            if int(d) - 1 >= int(low):
                tail = f"[0-9]{{{rest}}}" if rest else ""
                parts.append(f"{digits[:i]}[{low}-{int(d) - 1}]{tail}")
    parts.append(digits)
    return "0*(?:" + "|".join(parts) + ")"


class StoreIdConvertor(IntegerConvertor):
    """``{name:int}`` for ids: a number the id columns can hold, else no route matches (404)."""

    regex = at_most(MAX_ID)


def register() -> None:
    register_url_convertor("int", StoreIdConvertor())


StoreId = Annotated[int, Field(ge=0, le=MAX_ID)]
