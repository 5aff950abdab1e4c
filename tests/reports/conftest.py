"""Fixtures for report tests: the tiny county imported into the per-test store, and a client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.reports.county import import_tiny_county

from saferstreets.config import Settings


@pytest.fixture
def county(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    """The store with the tiny county's force, districts and wards."""
    import_tiny_county(engine, tmp_path / "county")
    return engine


@pytest.fixture
def web(county: sa.Engine, settings: Settings) -> Iterator:  # type: ignore[type-arg]
    """A client for the app over the county store, as a phone on a named address would be."""
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    app = create_app(settings)
    with TestClient(
        app,
        raise_server_exceptions=False,
        client=("203.0.113.77", 51234),
        headers={"User-Agent": "Mozilla/5.0 (PrivacyProbe-UA-5c1e)"},
    ) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def receipt_of(html: str) -> str:
    match = re.search(r'id="receipt-code">([^<]+)<', html)
    assert match, "no receipt code on the page"
    return match.group(1)
