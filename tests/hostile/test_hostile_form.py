"""Every field of the public report form, attacked with hypothesis: never a 500 or a traceback,
and a report is stored exactly when the thank-you redirect is given (no partial write)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.reports.conftest import csrf_of
from tests.reports.county import INSIDE, import_tiny_county

from saferstreets.config import Settings
from saferstreets.reports.models import Report
from saferstreets.reports.routes import FORM_FIELDS

FIELDS = (*FORM_FIELDS, "reasons", "action", "website")
# Text as attackers send it: markup, formula triggers, SQL, control and astral characters, huge
# numbers, and the plausible values of each field, so that some examples pass validation.
NASTY = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '=HYPERLINK("http://x")',
        "'; DROP TABLE report; --",
        "\x00\x1b[31m",
        "😀" * 50,
        "9" * 400,
        "1e309",
        "NaN",
        "-0",
        "51.80",
        "-0.40",
        "2026-11-30",
        "31/02/2026",
        "evening",
        "poor_lighting",
        "yes",
        "send",
        "find",
        "E05009001",
        " ",
    ]
)
VALUE = st.one_of(NASTY, st.text(max_size=300), st.text(max_size=2500))


@pytest.fixture
def settings_hi(settings: Settings) -> Settings:
    return settings.model_copy(update={"report_rate_limit": 100_000, "lookup_rate_limit": 100_000})


@pytest.fixture
def client(engine: sa.Engine, settings_hi: Settings, tmp_path: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    import_tiny_county(engine, tmp_path / "county")
    with TestClient(create_app(settings_hi), raise_server_exceptions=False) as test_client:
        yield test_client


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(Report)) or 0)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS), VALUE, min_size=1, max_size=5),
    many_reasons=st.lists(VALUE, max_size=60),
)
def test_no_form_input_gives_a_500_or_a_partial_write(
    client: Any, engine: sa.Engine, changes: dict[str, str], many_reasons: list[str]
) -> None:
    lat, lon = INSIDE["E05009001"]
    data: dict[str, Any] = {
        "csrf_token": csrf_of(client.get("/report").text),
        "action": "send",
        "latitude": str(lat),
        "longitude": str(lon),
        "occurred_on": "2026-11-30",
        "time_band": "evening",
        "reasons": many_reasons or ["poor_lighting"],
    }
    data.update(changes)
    before = _count(engine)
    answer = client.post("/report", data=data, follow_redirects=False)
    assert answer.status_code in (200, 303, 400, 413, 422), answer.status_code
    assert "Traceback" not in answer.text and "sqlalchemy" not in answer.text.lower()
    stored = _count(engine) - before
    assert stored == (1 if answer.status_code == 303 else 0)
    if answer.status_code == 422:
        assert 'class="error' in answer.text or "Please check" in answer.text


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(code=VALUE, confirm=VALUE)
def test_no_receipt_code_gives_a_500_or_deletes_anything(
    client: Any, engine: sa.Engine, code: str, confirm: str
) -> None:
    token = csrf_of(client.get("/report/status").text)
    before = _count(engine)
    for path, data in (
        ("/report/status", {"csrf_token": token, "code": code}),
        ("/report/delete", {"csrf_token": token, "code": code, "confirm": confirm}),
    ):
        answer = client.post(path, data=data, follow_redirects=False)
        assert answer.status_code in (200, 400, 404, 413, 422), (path, answer.status_code)
        assert "Traceback" not in answer.text
    assert _count(engine) == before
