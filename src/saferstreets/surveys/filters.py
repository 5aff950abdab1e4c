"""Rows that are not real responses: previews, tests and unfinished answers below a progress.

Qualtrics marks each response's type in ``Status`` ("Response Type": ``IP Address``, ``Survey
Preview``, ``Survey Test``, ``Spam``, ``Imported``; numeric exports write 0, 1, 2, 8, 4) and its
channel in ``DistributionChannel`` (``anonymous``, ``email``, ``preview``, ``test``), and how much
was answered in ``Progress`` (0 to 100). Other tools' exports have no such columns, and nothing is
skipped from them except by progress where a ``Progress`` column exists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from saferstreets.surveys.normalise import cell_text, key

PREVIEW = "preview"
TEST = "test"
UNFINISHED = "unfinished"
_PREVIEWS = {"survey preview", "preview", "1", "preview spam", "9"}
_TESTS = {"survey test", "test", "2"}
_STATUS = {"status", "response type"}
_CHANNEL = {"distributionchannel", "distribution channel"}
_PROGRESS = {"progress"}


@dataclass
class RowFilter:
    """Finds the status, channel and progress columns once; says why a row is skipped."""

    status: int | None
    channel: int | None
    progress: int | None
    min_progress: float | None
    skipped: Counter[str] = field(default_factory=Counter)

    @classmethod
    def for_columns(cls, columns: Sequence[Any], *, min_progress: float | None) -> RowFilter:
        def find(names: set[str]) -> int | None:
            for c in columns:
                if any(n and key(n) in names for n in (c.code, c.header, c.question)):
                    return int(c.index)
            return None

        return cls(find(_STATUS), find(_CHANNEL), find(_PROGRESS), min_progress)

    def reason(self, cells: Sequence[Any]) -> str | None:
        """``preview``, ``test``, ``unfinished`` or None (a real response to keep); counted."""
        why = self._reason(cells)
        if why:
            self.skipped[why] += 1
        return why

    def _reason(self, cells: Sequence[Any]) -> str | None:
        status = key(self._cell(cells, self.status) or "")
        channel = key(self._cell(cells, self.channel) or "")
        if status in _PREVIEWS or channel == PREVIEW:
            return PREVIEW
        if status in _TESTS or channel == TEST:
            return TEST
        if self.min_progress is not None and self.progress is not None:
            try:
                done = float(self._cell(cells, self.progress) or "")
            except ValueError:
                return None
            if done < self.min_progress:
                return UNFINISHED
        return None

    @staticmethod
    def _cell(cells: Sequence[Any], index: int | None) -> str | None:
        if index is None or index >= len(cells):
            return None
        return cell_text(cells[index])

    def note(self) -> str | None:
        """What was skipped, for the import summary; None when nothing was."""
        if not self.skipped:
            return None
        parts = []
        if self.skipped[PREVIEW]:
            parts.append(f"{self.skipped[PREVIEW]:,} previews")
        if self.skipped[TEST]:
            parts.append(f"{self.skipped[TEST]:,} test responses")
        if self.skipped[UNFINISHED]:
            parts.append(
                f"{self.skipped[UNFINISHED]:,} unfinished (progress below {self.min_progress:g}%)"
            )
        return "skipped, not stored: " + ", ".join(parts)
