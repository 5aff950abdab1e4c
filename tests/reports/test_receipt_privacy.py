"""The receipt code is shown once and is never in a cookie, nor readable in the store."""

from __future__ import annotations

import base64
import binascii
import json

import sqlalchemy as sa
from tests.reports.conftest import receipt_of
from tests.reports.test_routes import _form

from saferstreets.accounts.models import WebSession
from saferstreets.db import session_scope


def _readable(header: str) -> str:
    """A Set-Cookie header with each dot-separated part of its value base64-decoded, as anyone
    holding the cookie could (the old signed session cookie was readable this way)."""
    value = header.split(";", 1)[0].split("=", 1)[-1].strip('"')
    parts = [header]
    for chunk in value.split("."):
        padded = chunk + "=" * (-len(chunk) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                parts.append(decode(padded).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                continue
    return " ".join(parts)


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
        readable = _readable(header)
        assert code not in readable and code.replace("-", "") not in readable
    assert code not in stored and code.replace("-", "") not in stored
    with session_scope(county) as session:  # shown once, then gone from the store
        assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
    assert code not in web.get("/report/thanks").text
