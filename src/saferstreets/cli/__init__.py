"""The ``saferstreets`` command line.

- :mod:`saferstreets.cli.support`: consoles, opening the store, error printing, progress; what
  every domain's ``cli.py`` imports (at module level).
- :mod:`saferstreets.cli.main`: the top-level Typer app, wiring each domain's ``typer.Typer()``.

``from saferstreets.cli import app`` and the ``saferstreets.cli:main`` entry point still work:
``app`` is loaded from :mod:`saferstreets.cli.main` on first use, so that a domain's command
module importing :mod:`~saferstreets.cli.support` does not load every other domain's (and no
import cycle exists at module level).
"""

from __future__ import annotations

from typing import Any

from saferstreets.cli.support import console, err_console, open_store, print_app_error

__all__ = ["app", "console", "err_console", "main", "open_store", "print_app_error"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from saferstreets.cli.main import app

        return app
    raise AttributeError(f"module 'saferstreets.cli' has no attribute {name!r}")


def main() -> None:
    """Entry point of the ``saferstreets`` command."""
    from saferstreets.cli.main import main as run

    run()
