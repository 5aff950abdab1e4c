"""Where a survey respondent lives or means: area answers and postcodes matched to areas.

An area answer is matched, in order, to an imported area's code or name (a close misspelling
when only one name is that close), then through the gazetteer (:mod:`saferstreets.places`): a
partial postcode typed as the area ("SG1", "WY5 6") to the postcode district or sector's ward or
district, and a town or village name to its district (a village to its ward too). A respondent's
postcode, kept as written ("WY5 6" stays "WY5 6"), sets the areas the same way when no area
answer did. What could not be matched is counted and named in the import's summary.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.areas.models import Area
from saferstreets.models_common import LEVEL_COLUMNS
from saferstreets.places.layouts import search_key
from saferstreets.places.models import Place
from saferstreets.surveys import normalise as norm

SETTLEMENTS = ("town", "village")
MAX_NAMED = 5


def area_key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", norm.key(text).replace("&", " and ")).split())


class AreaMatcher:
    """Area answers and postcodes matched to imported areas, then through the gazetteer."""

    def __init__(self, session: Session) -> None:
        self.session = session
        rows = session.execute(sa.select(Area.code, Area.name, Area.kind, Area.parent_code)).all()
        self.count = len(rows)
        self.by_code: dict[str, tuple[str, str, str | None]] = {}
        self.by_name: dict[str, list[tuple[str, str, str | None]]] = {}
        self.kind_of: dict[str, tuple[str, str | None]] = {}
        for code, name, kind, parent in rows:
            entry = (code, kind, parent)
            self.by_code[area_key(code)] = entry
            self.kind_of[code] = (kind, parent)
            for k in {
                area_key(name),
                area_key(re.sub(r"\b(ward|district|borough)$", "", name, flags=re.I)),
            }:
                if k:
                    self.by_name.setdefault(k, []).append(entry)
        self.matched: Counter[str] = Counter()  # how answers were matched through the gazetteer
        self.postcodes_unmatched: Counter[str] = Counter()
        self._postcode_cache: dict[str, dict[str, str] | None] = {}

    def locate(self, answer: str) -> dict[str, str]:
        """The Located area columns an answer sets; raises AnswerError when none or ambiguous."""
        k = area_key(answer)
        entry = self.by_code.get(k)
        if entry is None:
            matches = [m for m in self.by_name.get(k, []) if m[1] in LEVEL_COLUMNS]
            if not matches:
                # A misspelt name is accepted only when exactly one area's name is that close.
                close = difflib.get_close_matches(k, list(self.by_name), n=2, cutoff=0.88)
                if len(close) == 1:
                    matches = [m for m in self.by_name[close[0]] if m[1] in LEVEL_COLUMNS]
            if not matches:
                return self._through_gazetteer(answer, k)
            # A name shared by a district and a ward means the district (the broader answer).
            districts = [m for m in matches if m[1] == "district"]
            if len(districts) == 1:
                matches = districts
            if len(matches) > 1:
                kinds = ", ".join(f"{m[1]} {m[0]}" for m in matches[:4])
                raise norm.AnswerError(f"'{answer}' matches more than one area ({kinds})")
            entry = matches[0]
        return self._walk_up(answer, entry)

    def _walk_up(self, answer: str, entry: tuple[str, str, str | None]) -> dict[str, str]:
        located: dict[str, str] = {}
        code, kind, parent = entry
        for _ in range(6):  # walk up: lsoa -> ward -> district
            if kind in LEVEL_COLUMNS:
                located.setdefault(LEVEL_COLUMNS[kind], code)
            if not parent or parent not in self.kind_of:
                break
            code, (kind, parent) = parent, self.kind_of[parent]
        if not located:
            raise norm.AnswerError(f"'{answer}' is a {kind}, not a district, ward or smaller area")
        return located

    def _through_gazetteer(self, answer: str, k: str) -> dict[str, str]:
        """A partial postcode or a town or village name typed as the area."""
        try:
            written = norm.postcode(answer)
        except norm.AnswerError:
            written = None
        if written:
            located = self._postcode(written)
            if located:
                self.matched["postcode in the area answer"] += 1
                return located
            raise norm.AnswerError(f"'{answer}' is a postcode the gazetteer holds no place in")
        located = self._settlement(answer)
        if located:
            return located
        close = difflib.get_close_matches(k, list(self.by_name), n=2, cutoff=0.75)
        hint = f" (close to: {', '.join(close)})" if close else ""
        raise norm.AnswerError(
            f"'{answer}' is not the code or name of an imported area, nor a town, village or "
            f"postcode in the gazetteer{hint}"
        )

    def _settlement(self, answer: str) -> dict[str, str] | None:
        """A town's district; a village's ward and district (every place of that name must
        agree, or the answer is ambiguous)."""
        rows = self.session.execute(
            sa.select(Place.kind, Place.ward_code, Place.district_code).where(
                Place.search_key == search_key(answer, "town"), Place.kind.in_(SETTLEMENTS)
            )
        ).all()
        if not rows:
            return None
        districts = {r.district_code for r in rows}
        if len(districts) > 1 or None in districts:
            where = ", ".join(sorted(d or "outside every district" for d in districts))
            raise norm.AnswerError(f"'{answer}' names places in more than one district ({where})")
        located = {"district_code": str(districts.pop())}
        wards = {r.ward_code for r in rows}
        if all(r.kind == "village" for r in rows) and len(wards) == 1 and None not in wards:
            located["ward_code"] = str(wards.pop())
        self.matched[f"{rows[0].kind} name"] += 1
        return located

    def _postcode(self, written: str) -> dict[str, str] | None:
        if written not in self._postcode_cache:
            from saferstreets.places.search import postcode_area

            self._postcode_cache[written] = postcode_area(session=self.session, text=written)
        return self._postcode_cache[written]

    def by_postcode(self, record: dict[str, object]) -> None:
        """Set a record's areas from its postcode when no area answer set them."""
        if any(record.get(column) for column in LEVEL_COLUMNS.values()):
            return
        postcode = str(record["postcode"])
        located = self._postcode(postcode)
        if located:
            record.update(located)
            self.matched["postcode"] += 1
        else:
            self.postcodes_unmatched[postcode] += 1

    def notes(self) -> list[str]:
        """What the gazetteer matched, and which postcodes it could not."""
        out = []
        if self.matched:
            parts = ", ".join(f"{n:,} by {how}" for how, n in sorted(self.matched.items()))
            out.append(f"areas matched through the gazetteer: {parts}")
        if self.postcodes_unmatched:
            total = sum(self.postcodes_unmatched.values())
            named = ", ".join(p for p, _ in self.postcodes_unmatched.most_common(MAX_NAMED))
            more = len(self.postcodes_unmatched) - MAX_NAMED
            out.append(
                f"{total:,} postcodes matched no place in the gazetteer ({named}"
                + (f" and {more:,} more" if more > 0 else "")
                + "): import the ONS Postcode Directory for them"
            )
        return out
