"""Pages rendered by their template once, with stand-ins for what differs between requests.

The public form and its thank-you page are nearly all of the public's requests, and two of them
differ only in a token or two: the visitor's CSRF token and the form's one-time key, or the
receipt code. Each is rendered by its template once per variant (the day, for the form's date;
urgent or not, for the thank-you page) with a *slot* in place of each such value, and each
request fills the slots in. A slot is letters and dashes, which HTML escaping leaves as they
are, and so are the values filled in (hex, URL-safe base 64, receipt codes): the page is byte
for byte the one the template renders (tests/reports/test_routes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

MAX_VARIANTS = 8  # of one page; more (a new day's form) and the old ones are dropped


def slot(name: str) -> str:
    """The stand-in for ``name`` in a page rendered once."""
    return f"slot-{name}-7f3e9ac41d08"


def filled(
    request: Request,
    page: str,
    variant: Hashable,
    render: Callable[[], Response],
    values: dict[str, str],
) -> HTMLResponse:
    """``page`` (variant ``variant``) with its slots filled in from ``values`` (slot name to
    value); ``render`` gives the page with ``slot(name)`` for each value, the first time."""
    state = request.app.state
    if not hasattr(state, "shells"):
        state.shells = {}
    shells: dict[tuple[str, Hashable], str] = state.shells  # shared by the worker's threads
    shell = shells.get((page, variant))
    if shell is None:
        shell = bytes(render().body).decode()
        for name in values:
            if shell.count(slot(name)) != 1:
                raise ValueError(f"page {page!r} must have its {name} slot once")
        older = [key for key in list(shells) if key[0] == page]  # list(): one atomic copy
        if len(older) >= MAX_VARIANTS:
            for key in older:
                shells.pop(key, None)
        shells[(page, variant)] = shell
    for name, value in values.items():
        shell = shell.replace(slot(name), value, 1)
    return HTMLResponse(shell)
