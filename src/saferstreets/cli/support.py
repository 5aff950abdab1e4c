"""What every command shares: the consoles, opening the store, printing an error, progress.

Domain ``cli.py`` modules import this at module level; it imports no domain, so the command
modules and :mod:`saferstreets.cli.main` (which wires them) form no import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.errors import AppError
from saferstreets.ingest.records import ROWS
from saferstreets.progress import Progress

__all__ = [
    "Progress",
    "console",
    "err_console",
    "open_store",
    "print_app_error",
    "progress_bars",
    "rich_import_progress",
    "rich_progress",
    "single_bar",
    "spinner",
]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def print_app_error(exc: AppError) -> None:
    """One clear message (and what to do) instead of a traceback."""
    err_console.print(f"[bold red]Error:[/bold red] {escape(exc.message)}", highlight=False)
    if exc.hint:
        err_console.print(f"  {exc.hint}", highlight=False, markup=False)
    for field, message in exc.field_errors.items():
        err_console.print(f"  {field}: {message}", highlight=False, markup=False)


def open_store(settings: Settings | None = None) -> Engine:
    """The engine for the configured store, refusing one that is not migrated."""
    from saferstreets.db import get_engine
    from saferstreets.migrate import require_current

    engine = get_engine(settings)
    require_current(engine)
    return engine


@contextmanager
def spinner(title: str, *, first: str | None = None, disable: bool = False) -> Iterator[Progress]:
    """A spinner with the time elapsed, for work that reports steps as ``progress(message)``.

    Yields the ``progress`` callback; each message replaces the description (``title: message``).
    """
    with RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    ) as bar:
        task = bar.add_task(first or title, total=None)

        def progress(what: str, done: int | None = None, total: int | None = None) -> None:
            bar.update(task, description=f"{title}: {what}" if title else what)

        yield progress


def progress_bars(console: Console, *, transient: bool = False) -> RichProgress:
    """The project's Rich progress display: description, bar, done of total, time elapsed."""
    return RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


@contextmanager
def rich_progress(console: Console, *, transient: bool = False) -> Iterator[Progress]:
    """One bar per distinct ``what``; a step with nothing to do (total 0) draws no bar.

    A bare step (no counts) draws nothing: the bars show counted work only.
    """
    tasks: dict[str, TaskID] = {}
    with progress_bars(console, transient=transient) as bar:

        def update(what: str, done: int | None = None, total: int | None = None) -> None:
            if done is None or total is None:
                return
            if what not in tasks:
                if total == 0:
                    return
                tasks[what] = bar.add_task(what, total=max(total, 1))
            bar.update(tasks[what], completed=done, total=max(total, 1))

        yield update


@contextmanager
def single_bar(title: str) -> Iterator[Progress]:
    """Rich's default bar under one fixed ``title``, for work counted as one whole (transient)."""
    with RichProgress(console=console, transient=True) as bar:
        task = bar.add_task(title, total=None)

        def update(what: str, done: int | None = None, total: int | None = None) -> None:
            if done is not None:
                bar.update(task, completed=done, total=total)

        yield update


class RichImportProgress:
    """Files and rows, as Rich progress bars: the CLI's adapter for an import's progress.

    It hears the one progress shape as :class:`saferstreets.ingest.records.ImportSteps` speaks
    it: the files bar (its description names the file being read), the rows bar, and a failed
    file's summary line (a bare step) printed in red.
    """

    def __init__(self, bar: RichProgress) -> None:
        self.bar = bar
        self.files: TaskID | None = None
        self.rows: TaskID | None = None

    def __call__(self, what: str, done: int | None = None, total: int | None = None) -> None:
        if done is None:
            self.bar.console.print(f"[red]{what}[/red]", highlight=False)
        elif what == ROWS:
            if self.rows is not None:
                self.bar.update(self.rows, completed=done)
        elif self.files is None:
            self.files = self.bar.add_task(what, total=total)
            self.rows = self.bar.add_task(ROWS, total=None)
        else:
            self.bar.update(self.files, description=what, completed=done)


@contextmanager
def rich_import_progress(console: Console) -> Iterator[RichImportProgress]:
    """A Rich progress display for an import (transient: the summary table follows it)."""
    with progress_bars(console, transient=True) as bar:
        yield RichImportProgress(bar)
