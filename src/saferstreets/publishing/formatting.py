"""How figures read on pages and in reports: shares, intervals, p-values, z-scores."""

from __future__ import annotations

from typing import Any


def zfmt(value: float) -> str:
    """A z-score to one decimal, without a negative zero."""
    return f"{value:.1f}".replace("-0.0", "0.0")


def pct(value: float | None) -> str:
    """A share as a percentage: whole numbers, but one decimal below 1% (never a bare "0%" for a
    share that is not nothing)."""
    if value is None:
        return "–"
    if 0 < value < 0.0095:
        return f"{100 * value:.1f}%"
    return f"{100 * value:.0f}%"


def p_cell(p: float | None) -> str:
    """A p-value for a table cell: ``< 0.001`` below that, else two significant figures."""
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def points(value: float) -> str:
    """A difference of shares in percentage points, signed, without a negative zero."""
    rounded = round(100 * value)
    return "0" if rounded == 0 else f"{rounded:+d}"


def interval(p: dict[str, Any]) -> str:
    """A share with its interval: "48% (46% to 50%)"."""
    if p.get("share") is None:
        return "–"
    return f"{pct(p['share'])} ({pct(p['lower'])} to {pct(p['upper'])})"


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 small area is", "3 small areas are"."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
