"""No hidden count can be recovered by subtraction, over every public output at once.

A county is seeded with the counts that give reporters away (single reports, wards of 1 to 9,
map cells shared by wards, themes in few reports, a report in no ward and one with no place);
a batch is published; then ``attack`` fetches every public page, JSON, CSV and map, writes down
every additive relation among the figures and solves for each hidden one.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import h3
import pytest
from tests.factories import add_area, add_report
from tests.publishing.attack import attack, fetch, truth

from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.publishing.batch import publish

NOW = datetime(2022, 3, 1, 6)
THEMES = ["poor_lighting", "being_followed", "isolated", "verbal_harassment", "touching"]
# Reports per ward, chosen to be hard: singles, small wards beside big ones, zero.
WARDS = {
    "D1": {"W11": 40, "W12": 1, "W13": 3, "W14": 14, "W15": 0, "W16": 9},
    "D2": {"W21": 25, "W22": 22, "W23": 5, "W24": 2},
    "D3": {"W31": 1, "W32": 60},
}


def _cells(lat: float, lon: float) -> list[str]:
    """Three coarse cells side by side, each with several fine cells in it."""
    seed = h3.latlng_to_cell(lat, lon, 7)
    coarse = sorted(h3.grid_disk(seed, 1))[:3]
    return [next(iter(sorted(h3.cell_to_children(c, 9)))) for c in coarse]


def seed_county(engine) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    with session_scope(engine) as session:
        for d_i, (district, wards) in enumerate(WARDS.items()):
            lat, lon = 51.7 + 0.2 * d_i, -0.3
            add_area(session, district, f"District {district}", "district", lat=lat, lon=lon)
            cells = _cells(lat, lon)  # the wards of a district share its coarse cells
            for ward, n in wards.items():
                add_area(session, ward, f"Ward {ward}", "ward", parent=district, lat=lat, lon=lon)
                for _ in range(n):
                    add_report(
                        session,
                        ward=ward,
                        district=district,
                        reasons=rng.sample(THEMES, rng.choice([1, 1, 2])),
                        h3_cell=rng.choice(cells),
                    )
        # One report in D1 but in none of its wards, one in W11 with no place on the map.
        add_report(session, ward=None, district="D1", reasons=["touching"], h3_cell=cells[0])
        add_report(session, ward="W11", district="D1", reasons=["isolated"], h3_cell=None)


def publish_now(engine, now: datetime = NOW, **settings) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        publish(session=session, settings=Settings(env="test", **settings), now=now)


def test_no_hidden_count_can_be_worked_out_from_every_public_output(client, engine) -> None:  # type: ignore[no-untyped-def]
    seed_county(engine)
    publish_now(engine)
    pub = fetch(client)
    values = truth(engine, pub)
    assert not pub.conflicts, pub.conflicts  # one figure, the same in every output
    # Every figure shown is true: nothing is published wrong to protect anyone.
    wrong = {k: v for k, v in pub.figures.items() if v is not None and v != values.get(k, 0)}
    assert not wrong, wrong
    hidden_small = [k for k, v in values.items() if 0 < v < 10 and k[0] in ("n", "t", "c")]
    assert hidden_small and all(pub.figures.get(k) is None for k in hidden_small)
    exposed, unknowns = attack(pub, values)
    assert unknowns > 20  # the attack had plenty to work on
    assert not exposed, "\n".join(f"{e.key}: {e.why} (true {values[e.key]})" for e in exposed)
    # Shown figures still carry the picture: the big wards and the busiest cells are there.
    assert pub.figures[("n", "D3")] == 61 and pub.figures[("n", "W11")] == 41


@pytest.mark.slow
def test_no_hidden_count_can_be_worked_out_in_the_demo_county(tmp_path: Path) -> None:
    """The same attack on the demo county's reports (112 wards, 2,000 reports)."""
    from fastapi.testclient import TestClient
    from rich.console import Console

    from saferstreets.db import dispose_engines, get_engine
    from saferstreets.demo import pipeline
    from saferstreets.web.app import create_app

    out = tmp_path / "demo"
    out.mkdir()
    base = Settings(env="test", data_dir=tmp_path, secret_key="x" * 40)
    settings = pipeline.demo_settings(base, out)
    engine = get_engine(settings)
    ctx = pipeline.DemoContext(
        settings=settings, seed=7, out=out, engine=engine, console=Console(quiet=True)
    )
    for stage in (
        pipeline.stage_generate,
        pipeline.stage_store,
        pipeline.stage_boundaries,
        pipeline.stage_reports,
        pipeline.stage_publish,
    ):
        stage(ctx)
    with TestClient(create_app(settings)) as client:
        pub = fetch(client)
    values = truth(engine, pub)
    dispose_engines()
    assert not pub.conflicts, pub.conflicts
    assert sum(v is not None and v >= 10 for v in pub.figures.values()) > 100  # much is shown
    exposed, unknowns = attack(pub, values)
    assert unknowns > 500
    assert not exposed, "\n".join(f"{e.key}: {e.why} (true {values[e.key]})" for e in exposed[:20])
