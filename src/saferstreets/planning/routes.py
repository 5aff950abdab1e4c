"""Staff pages for deployment plans: list and compare, make a "what if", see one plan, export."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from saferstreets.config import Settings
from saferstreets.errors import NotFound, PlanningError
from saferstreets.jobs.service import enqueue
from saferstreets.planning import service
from saferstreets.planning.jobs import SOLVE
from saferstreets.planning.params import (
    CHECK_MARKED,
    FORM_DEFAULTS,
    PlanParams,
    form_problems,
    form_values,
    read_form,
    weights_text,
)
from saferstreets.web.deps import SessionDep, SettingsDep, require_role, templates
from saferstreets.web.ids import StoreId
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter(prefix="/staff/plans")
Planner = Annotated[Any, Depends(require_role("supervisor", "analyst"))]
CsrfField = Annotated[str, Form(alias="csrf_token")]


def _audit(session: Any, user: Any, action: str, plan_id: Any) -> None:
    try:
        from saferstreets.accounts.service import audit
    except ImportError:  # pragma: no cover
        return
    audit(session=session, user=user, action=action, object_kind="plan", object_id=str(plan_id))


def _ctx(request: Request, user: Any, **extra: Any) -> dict[str, Any]:
    return {"user": user, "csrf": csrf_token(request), **extra}


@router.get("", include_in_schema=False)
def plans_page(request: Request, session: SessionDep, user: Planner) -> Response:
    plans = service.list_plans(session=session)
    return templates.TemplateResponse(request, "staff/plans.html", _ctx(request, user, plans=plans))


@router.get(".json", response_model=None)
def plans_json(session: SessionDep, user: Planner) -> list[dict[str, Any]]:
    """Stored plans, newest first."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "coverage": p.coverage,
            "gap": p.gap,
            "status": p.status,
            "teams": p.params.get("teams"),
            "created_at": p.created_at.isoformat(timespec="seconds"),
        }
        for p in service.list_plans(session=session)
    ]


def _form_page(
    request: Request,
    user: Any,
    session: Any,
    settings: Settings,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    try:
        candidates = service.candidate_list(session=session, settings=settings)
    except PlanningError:
        candidates = []
    return templates.TemplateResponse(
        request,
        "staff/plans_new.html",
        _ctx(
            request,
            user,
            values=values,
            errors=errors or {},
            message=message,
            candidates=candidates,
        ),
        status_code=status,
    )


#: the web's own limit on the optimiser's time (the CLI allows more)
WEB_TIME_LIMIT = 120


@router.get("/new", include_in_schema=False)
def new_plan_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Planner,
    like: int | None = None,
) -> Response:
    values: dict[str, Any] = {"name": ""} | form_values(PlanParams())  # today's first of next month
    if like is not None:  # start from an existing plan's settings
        plan = service.get_plan(session=session, plan_id=like)
        prm = plan.params
        values |= {k: prm[k] for k in values if k in prm and not isinstance(prm[k], list | dict)}
        values["force_in"] = " ".join(prm.get("force_in", []))
        values["force_out"] = " ".join(prm.get("force_out", []))
        values["weights"] = weights_text(prm.get("weights", {}))
        values["name"] = f"{plan.name} (what if)"
    return _form_page(request, user, session, settings, values)


def _web_errors(raw: dict[str, str]) -> dict[str, str]:
    """What the web refuses beyond the plan's own checks: no name, a long optimiser run."""
    errors: dict[str, str] = {}
    if not raw["name"].strip():
        errors["name"] = "give the plan a name"
    try:
        seconds = float(raw["time_limit"])
    except ValueError:
        return errors
    if not 0 < seconds <= WEB_TIME_LIMIT:
        errors["time_limit"] = (
            f"must be between 1 and {WEB_TIME_LIMIT} seconds on the web (use the CLI for more)"
        )
    return errors


