"""Public pages for telling us about a place and checking a report (the staff safeguarding queue:
``reports/routes_staff.py``).

Thin: each route reads the form, checks CSRF and the rate limit, and calls the service. The
report form works without JavaScript (a two-step place search) and is better with it (a map).
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from saferstreets.db import STORE_TROUBLE, is_postgres, with_retries
from saferstreets.errors import AppError, ValidationFailed
from saferstreets.reports import service, submissions
from saferstreets.reports.schemas import (
    AGE_BANDS,
    FORM_REASONS,
    MAX_FREE_TEXT,
    MAX_OTHER_REASON,
    MAX_PLACE_TEXT,
    TIME_BANDS,
    parse_submission,
)
from saferstreets.web import shells
from saferstreets.web.deps import SessionDep, SettingsDep, templates
from saferstreets.web.security import check_csrf, csrf_token, rate_limit
from saferstreets.web.sessions import keep_receipt, now, take_receipt

log = logging.getLogger(__name__)
router = APIRouter()

MAX_FORM_BYTES = 32 * 1024  # the longest honest form is about 10 kB
HONEYPOT = "website"  # a field people never see; bots fill it in
FORM_FIELDS = (
    "latitude", "longitude", "place_text", "area_code", "occurred_on", "time_band",
    "happens_regularly", "other_reason", "free_text", "age_band", "for_self",
)  # fmt: skip


class FormTooLarge(AppError):
    status = 413
    title = "Too much was sent"


async def _read_form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise FormTooLarge(
            f"The form sent was larger than {MAX_FORM_BYTES // 1024} kB. "
            f"What you write in your own words can be up to {MAX_FREE_TEXT:,} characters."
        )
    return await request.form(max_files=0, max_fields=100)


def _parse_date(text: str) -> str | None:
    """Accept 2026-11-25 (date pickers) and 25/11/2026 (typed by hand); anything else as is."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text or None


def _values(form: FormData) -> dict[str, Any]:
    """The report fields from the posted form, as the submission model takes them."""
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) and raw.strip() else None
    values["reasons"] = [r for r in form.getlist("reasons") if isinstance(r, str)][:40]
    values["happens_regularly"] = values["happens_regularly"] == "yes"
    if values["occurred_on"]:
        values["occurred_on"] = _parse_date(values["occurred_on"])
    # The form's one-time key; a form sent without one (an old page) gets one from here on.
    values[KEY] = submissions.usable(form.get(submissions.FIELD)) or submissions.new_key()
    return values


def _form_page(
    request: Request,
    settings: Any,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    matches: list[dict[str, Any]] | None = None,
    searched: bool = False,
    status_code: int = 200,
    unsaved: bool = False,
    csrf: str | None = None,
) -> Response:
    """The form with ``values`` (the empty form's are ``_empty_form``'s)."""
    return templates.TemplateResponse(
        request,
        "public/report.html",
        {
            "csrf": csrf if csrf is not None else csrf_token(request),
            "values": values,
            "errors": errors or {},
            "matches": matches or [],
            "searched": searched,
            "unsaved": unsaved,
            "reasons": FORM_REASONS,
            "time_bands": TIME_BANDS,
            "age_bands": AGE_BANDS,
            "today": service.received_today().isoformat(),
            "limits": {
                "free_text": MAX_FREE_TEXT,
                "other_reason": MAX_OTHER_REASON,
                "place_text": MAX_PLACE_TEXT,
            },
        },
        status_code=status_code,
    )


