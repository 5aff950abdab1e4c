"""``saferstreets import reports`` and ``saferstreets reports safeguarding``."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from tests.reports.county import INSIDE, import_tiny_county
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.db import make_engine
from saferstreets.reports.models import Report

runner = CliRunner()


def test_import_reports_and_count_the_safeguarding_queue(app_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(app_env.sqlalchemy_url)
    import_tiny_county(engine, tmp_path / "county")
    lat, lon = INSIDE["E05009001"]
    good = {
        "latitude": lat,
        "longitude": lon,
        "occurred_on": "2021-06-04",
        "reasons": ["isolated"],
        "received_at": "2021-06-05T09:12:00",
    }
    path = tmp_path / "other-channel.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                json.dumps({**good, "free_text": "a man with a knife waits here"}),
                json.dumps({**good, "time_band": "teatime"}),
            ]
        )
    )
    result = runner.invoke(app, ["import", "reports", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 read, 2 stored, 1 quarantined" in result.output
    assert "row 3, field 'time_band'" in result.output
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Report)) == 2
        assert set(conn.scalars(sa.select(Report.source))) == {"import"}
    queue = runner.invoke(app, ["reports", "safeguarding"])
    assert queue.exit_code == 0
    assert "1 urgent report waiting for review" in queue.output
    missing = runner.invoke(app, ["import", "reports", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert "Traceback" not in missing.output
    engine.dispose()
