"""Fuzz the public JSON API from its own OpenAPI description (schemathesis, on SQLite).

Every public GET operation in /api/openapi.json is called with generated parameters (a bounded
number of examples each) against a small store: no response may be a server error, and each
must conform to what the description declares (status code, content type, JSON body schema).
Staff operations (under /staff) need a signed-in user and are covered by their own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.slow
EXAMPLES = 40


@pytest.fixture(scope="module")
def public_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app over a migrated SQLite store with the tiny county and a few reports."""
    import h3
    from tests.factories import add_report
    from tests.reports.county import INSIDE, import_tiny_county

    import saferstreets.all_models  # noqa: F401
    from saferstreets.actions.updates import publish_update
    from saferstreets.config import Settings
    from saferstreets.db import make_engine, session_scope
    from saferstreets.migrate import upgrade
    from saferstreets.web.app import create_app

    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    import_tiny_county(engine, folder / "county")
    with session_scope(engine) as session:
        for i in range(12):
            lat, lon = INSIDE["E05009001"]
            lat, lon = lat + i * 1e-4, lon
            add_report(session, ward="E05009001", district="E07000901", reasons=["poor_lighting"],
                       lat=lat, lon=lon, h3_cell=h3.latlng_to_cell(lat, lon, 9),
                       occurred_on=date(2021, 10, 1 + i))  # fmt: skip
        publish_update(session=session, user=None, area_code="E05009001", title="Lights fixed",
                       body="Two lights were repaired.")  # fmt: skip
    settings_ = Settings(env="test", database_url=url, data_dir=folder / "data",
                         secret_key="fuzz-test-secret-key-0123456789",
                         lookup_rate_limit=100_000)  # fmt: skip
    app = create_app(settings_)
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app).include(
        method="GET", path_regex=r"^/(api|areas)/"
    )
    engine.dispose()


def test_public_api_conforms_and_never_fails(public_api: Any) -> None:
    """Each public operation, up to EXAMPLES generated calls: no 5xx, conforms to its schema."""
    # schemathesis' pytest plugin (from_fixture) does not run under this pytest, so each
    # operation's hypothesis strategy is driven directly; failures are collected per operation.
    failures: list[str] = []
    operations = [result.ok() for result in public_api.get_all_operations()]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: Any) -> None:
            case.call_and_validate()

        try:
            check()
        except Exception as exc:  # reported below, with the operation
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_description_lists_the_public_api(public_api: Any) -> None:
    paths = {result.ok().path for result in public_api.get_all_operations()}
    assert {"/api/areas/search.json", "/api/areas.json", "/areas/{code}.json"} <= paths
    assert not any(p.startswith("/staff") for p in paths)
