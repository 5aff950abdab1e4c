"""The receipt code is shown once and is never in a cookie, nor readable in the store."""

from __future__ import annotations

import json

import sqlalchemy as sa
from tests.reports.conftest import receipt_of
from tests.reports.test_routes import _form

from saferstreets.accounts.models import WebSession
from saferstreets.db import session_scope


def test_the_receipt_code_is_never_in_a_cookie_nor_readable_in_the_store(web, county) -> None:  # type: ignore[no-untyped-def]
    # Old code: the code sat in the signed (not encrypted) session cookie until shown.
    sent = web.post("/report", data=_form(web, free_text="No lights"), follow_redirects=False)
    assert sent.status_code == 303
    with session_scope(county) as session:
        kept = session.scalars(sa.select(WebSession)).all()
        stored = json.dumps([(r.id_hash, r.data) for r in kept])
    thanks = web.get("/report/thanks")
    code = receipt_of(thanks.text)
    for header in sent.headers.get_list("set-cookie") + thanks.headers.get_list("set-cookie"):
        assert code not in header and code.replace("-", "") not in header
    assert code not in stored and code.replace("-", "") not in stored
    with session_scope(county) as session:  # shown once, then gone from the store
        assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
    assert code not in web.get("/report/thanks").text
