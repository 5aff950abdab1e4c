"""A small, realistic store on top of the live server, built through the real services.

``seeded`` (session scope) adds to the live server's store (the tiny county of
``tests/reports/county.py``):

- reports clustered in one coarse (resolution 7) H3 cell of Northgate (enough to be shown), a few
  in Southmead (so its count is suppressed) and some in Eastbrook, each with free text carrying a
  marker word that must never reach a public page;
- a survey wave, so the assessment has charts to draw, and ``assessment.service.run_assessment``;
- a ward officer scoped to Northgate, a partner account for council street lighting;
- a local issue in Northgate (opened by the supervisor through ``actions.service``) with reports;
- two quarantined rows from a failed import (``ingest.service``).

Import the fixture into a test module: ``from tests.browser._fixtures import seeded  # noqa: F401``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import h3
import pytest
import sqlalchemy as sa

if TYPE_CHECKING:  # conftest imports this module: no import back at load time
    from tests.browser.conftest import LiveServer

NORTHGATE, SOUTHMEAD, EASTBROOK, RIVERSIDE = "E05009001", "E05009002", "E05009003", "E05009004"
ALDERTON, BROOKHAVEN = "E07000901", "E07000902"
OFFICER = "officer_northgate"
PARTNER = "lighting_partner"
PARTNER_CODE = "council_lighting"
SCALE = ["Very unsafe", "Fairly unsafe", "Neither safe nor unsafe", "Fairly safe", "Very safe"]
# Words in reports' free text: staff may read them, the public pages must never show them.
SECRET_WORDS = ("Marlowe", "Quillfeather", "Brackenbury")


@dataclass
class Seeded:
    server: LiveServer
    issue_id: int
    issue_title: str
    report_points: list[tuple[float, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # reports per ward added here


def _cluster(lat: float, lon: float, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """``n`` points a few hundred metres around the centre of the res-7 cell holding (lat, lon)."""
    clat, clon = h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, 7))
    return [
        (clat + rng.uniform(-0.002, 0.002), clon + rng.uniform(-0.003, 0.003)) for _ in range(n)
    ]


def build(server: LiveServer) -> Seeded:
    """Add the reports, survey, users, issue and quarantine to the live server's store."""
    from tests.browser.conftest import STAFF_PASSWORD
    from tests.factories import add_report

    from saferstreets.accounts.models import User
    from saferstreets.accounts.service import create_user
    from saferstreets.actions.service import create_issue
    from saferstreets.assessment.service import run_assessment
    from saferstreets.config import Settings
    from saferstreets.db import session_scope
    from saferstreets.ingest.service import (
        ImportSummary,
        Problem,
        finish_run,
        quarantine,
        start_run,
    )
    from saferstreets.publishing.batch import publish
    from saferstreets.surveys.models import SurveyResponse, SurveyWave

    settings = Settings(
        database_url=server.db_url,
        data_dir=server.data_dir / "data",
        env="test",
        secret_key="browser-test-secret-key-0123456789",
        # The live server's job worker publishes on its own at minute 2 of each hour: if it did
        # so before this seeding, a ward with fewer new reports than the default (10) would not
        # move in the batch below (Southmead's 3 would stay at 0). Everything seeded is published.
        publish_min_new_reports=1,
    )
    rng = random.Random(20211003)
    points: list[tuple[float, float]] = []
    counts: dict[str, int] = {}
    plan = [
        (NORTHGATE, ALDERTON, (51.80, -0.40), 24, "Marlowe"),
        (SOUTHMEAD, ALDERTON, (51.66, -0.40), 3, "Quillfeather"),
        (EASTBROOK, BROOKHAVEN, (51.82, -0.10), 12, "Brackenbury"),
    ]
    with session_scope(server.engine) as session:
        northgate_ids: list[int] = []
        for ward, district, (lat, lon), n, word in plan:
            counts[ward] = n
            for i, (plat, plon) in enumerate(_cluster(lat, lon, n, rng)):
                reasons = ["poor_lighting"] + (["being_followed"] if i % 4 == 0 else [])
                report = add_report(
                    session,
                    ward=ward,
                    district=district,
                    reasons=reasons,
                    lat=plat,
                    lon=plon,
                    h3_cell=h3.latlng_to_cell(plat, plon, settings.h3_resolution),
                    occurred_on=date.today() - timedelta(days=3 + i),
                    occurred_hour=rng.choice([21, 22, 23, 1]),
                    free_text=f"The path by {word} Street is pitch black; a man waits by the bins. "
                    f"Call 07700 900{i:03d}",
                )
                points.append((plat, plon))
                if ward == NORTHGATE:
                    northgate_ids.append(report.id)
        wave = SurveyWave(name="Autumn survey", period_start=date(2021, 9, 1))
        session.add(wave)
        session.flush()
        for i in range(150):
            unsafe = rng.random() < 0.55
            ward = rng.choice([NORTHGATE, SOUTHMEAD, EASTBROOK, RIVERSIDE])
            session.add(
                SurveyResponse(
                    wave_id=wave.id,
                    respondent_ref=f"b{i}",
                    age_band=rng.choice(["16-17", "25-34", "45-54", "65-74"]),
                    gender="Woman",
                    ward_code=ward,
                    district_code=ALDERTON if ward in (NORTHGATE, SOUTHMEAD) else BROOKHAVEN,
                    concerns=["poor_lighting"] + (["being_followed"] if rng.random() < 0.4 else []),
                    feel_safe={
                        "after_dark.quiet_street": SCALE[1] if unsafe else SCALE[3],
                        "day.quiet_street": SCALE[3],
                    },
                )
            )
        create_user(
            session=session,
            username=OFFICER,
            password=STAFF_PASSWORD,
            role="ward_officer",
            display_name="PC Amara Okafor",
            wards=[NORTHGATE],
        )
        create_user(
            session=session,
            username=PARTNER,
            password=STAFF_PASSWORD,
            role="partner",
            display_name="Street lighting team",
            partner=PARTNER_CODE,
        )
        supervisor = session.scalar(sa.select(User).where(User.username == "supervisor"))
        title = "Unlit path behind the bins, Northgate"
        issue = create_issue(
            session=session,
            user=supervisor,
            ward_code=NORTHGATE,
            title=title,
            description="Women say the path is unlit and a man waits there at night.",
            themes=["poor_lighting"],
            report_ids=northgate_ids[:8],
            priority=1,
        )
        issue_id = issue.id
        run = start_run(session=session, kind="survey", source="autumn-survey.csv", sha256=None)
        problems = [
            Problem(
                "autumn-survey.csv",
                7,
                "age_band",
                "'120+' is not an age band",
                {"age": "120+", "ward": "Northgate"},
            ),
            Problem(
                "autumn-survey.csv",
                12,
                "ward",
                "'Nowhere' is not a ward in the store",
                {"age": "25-34", "ward": "Nowhere"},
            ),
        ]
        summary = ImportSummary(
            kind="survey", source="autumn-survey.csv", rows_read=14, rows_stored=12
        )
        summary.rows_quarantined = quarantine(
            session=session, run=run, kind="survey", problems=problems
        )
        finish_run(session=session, run=run, summary=summary)
    run_assessment(engine=server.engine, settings=settings, permutations=99)
    with session_scope(server.engine) as session:  # public pages read only published batches
        publish(session=session, settings=settings, now=datetime.now().replace(microsecond=0))
    return Seeded(
        server=server, issue_id=issue_id, issue_title=title, report_points=points, counts=counts
    )


_BUILT: dict[str, Seeded] = {}  # each test module imports the fixture; the store is seeded once


@pytest.fixture(scope="session")
def seeded(live_server: LiveServer) -> Seeded:
    """The live server's store with reports, survey, assessment, users, issue and quarantine."""
    if live_server.db_url not in _BUILT:
        _BUILT[live_server.db_url] = build(live_server)
    return _BUILT[live_server.db_url]


def wait_for_job(page: Any, *, tries: int = 240) -> str:
    """Wait on the job page ``page`` is showing until the worker has finished the job; its
    status (for a test that goes on to the job's result)."""
    job_url = page.url.split("?")[0]
    status = "queued"
    for _ in range(tries):
        status = page.request.get(f"{job_url}.json").json()["status"]
        if status in ("done", "failed"):
            break
        page.wait_for_timeout(500)
    return str(status)