def find_places(
    *,
    session: Any,
    text: str | None,
    near: tuple[float, float] | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Areas and places (streets, postcodes, stations, stops, landmarks) matching what she typed,
    for the place step: areas named exactly first, then places, then other areas."""
    if not text or len(text.strip()) < 2:
        return []
    from saferstreets.areas.service import find_areas_by_name
    from saferstreets.places.search import search_places

    typed = text.strip()[:MAX_PLACE_TEXT]
    areas = find_areas_by_name(session=session, text=typed, limit=limit)
    exact = [a for a in areas if a.name.lower() == " ".join(typed.lower().split())]
    places = search_places(session=session, text=typed, near=near, limit=limit)
    found = [_match(a) for a in exact] + [_place_match(p) for p in places]
    found += [_match(a) for a in areas if a not in exact]
    return found[:limit]


def _place_match(place: Any) -> dict[str, Any]:
    # A place is chosen as a pin at its point; an area found by partial postcode as its area.
    code = f"{PLACE_CHOICE}{place.id}" if place.id is not None else str(place.area_code or "")
    return {"code": code, "name": place.name, "detail": place.detail}


PLACE_CHOICE = "place:"


def resolve_place_choice(*, session: Any, values: dict[str, Any]) -> None:
    """A place chosen from the matches becomes a pin at the place (in ``values``)."""
    choice = str(values.get("area_code") or "")
    if not choice.startswith(PLACE_CHOICE):
        return
    from saferstreets.places.search import get_place

    values["area_code"] = None
    place_id = choice.removeprefix(PLACE_CHOICE)
    place = get_place(session=session, place_id=int(place_id)) if place_id.isdigit() else None
    if place is not None and place.latitude is not None and place.longitude is not None:
        values["latitude"] = str(place.latitude)
        values["longitude"] = str(place.longitude)


def _near(values: dict[str, Any]) -> tuple[float, float] | None:
    try:
        return (float(values["latitude"]), float(values["longitude"]))
    except (KeyError, TypeError, ValueError):
        return None


def _match(item: Any) -> dict[str, Any]:
    get = item.get if isinstance(item, dict) else lambda k, d=None: getattr(item, k, d)
    kind = str(get("kind", "") or "")
    parent = get("parent_name", None)
    kinds = {"ward": "ward", "district": "district", "town_centre": "town centre",
             "lsoa": "neighbourhood", "force": "whole force area"}  # fmt: skip
    detail = kinds.get(kind, kind.replace("_", " "))
    if parent:
        detail += f" in {parent}"
    return {"code": str(get("code")), "name": str(get("name")), "detail": detail}


@router.get("/report", include_in_schema=False)
async def report_form(request: Request, settings: SettingsDep) -> Response:
    """The empty form. ``async``: it reads nothing from the store, so no thread hop."""
    return _empty_form(request, settings)


def _empty_form(request: Request, settings: Any) -> Response:
    """The empty form, the page asked for most: rendered once a day (the page has the day's
    date in it) with slots for the visitor's CSRF token and the form's one-time key
    (``web.shells``): the page ``_form_page`` renders, for 17 instead of 243 us of CPU
    (in one process, best of three runs of 2,000, 2026-12-04)."""
    today = service.received_today().isoformat()

    def render() -> Response:
        values = {"reasons": [], "occurred_on": today, "submission_key": shells.slot("key")}
        return _form_page(request, settings, values, csrf=shells.slot("csrf"))

    fill = {"csrf": csrf_token(request), "key": submissions.new_key()}
    return shells.filled(request, "report", today, render, fill)


async def posted_report_form(request: Request) -> FormData:
    """The report form, read here (on the event loop) so that the route can be a plain ``def``
    (run in the thread pool) and wait on the store without holding up other requests."""
    return await _read_form(request)


ReportForm = Annotated[FormData, Depends(posted_report_form)]


@router.post("/report", include_in_schema=False)
def report_submit(
    request: Request, session: SessionDep, settings: SettingsDep, form: ReportForm
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    values = _values(form)
    try:
        if (form.get("action") or "send") == "find":
            return _find_step(request, session, settings, values)
        if form.get(HONEYPOT):
            raise ValidationFailed(
                "This form could not be sent. Please reload the page and try again.", status=400
            )
        return _send(request, session, settings, values)
    except STORE_TROUBLE as exc:
        return _unsaved(request, session, settings, values, exc)


def _find_step(request: Request, session: Any, settings: Any, values: dict[str, Any]) -> Response:
    rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
    values["area_code"] = None
    matches = find_places(session=session, text=values.get("place_text"), near=_near(values))
    if len(matches) == 1:
        values["area_code"] = matches[0]["code"]
    errors = {}
    if not values.get("place_text"):
        errors["place_text"] = "Type a street, area or place name, then choose Find this place"
    return _form_page(request, settings, values, errors, matches, searched=True)


KEY = submissions.FIELD


def _send(request: Request, session: Any, settings: Any, values: dict[str, Any]) -> Response:
    """Store the report once per form (its one-time key), then the receipt (shown once).

    The common case, a form sent once, is one transaction with nothing read first: a form sent
    again finds its key taken when it writes the key's row (``_store``), which undoes all it
    wrote and shows the first sending's receipt. A refused sending (over the rate limit, or an
    answer no longer accepted) looks for an earlier sending of the same form before it is
    refused: a form that was stored always gets its receipt."""
    key = values[KEY]
    try:
        with_retries(lambda: _store(request, session, settings, values), session=session)
    except (ValidationFailed, HTTPException) as exc:
        session.rollback()  # which undid the count: a refused form counts all the same
        if _receipt_of_earlier_sending(request, session, key):
            return _to_receipt()
        if isinstance(exc, HTTPException):
            raise
        rate_limit(request, "report", settings.report_rate_limit, session=session)
        return _form_with_mistakes(request, session, settings, values, exc)
    return _to_receipt()


def _store(request: Request, session: Any, settings: Any, values: dict[str, Any]) -> None:
    """The report, its key and its sealed receipt in one commit, before she is answered."""
    key = values[KEY]
    bound_waits(session)
    # Counted in the report's own transaction, first (one commit for all; see rate_limit).
    rate_limit(request, "report", settings.report_rate_limit, session=session,
               own_transaction=False)  # fmt: skip
    resolve_place_choice(session=session, values=values)
    report, code = service.create_report(
        session=session,
        submission=parse_submission({k: v for k, v in values.items() if k != KEY}),
        source="web",
        force_name=settings.force_name,
        settings=settings,
    )
    try:
        submissions.record(session=session, key=key, now=now(request), code=code,
                           urgent=report.urgent)  # fmt: skip
    except sa.exc.IntegrityError:  # this form was stored already: sent again, or twice at once
        session.rollback()
        if not _receipt_of_earlier_sending(request, session, key):
            raise
        return
    keep_receipt(request, session=session, code=code, urgent=report.urgent)
    session.commit()


def _receipt_of_earlier_sending(request: Request, session: Any, key: str) -> bool:
    """If this form was stored already, keep its receipt for the next page (committed)."""
    earlier = submissions.stored_receipt(session=session, key=key)
    if earlier is None:
        return False
    keep_receipt(request, session=session, code=earlier[0], urgent=earlier[1])
    session.commit()
    return True


def _form_with_mistakes(
    request: Request, session: Any, settings: Any, values: dict[str, Any], exc: ValidationFailed
) -> Response:
    """The form again with what needs another look (and the places matching what she typed,
    when the place is what was refused)."""
    matches = (
        find_places(session=session, text=values.get("place_text"))
        if (values.get("area_code") or exc.field_errors.get("location"))
        and values.get("place_text")
        and values.get("latitude") is None
        else []
    )
    return _form_page(request, settings, values, exc.field_errors, matches,
                      searched=bool(matches), status_code=422)  # fmt: skip


def _to_receipt() -> Response:
    # Shown once: never in a URL or a cookie; kept sealed in the store until the next page.
    return RedirectResponse("/report/thanks", status_code=303)


#: How long a submission waits for a lock on PostgreSQL before she is told to try again (SQLite
#: writers wait ``db.SQLITE_BUSY_MS``). A worker is not held for ever by a long lock.
LOCK_WAIT = "5s"
STATEMENT_WAIT = "15s"


_BOUND_WAITS = (
    f"SET LOCAL lock_timeout = '{LOCK_WAIT}'; SET LOCAL statement_timeout = '{STATEMENT_WAIT}'"
)


def bound_waits(session: Any) -> None:
    """Bound this transaction's waits (PostgreSQL). Sent as the driver's SQL: through
    ``sa.text`` it cost about 40 us more of CPU a report, for nothing to compile."""
    if is_postgres(session):
        session.connection().exec_driver_sql(_BOUND_WAITS)


def _unsaved(
    request: Request, session: Any, settings: Any, values: dict[str, Any], exc: Exception
) -> Response:
    """The store did not answer (restarting, locked, too slow): a 503 with her form as she
    filled it in, and the same one-time key, so sending it again is safe whatever happened."""
    with suppress(*STORE_TROUBLE):
        session.rollback()
    log.warning("a report could not be saved: the store did not answer (%s)", type(exc).__name__)
    response = _form_page(request, settings, values, unsaved=True, status_code=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


RETRY_AFTER_S = 10


@router.get("/report/thanks", include_in_schema=False)
def report_thanks(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    code, urgent = take_receipt(request, session=session)

    def render(shown: str | None) -> Response:
        return templates.TemplateResponse(
            request,
            "public/report_thanks.html",
            {"code": shown, "urgent": urgent, "support_services": settings.support_services},
        )

    if code is None:  # shown once: it was shown already, or never kept
        return render(None)
    return shells.filled(request, "report_thanks", urgent, lambda: render(shells.slot("code")),
                         {"code": code})  # fmt: skip


@router.get("/report/status", include_in_schema=False)
def status_form(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "public/report_status.html", {"csrf": csrf_token(request), "errors": {}}
    )


@router.post("/report/status", include_in_schema=False)
def status_lookup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    check_csrf(request, csrf)
    rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
    try:
        report = service.report_for_receipt(session=session, code=code)
    except AppError as exc:
        return templates.TemplateResponse(
            request,
            "public/report_status.html",
            {"csrf": csrf_token(request), "errors": exc.field_errors, "message": exc.message},
            status_code=exc.status,
        )
    view = service.public_view(session=session, report=report)
    return templates.TemplateResponse(
        request,
        "public/report_status_view.html",
        {"csrf": csrf_token(request), "view": view, "code": code.strip().upper(), "errors": {}},
    )


@router.post("/report/delete", include_in_schema=False)
def delete(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    check_csrf(request, csrf)
    rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
    if confirm != "yes":
        report = service.report_for_receipt(session=session, code=code)
        view = service.public_view(session=session, report=report)
        return templates.TemplateResponse(
            request,
            "public/report_status_view.html",
            {"csrf": csrf_token(request), "view": view, "code": code.strip().upper(),
             "errors": {"confirm": "Tick the box to confirm you want to delete your report"}},
            status_code=422,
        )  # fmt: skip
    service.delete_report(session=session, code=code)
    session.commit()
    return RedirectResponse("/report/deleted", status_code=303)


@router.get("/report/deleted", include_in_schema=False)
def deleted(request: Request) -> Response:
    return templates.TemplateResponse(request, "public/report_deleted.html", {})
