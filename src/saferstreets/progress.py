"""The one shape of progress callback every service speaks (pure: no Rich, no store).

A service reports a named step as ``progress("reading the store")`` and counted work as
``progress("Reading responses", done, total)``. Whoever shows it (the CLI's Rich adapters in
:mod:`saferstreets.cli.support`) decides how; ``None`` (the default everywhere) is silent.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """``progress(what)`` for a step; ``progress(what, done, total)`` for counted work."""

    def __call__(self, what: str, done: int | None = None, total: int | None = None) -> None: ...


def silent(what: str, done: int | None = None, total: int | None = None) -> None:
    """The progress of a caller that asked for none."""
