"""The reports tests' tiny county and public client, reused for the gazetteer's pages."""

from tests.reports.conftest import county, web

__all__ = ["county", "web"]