@router.post("/new", include_in_schema=False)
def create_plan(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Planner,
    csrf: CsrfField,
    name: Annotated[str, Form(max_length=200)] = "",
    teams: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["teams"],
    officers: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["officers"],
    radius: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["radius"],
    ward_officers: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["ward_officers"],
    ward_min: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["ward_min"],
    min_team: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["min_team"],
    max_team: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["max_team"],
    force_in: Annotated[str, Form(max_length=2000)] = FORM_DEFAULTS["force_in"],
    force_out: Annotated[str, Form(max_length=2000)] = FORM_DEFAULTS["force_out"],
    weights: Annotated[str, Form(max_length=200)] = FORM_DEFAULTS["weights"],
    method: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["method"],
    apportionment: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["apportionment"],
    time_limit: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["time_limit"],
    phases: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["phases"],
    rollout_start: Annotated[str, Form(max_length=12)] = "",
    phase_weeks: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["phase_weeks"],
    max_visits_per_hotspot: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS[
        "max_visits_per_hotspot"
    ],
    visits_per_hour: Annotated[str, Form(max_length=12)] = FORM_DEFAULTS["visits_per_hour"],
) -> Response:
    check_csrf(request, csrf)
    raw = {
        "name": name,
        "teams": teams,
        "officers": officers,
        "radius": radius,
        "ward_officers": ward_officers,
        "ward_min": ward_min,
        "min_team": min_team,
        "max_team": max_team,
        "force_in": force_in,
        "force_out": force_out,
        "weights": weights,
        "method": method,
        "apportionment": apportionment,
        "time_limit": time_limit,
        "phases": phases,
        "rollout_start": rollout_start,
        "phase_weeks": phase_weeks,
        "max_visits_per_hotspot": max_visits_per_hotspot,
        "visits_per_hour": visits_per_hour,
    }
    if errors := form_problems(raw) | _web_errors(raw):
        return _form_page(request, user, session, settings, raw, errors, CHECK_MARKED, 422)
    try:
        params = read_form(raw)
        params.check()
    except PlanningError as exc:
        return _form_page(request, user, session, settings, raw, exc.field_errors, exc.message, 422)
    job = enqueue(
        session=session,
        kind=SOLVE,
        params={"name": name.strip(), "params": params.model_dump(mode="json")},
        user=user,
        title=f"Solving the plan “{name.strip()}”",
        settings=settings,
    )
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.get("/compare", include_in_schema=False)
def compare_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Planner,
    ids: Annotated[list[StoreId] | None, Query()] = None,
) -> Response:
    cmp = service.compare_plans(
        session=session, ids=list(dict.fromkeys(ids or [])), settings=settings
    )
    return templates.TemplateResponse(
        request,
        "staff/plans_compare.html",
        _ctx(request, user, cmp=cmp, long_date=service.long_date, status_text=service.STATUS_TEXT),
    )


@router.get("/compare.json", response_model=None)
def compare_json(
    session: SessionDep,
    settings: SettingsDep,
    user: Planner,
    ids: Annotated[list[StoreId] | None, Query()] = None,
) -> dict:
    """Plans side by side (``common_coverage``: each on one common demand measure)."""
    return service.compare_plans(
        session=session, ids=list(dict.fromkeys(ids or [])), settings=settings
    )


@router.get("/{plan_id:int}", include_in_schema=False)
def plan_page(request: Request, plan_id: int, session: SessionDep, user: Planner) -> Response:
    from saferstreets.publishing.charts import as_img, lines

    detail = service.plan_detail(session=session, plan_id=plan_id)
    rollout = detail["summary"].get("rollout", [])
    chart = ""
    if rollout:
        svg = lines(
            [f"Phase {p['phase']}\n{service.long_date(p['start'])}" for p in rollout],
            {"cumulative coverage (%)": [100 * p["cumulative_coverage"] for p in rollout]},
            title="Share of weighted demand covered as the teams start",
            ylabel="% of demand",
        )
        chart = as_img(
            svg,
            "Cumulative coverage by rollout phase: "
            + "; ".join(
                f"phase {p['phase']} from {service.long_date(p['start'])}: "
                f"{100 * p['cumulative_coverage']:.1f}%"
                for p in rollout
            ),
            "chart-img rollout-chart",
        )
    return templates.TemplateResponse(
        request,
        "staff/plans_detail.html",
        _ctx(
            request,
            user,
            plan=detail,
            chart=chart,
            weekdays=service.WEEKDAY_NAMES,
            hhmm=service.hhmm,
            long_date=service.long_date,
            status_text=service.STATUS_TEXT,
        ),
    )


