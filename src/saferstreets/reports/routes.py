"""Public pages for telling us about a place, checking a report, and the staff safeguarding queue.

Thin: each route reads the form, checks CSRF and the rate limit, and calls the service. The
report form works without JavaScript (a two-step place search) and is better with it (a map).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from saferstreets.errors import AppError, ValidationFailed
from saferstreets.reports import service
from saferstreets.reports.schemas import (
    AGE_BANDS,
    FORM_REASONS,
    MAX_FREE_TEXT,
    MAX_OTHER_REASON,
    MAX_PLACE_TEXT,
    TIME_BANDS,
    parse_submission,
)
from saferstreets.themes.taxonomy import label
from saferstreets.web.deps import SessionDep, SettingsDep, require_role, templates
from saferstreets.web.security import check_csrf, csrf_token, rate_limit

router = APIRouter()

MAX_FORM_BYTES = 32 * 1024  # the longest honest form is about 10 kB
HONEYPOT = "website"  # a field people never see; bots fill it in
FORM_FIELDS = (
    "latitude", "longitude", "place_text", "area_code", "occurred_on", "time_band",
    "happens_regularly", "other_reason", "free_text", "age_band", "for_self",
)  # fmt: skip
SafeguardingRole = Annotated[Any, Depends(require_role("supervisor", "analyst"))]  # admin passes


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
    return values


def _form_page(
    request: Request,
    settings: Any,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    matches: list[dict[str, Any]] | None = None,
    searched: bool = False,
    status_code: int = 200,
) -> Response:
    values = values or {"reasons": [], "occurred_on": service.received_today().isoformat()}
    return templates.TemplateResponse(
        request,
        "public/report.html",
        {
            "csrf": csrf_token(request),
            "values": values,
            "errors": errors or {},
            "matches": matches or [],
            "searched": searched,
            "reasons": FORM_REASONS,
            "time_bands": TIME_BANDS,
            "age_bands": AGE_BANDS,
            "today": service.received_today().isoformat(),
            "limits": {
                "free_text": MAX_FREE_TEXT,
                "other_reason": MAX_OTHER_REASON,
                "place_text": MAX_PLACE_TEXT,
            },
            "tile_url": settings.tile_url,
            "tile_attribution": settings.tile_attribution,
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
    from saferstreets.places.service import search_places

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
    from saferstreets.places.service import get_place

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
def report_form(request: Request, settings: SettingsDep) -> Response:
    return _form_page(request, settings)


@router.post("/report", include_in_schema=False)
async def report_submit(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await _read_form(request)
    check_csrf(request, str(form.get("csrf_token") or ""))
    values = _values(form)
    action = form.get("action") or "send"
    if action == "find":
        rate_limit(request, "lookup", settings.lookup_rate_limit)
        values["area_code"] = None
        matches = find_places(session=session, text=values.get("place_text"), near=_near(values))
        if len(matches) == 1:
            values["area_code"] = matches[0]["code"]
        errors = {}
        if not values.get("place_text"):
            errors["place_text"] = "Type a street, area or place name, then choose Find this place"
        return _form_page(request, settings, values, errors, matches, searched=True)
    if form.get(HONEYPOT):
        raise ValidationFailed(
            "This form could not be sent. Please reload the page and try again.", status=400
        )
    rate_limit(request, "report", settings.report_rate_limit)
    resolve_place_choice(session=session, values=values)
    try:
        submission = parse_submission(values)
        report, code = service.create_report(
            session=session, submission=submission, source="web", force_name=settings.force_name
        )
    except ValidationFailed as exc:
        session.rollback()
        matches = (
            find_places(session=session, text=values.get("place_text"))
            if (values.get("area_code") or exc.field_errors.get("location"))
            and values.get("place_text")
            and values.get("latitude") is None
            else []
        )
        return _form_page(request, settings, values, exc.field_errors, matches,
                          searched=bool(matches), status_code=422)  # fmt: skip
    urgent = report.urgent
    session.commit()  # save first: the report is stored before she sees the thank-you page
    # A one-time flash: the code never appears in a URL, and the thank-you page pops it.
    request.session["receipt"] = code
    request.session["receipt_urgent"] = urgent
    return RedirectResponse("/report/thanks", status_code=303)


@router.get("/report/thanks", include_in_schema=False)
def report_thanks(request: Request) -> Response:
    code = request.session.pop("receipt", None)
    urgent = request.session.pop("receipt_urgent", False)
    return templates.TemplateResponse(
        request, "public/report_thanks.html", {"code": code, "urgent": urgent}
    )


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
    rate_limit(request, "lookup", settings.lookup_rate_limit)
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
    rate_limit(request, "lookup", settings.lookup_rate_limit)
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


# --- staff -----------------------------------------------------------------------------------


@router.get("/staff/safeguarding", include_in_schema=False)
def safeguarding(
    request: Request, session: SessionDep, user: SafeguardingRole, show: str = "waiting"
) -> Response:
    from saferstreets.accounts.service import audit
    from saferstreets.alerts.service import alert_trouble

    include_reviewed = show == "all"
    show = "all" if include_reviewed else "waiting"
    reports = service.safeguarding_queue(session=session, include_reviewed=include_reviewed)
    shown = {"reports": [r.public_id for r in reports], "show": show}
    audit(session=session, user=user, action="view", object_kind="safeguarding_queue", detail=shown)
    return templates.TemplateResponse(
        request,
        "staff/safeguarding.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "reports": reports,
            "include_reviewed": include_reviewed,
            "waiting": service.count_safeguarding(session=session),
            "alerts": alert_trouble(session=session),  # failed alerts: staff/_alert_banner.html
            "time_bands": dict(TIME_BANDS),
            "age_bands": dict(AGE_BANDS),
            "label": label,
            "area_names": service.area_names(
                session=session,
                codes={c for r in reports for c in (r.ward_code, r.district_code) if c},
            ),
        },
    )


@router.post("/staff/safeguarding/{public_id}/reviewed", include_in_schema=False)
def safeguarding_reviewed(
    request: Request,
    public_id: str,
    session: SessionDep,
    user: SafeguardingRole,
    csrf: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    check_csrf(request, csrf)
    service.mark_reviewed(session=session, public_id=public_id[:36], user=user)
    return RedirectResponse("/staff/safeguarding", status_code=303)
