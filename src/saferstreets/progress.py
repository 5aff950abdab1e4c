"""Progress bars for long CLI work, driven by a service's ``progress(what, done, total)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

ProgressCallback = Callable[[str, int, int], None]


def progress_bars(console: Console, *, transient: bool = False) -> Progress:
    """The project's Rich progress display: description, bar, done of total, time elapsed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


@contextmanager
def rich_progress(console: Console, *, transient: bool = False) -> Iterator[ProgressCallback]:
    """One bar per distinct ``what``; a step with nothing to do (total 0) draws no bar."""
    tasks: dict[str, TaskID] = {}
    with progress_bars(console, transient=transient) as bar:

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                if total == 0:
                    return
                tasks[what] = bar.add_task(what, total=max(total, 1))
            bar.update(tasks[what], completed=done, total=max(total, 1))

        yield update