@router.get("/{plan_id:int}.json", response_model=None)
def plan_json(plan_id: int, session: SessionDep, user: Planner) -> dict:
    """One plan: teams, ward allocations, patrol visits, solver stages."""
    return service.plan_detail(session=session, plan_id=plan_id)


@router.get("/{plan_id:int}.geojson", include_in_schema=False, response_model=None)
def plan_geojson(plan_id: int, session: SessionDep, user: Planner) -> dict:
    from saferstreets.areas.models import Area

    detail = service.plan_detail(session=session, plan_id=plan_id)
    officers = {w["code"]: w for w in detail["wards"]}
    top = max([w["officers"] for w in detail["wards"]] + [1])
    features = []
    for code, name, geom in session.execute(
        sa.select(Area.code, Area.name, Area.geometry).where(Area.kind == "ward")
    ):
        w = officers.get(code)
        n = w["officers"] if w else 0
        features.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "kind": "ward",
                    "name": name,
                    "officers": n,
                    "label": f"{n} ward officer{'s' if n != 1 else ''}",
                    "opacity": 0.08 + 0.6 * n / top,
                },
            }
        )
    for t in detail["teams"]:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [t["lon"], t["lat"]]},
                "properties": {
                    "kind": "base",
                    "name": t["name"],
                    "officers": t["officers"],
                    "radius": detail["params"]["radius"],
                    "label": f"{t['officers']} officers, phase {t['phase']}",
                },
            }
        )
        for h in t["hotspots"]:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [h["lon"], h["lat"]]},
                    "properties": {
                        "kind": "hotspot",
                        "name": h.get("name") or h["cell"],
                        "label": f"{h['visits']} visits a week",
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{plan_id:int}/patrols.csv", include_in_schema=False)
def patrols_csv(
    plan_id: int, session: SessionDep, user: Planner, team: int | None = None
) -> Response:
    _audit(session, user, "export", plan_id)
    return _csv(
        service.patrols_csv(session=session, plan_id=plan_id, team_id=team),
        f"plan-{plan_id}-patrols.csv",
    )


@router.get("/{plan_id:int}/teams.csv", include_in_schema=False)
def teams_csv(plan_id: int, session: SessionDep, user: Planner) -> Response:
    return _csv(service.teams_csv(session=session, plan_id=plan_id), f"plan-{plan_id}-teams.csv")


@router.get("/{plan_id:int}/teams/{team_id:int}/briefing", include_in_schema=False)
def briefing_page(
    request: Request, plan_id: int, team_id: int, session: SessionDep, user: Planner
) -> Response:
    from saferstreets.basemap.service import archive_path
    from saferstreets.planning.briefing import briefing_context

    basemap = archive_path(settings=request.app.state.settings)
    ctx = briefing_context(session=session, plan_id=plan_id, team_id=team_id, basemap=basemap)
    return templates.TemplateResponse(
        request, "staff/plans_briefing.html", _ctx(request, user, **ctx)
    )


@router.post("/{plan_id:int}/teams/{team_id:int}/briefing.pdf", include_in_schema=False)
def briefing_pdf(
    request: Request,
    plan_id: int,
    team_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: Planner,
    csrf: CsrfField,
) -> Response:
    """Queue the team's one-page PDF; its job's page offers the download when it is made."""
    from saferstreets.planning.briefing import plan_teams
    from saferstreets.planning.jobs import BRIEFING_PDF

    check_csrf(request, csrf)
    plan = service.get_plan(session=session, plan_id=plan_id)
    if team_id not in plan_teams(session=session, plan_id=plan_id):
        raise NotFound(f"Plan {plan_id} has no team {team_id}")
    job = enqueue(
        session=session,
        kind=BRIEFING_PDF,
        params={"plan_id": plan_id, "team_id": team_id},
        user=user,
        title=f"Briefing PDF of team {team_id} in “{plan.name}”",
        settings=settings,
    )
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.post("/{plan_id:int}/delete", include_in_schema=False)
def delete_plan(
    request: Request, plan_id: int, session: SessionDep, user: Planner, csrf: CsrfField
) -> Response:
    check_csrf(request, csrf)
    service.delete_plan(session=session, plan_id=plan_id)
    _audit(session, user, "delete", plan_id)
    return RedirectResponse("/staff/plans", status_code=303)
