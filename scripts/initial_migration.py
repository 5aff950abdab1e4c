"""Regenerate the single initial migration from the models (pre-release only).

Until the first release the schema is one revision, ``0001``. After a model change, run
``make migration`` and commit the regenerated file; the suite checks models and migrations agree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from saferstreets.db import MIGRATIONS_DIR
from saferstreets.migrate import alembic_config


def main() -> None:
    for old in (MIGRATIONS_DIR / "versions").glob("*_0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.db'}"
        command.revision(
            alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001"
        )


if __name__ == "__main__":
    main()
