"""``saferstreets plan``: make, list, show, compare, export; bad settings are one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from saferstreets.cli import app

runner = CliRunner()
SMALL = [
    "--teams",
    "3",
    "--officers",
    "40",
    "--radius",
    "800",
    "--min-team",
    "4",
    "--ward-officers",
    "16",
    "--time-limit",
    "10",
]


def test_plan_make_list_show_compare_export(app_env, county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = runner.invoke(app, ["plan", "--name", "A", *SMALL])
    assert r.exit_code == 0, r.output
    assert "3 teams cover" in r.output and "Rollout" in r.output
    r = runner.invoke(
        app,
        [
            "plan",
            "--name",
            "B",
            *SMALL,
            "--teams",
            "4",
            "--weights",
            "reports=1,survey=0,crime=2",
            "--start",
            "2027-05-03",
            "--phase-weeks",
            "2",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    detail = json.loads(r.output)
    starts = [p["start"] for p in detail["summary"]["rollout"]]
    assert starts[:2] == ["2027-05-03", "2027-05-17"]
    assert len(detail["teams"]) == 4 and detail["params"]["weights"]["survey"] == 0
    assert sum(t["officers"] for t in detail["teams"]) == 40
    r = runner.invoke(app, ["plan", "list"])
    assert r.exit_code == 0 and "A" in r.output and "B" in r.output
    r = runner.invoke(app, ["plan", "compare", "A", "B", "--json"])
    assert r.exit_code == 0, r.output
    cmp = json.loads(r.output)
    assert [p["teams"] for p in cmp["plans"]] == [3, 4]
    assert "weights" in cmp["differing_params"]
    r = runner.invoke(app, ["plan", "compare", "A", "B"])
    assert r.exit_code == 0 and "Plans side by side" in r.output
    r = runner.invoke(app, ["plan", "export", "A", "--out", str(tmp_path), "--pdf"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "plan-1-patrols.csv").read_text().startswith("plan,team,base")
    assert len(list(tmp_path.glob("*.pdf"))) == 3
    r = runner.invoke(app, ["plan", "candidates"])
    assert r.exit_code == 0 and "TC0" in r.output


def test_bad_settings_are_one_line_without_traceback(app_env, county) -> None:  # type: ignore[no-untyped-def]
    cases = [
        (["--radius", "0"], "radius must be more than 0"),
        (["--min-team", "20"], "3 teams of at least 20 need 60 officers"),
        (["--teams", "500", "--officers", "5000", "--max-team", "60", "--min-team", "1"], "only"),
        (["--weights", "reports=x"], "must be a number"),
        (["--force-in", "NOWHERE"], "NOWHERE is not a candidate base"),
    ]
    for extra, text in cases:
        r = runner.invoke(app, ["plan", "--name", "bad", *SMALL, *extra])
        assert r.exit_code == 1, (extra, r.output)
        assert text in r.output, (extra, r.output)
        assert "Traceback" not in r.output
    r = runner.invoke(app, ["plan", "list"])
    assert "No plans yet" in r.output  # nothing half-made was kept


def test_empty_store_names_what_is_missing(app_env) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.db import get_engine
    from saferstreets.migrate import upgrade

    upgrade(get_engine(app_env))
    r = runner.invoke(app, ["plan", "--name", "x"])
    assert r.exit_code == 1
    assert "no demand to plan for" in r.output and "Traceback" not in r.output
