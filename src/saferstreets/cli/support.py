"""What every command shares: the consoles, opening the store, printing an error, progress.

Domain ``cli.py`` modules import this at module level; it imports no domain, so the command
modules and :mod:`saferstreets.cli.main` (which wires them) form no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.errors import AppError
from saferstreets.progress import ProgressCallback, progress_bars, rich_progress

__all__ = [
    "ProgressCallback",
    "console",
    "err_console",
    "open_store",
    "print_app_error",
    "progress_bars",
    "rich_progress",
    "spinner",
]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def print_app_error(exc: AppError) -> None:
    """One clear message (and what to do) instead of a traceback."""
    err_console.print(f"[bold red]Error:[/bold red] {exc.message}", highlight=False)
    if exc.hint:
        err_console.print(f"  {exc.hint}", highlight=False)
    for field, message in exc.field_errors.items():
        err_console.print(f"  {field}: {message}", highlight=False)


def open_store(settings: Settings | None = None) -> Engine:
    """The engine for the configured store, refusing one that is not migrated."""
    from saferstreets.db import get_engine
    from saferstreets.migrate import require_current

    engine = get_engine(settings)
    require_current(engine)
    return engine


@contextmanager
def spinner(
    title: str, *, first: str | None = None, disable: bool = False
) -> Iterator[Callable[[str], None]]:
    """A spinner with the time elapsed, for work that reports steps as ``progress(message)``.

    Yields the ``progress`` callback; each message replaces the description (``title: message``).
    """
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    ) as bar:
        task = bar.add_task(first or title, total=None)

        def progress(message: str) -> None:
            bar.update(task, description=f"{title}: {message}" if title else message)

        yield progress
