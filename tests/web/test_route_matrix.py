"""Every route of the app, as every role and as anonymous, with ids of the user's own records, of
other wards' and partners' records, of records that do not exist and absurd ones: nothing leaks.

The routes come from ``app.routes``, so a route added later is walked too; the test fails if a
route has no entry in :data:`ROUTES` telling it how to fill the route's path ids. For each
(route, identity, kind of id) one request is made and checked:

- nothing that identity may not read appears in the response (each record's words carry a
  distinctive marker: see ``matrix_world.py``);
- a role without access gets 403 (or 404), anonymous is sent to sign in (401 for JSON);
- an id she may not see gets exactly the answer (status and body) of an id that does not exist;
- an absurd id (``99999999999999999999999``) is a 404, never a 500; no response is a 5xx, and
  every response carries the security headers;
- a refused POST wrote nothing (every watched table is the same before and after).

One store per store type for the whole module (SQLite, PostgreSQL), seeded once; GETs run before
POSTs, so that what an allowed POST changes cannot hide a leak on a page.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from tests.web.matrix_world import (
    ABSURD_ID,
    IDENTITIES,
    MISSING_ID,
    OFFICER_WARDS,
    OTHER_PARTNER,
    PARTNER,
    PASSWORD,
    World,
    build_world,
    fingerprint,
    new_plan,
    new_reset,
)

from saferstreets.config import Settings
from saferstreets.db import dispose_engines, make_engine
from saferstreets.web.app import create_app

ALL_WARDS = ("admin", "analyst", "supervisor")
HOME = {
    "admin": "/staff/users",
    "analyst": "/staff/assessment",
    "supervisor": "/staff/safeguarding",
    "ward_officer": "/staff/issues",
    "partner": "/staff/referrals",
}


@dataclass(frozen=True)
class Call:
    path: str
    data: dict[str, Any] | None = None  # a form body (POST); None for GET
    params: dict[str, Any] | None = None
    id_in: str = "path"  # where the kind's id goes: path, query or form


@dataclass(frozen=True)
class Target:
    """Whose record a kind of id names: allowed to an identity by its ward or its partner."""

    ward: str | None = None
    partner: str | None = None
    nobody: bool = False  # a record nobody may use here (another ward's reports on an issue)
    owner: str | None = None  # who asked for it (a job): only she and an admin may see it
    like: str = "missing"  # the kind of id whose answer a refusal must equal


Builder = Callable[[World], Call]


@dataclass(frozen=True)
class Case:
    access: str | tuple[str, ...]  # "public", "signed_in" or the roles let in (admin always)
    kinds: dict[str, tuple[Builder, Target | None]] = field(default_factory=dict)
    scope: str | None = None  # "ward" or "referral": records a role sees only some of
    expect: tuple[int, ...] = ()  # the statuses when allowed, if not 200 (GET) / 200, 303, 422
    content: bool = True  # check the body for markers (not for a PDF's compressed streams)


def _review(public_id: str) -> dict[str, Any]:
    return {"report": public_id, "outcome": "control_room", "note": "Passed on"}


def _one(path: str, **kw: Any) -> dict[str, tuple[Builder, Target | None]]:
    return {"none": (lambda w: Call(path, **kw), None)}


def _named(template: str, name: str) -> dict[str, tuple[Builder, Target | None]]:
    """A workspace download by name (a table, layer or chart), and names it does not have."""
    return {
        "own": (lambda w: Call(template.format(name), params={"area": "WA1"}), None),
        "missing": (lambda w: Call(template.format("no_such_thing")), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID)), None),
    }


def _upload_kinds(
    template: str, data: dict[str, Any] | None = None
) -> dict[str, tuple[Builder, Target | None]]:
    """An upload by its token: none exists in the world, so every token is a missing one."""
    return {
        "missing": (lambda w: Call(template.format("0" * 32), data), None),
        "absurd": (lambda w: Call(template.format("../../etc/passwd"), data), None),
    }


def _area_kinds(template: str) -> dict[str, tuple[Builder, Target | None]]:
    return {
        "own": (lambda w: Call(template.format("WA1")), None),
        "other_district": (lambda w: Call(template.format("WB1")), None),
        "missing": (lambda w: Call(template.format("E05999999")), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID)), None),
    }


def _issue_kinds(
    template: str, data: dict[str, Any] | None = None
) -> dict[str, tuple[Builder, Target | None]]:
    def at(ward: str) -> Builder:
        return lambda w: Call(template.format(w.issues[ward]), data)

    return {
        "own": (at("WA1"), Target(ward="WA1")),
        "other_ward": (at("WA2"), Target(ward="WA2")),
        "other_district": (at("WB1"), Target(ward="WB1")),
        "missing": (lambda w: Call(template.format(MISSING_ID), data), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID), data), None),
    }


def _referral_kinds(
    template: str, data: dict[str, Any] | None = None
) -> dict[str, tuple[Builder, Target | None]]:
    def of(key: str) -> Builder:
        return lambda w: Call(template.format(w.referrals[key]), data)

    return {
        "own": (of(f"{PARTNER}@WA1"), Target(ward="WA1", partner=PARTNER)),
        "other_partner": (of(f"{OTHER_PARTNER}@WA1"), Target(ward="WA1", partner=OTHER_PARTNER)),
        "other_ward": (of(f"{OTHER_PARTNER}@WB1"), Target(ward="WB1", partner=OTHER_PARTNER)),
        "missing": (lambda w: Call(template.format(MISSING_ID), data), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID), data), None),
    }


def _update_kinds(template: str, data: dict[str, Any]) -> dict[str, tuple[Builder, Target | None]]:
    def at(ward: str) -> Builder:
        return lambda w: Call(template.format(w.updates[ward]), data)

    return {
        "own": (at("WA1"), Target(ward="WA1")),
        "other_ward": (at("WA2"), Target(ward="WA2")),
        "other_district": (at("WB1"), Target(ward="WB1")),
        "missing": (lambda w: Call(template.format(MISSING_ID), data), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID), data), None),
    }


def _plan_kinds(template: str, team: bool = False) -> dict[str, tuple[Builder, Target | None]]:
    def fill(plan: Any, team_id: Any) -> str:
        return template.format(plan=plan, team=team_id)

    kinds: dict[str, tuple[Builder, Target | None]] = {
        "own": (lambda w: Call(fill(w.plans[0], w.teams[0])), None),
        "missing": (lambda w: Call(fill(MISSING_ID, w.teams[0])), None),
        "absurd": (lambda w: Call(fill(ABSURD_ID, w.teams[0])), None),
    }
    if team:
        kinds["other_plan"] = (
            lambda w: Call(fill(w.plans[0], w.teams[1])),
            Target(nobody=True, like="missing_team"),
        )
        kinds["missing_team"] = (lambda w: Call(fill(w.plans[0], MISSING_ID)), None)
        kinds["absurd_team"] = (lambda w: Call(fill(w.plans[0], ABSURD_ID)), None)
    return kinds


def _job_kinds(
    template: str, data: dict[str, Any] | None = None, filed: bool = False
) -> dict[str, tuple[Builder, Target | None]]:
    def of(owner: str) -> Builder:
        return lambda w: Call(template.format((w.filed if filed else w.jobs)[owner]), data)

    return {
        "analyst_job": (of("analyst"), Target(owner="analyst")),
        "supervisor_job": (of("supervisor"), Target(owner="supervisor")),
        "officer_job": (of("ward_officer"), Target(owner="ward_officer")),
        "scheduled_job": (of("scheduled"), Target(owner="nobody")),
        "missing": (lambda w: Call(template.format(MISSING_ID), data), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID), data), None),
    }


JOB_ROLES = ("analyst", "supervisor", "ward_officer")


def _compare(suffix: str) -> dict[str, tuple[Builder, Target | None]]:
    path = f"/staff/plans/compare{suffix}"
    return {
        "own": (lambda w: Call(path, params={"ids": w.plans}), None),
        "missing": (
            lambda w: Call(path, params={"ids": [w.plans[0], MISSING_ID]}, id_in="query"),
            None,
        ),
        "absurd": (
            lambda w: Call(path, params={"ids": [w.plans[0], ABSURD_ID]}, id_in="query"),
            None,
        ),
    }


def _create_issue_kinds() -> dict[str, tuple[Builder, Target | None]]:
    def form(ward: str, reports_of: str) -> Builder:
        return lambda w: Call(
            "/staff/issues",
            {
                "ward_code": ward,
                "title": "Gathered from the matrix",
                "report_ids": ",".join(str(i) for i in w.reports[reports_of]),
            },
        )

    return {
        "own": (form("WA1", "WA1"), Target(ward="WA1")),
        "other_ward": (form("WB1", "WB1"), Target(ward="WB1")),
        # Another ward's reports on an issue in her own ward: nobody may link them (issue 11).
        "other_reports": (form("WA1", "WB1"), Target(ward="WA1", nobody=True)),
        # A report id wider than the id column: refused (404 or 422), not a 500.
        "absurd_reports": (
            lambda w: Call(
                "/staff/issues",
                {"ward_code": "WA1", "title": "Absurd", "report_ids": ABSURD_ID},
                id_in="form",
            ),
            None,
        ),
    }


def _user_kinds(
    template: str, data: dict[str, Any] | None = None, spare: str = "spare_officer"
) -> dict[str, tuple[Builder, Target | None]]:
    """An account's id: a spare account's (POSTs change only those), and for GETs the ids of
    the signed-in ward officer and partner too (admins only: every other role gets 403)."""

    def of(name: str) -> Builder:
        return lambda w: Call(template.format(w.users[name]), data)

    kinds: dict[str, tuple[Builder, Target | None]] = {
        "own": (of(spare), None),
        "missing": (lambda w: Call(template.format(MISSING_ID), data), None),
        "absurd": (lambda w: Call(template.format(ABSURD_ID), data), None),
    }
    if data is None:
        kinds["other_ward"] = (of("ward_officer"), None)
        kinds["other_partner"] = (of("partner"), None)
    return kinds


def _reset_kinds(data: dict[str, Any] | None = None) -> dict[str, tuple[Builder, Target | None]]:
    """A live one-time link (made fresh for each call), one that never existed, an absurd one."""
    return {
        "own": (lambda w: Call(f"/password-reset/{new_reset(w)}", data), None),
        "missing": (lambda w: Call("/password-reset/" + "A" * 43, data), None),
        "absurd": (lambda w: Call("/password-reset/" + "x" * 300, data), None),
    }


REPORT_FORM = {
    "latitude": "51.805",
    "longitude": "-0.295",
    "occurred_on": "2026-10-08",
    "time_band": "evening",
    "reasons": "poor_lighting",
    "free_text": "The underpass lights are out again",
}
PLAN_FORM = {"name": "matrix plan", "teams": "1", "officers": "8", "method": "mclp"}
ROUTES: dict[str, Case] = {
    # --- public ------------------------------------------------------------------------------
    "GET /api/openapi.json": Case("public", _one("/api/openapi.json")),
    "GET /api/docs": Case("public", _one("/api/docs")),
    "GET /docs/oauth2-redirect": Case("public", _one("/docs/oauth2-redirect")),
    "GET /healthz": Case("public", _one("/healthz")),
    "GET /": Case("public", _one("/")),
    "GET /login": Case("public", _one("/login")),
    "GET /report": Case("public", _one("/report")),
    "GET /report/thanks": Case("public", _one("/report/thanks")),
    "GET /report/status": Case("public", _one("/report/status")),
    "GET /report/deleted": Case("public", _one("/report/deleted")),
    "GET /areas": Case("public", _one("/areas")),
    "GET /areas/{code}": Case("public", _area_kinds("/areas/{}")),
    "GET /areas/{code}.json": Case("public", _area_kinds("/areas/{}.json")),
    "GET /areas/{code}.csv": Case("public", _area_kinds("/areas/{}.csv")),
    "GET /areas/{code}/feed.atom": Case("public", _area_kinds("/areas/{}/feed.atom")),
    "GET /api/public/areas/{code}/cells.geojson": Case(
        "public", _area_kinds("/api/public/areas/{}/cells.geojson")
    ),
    "GET /open-data/you-said-we-did.csv": Case("public", _one("/open-data/you-said-we-did.csv")),
    "GET /api/areas/search.json": Case(
        "public", _one("/api/areas/search.json", params={"q": "Ward"})
    ),
    "GET /api/areas/{kind}.geojson": Case(
        "public",
        {
            "own": (lambda w: Call("/api/areas/ward.geojson"), None),
            "missing": (lambda w: Call("/api/areas/planet.geojson"), None),
        },
    ),
    "GET /api/areas.json": Case("public", _one("/api/areas.json")),
    # The street map's archive (public data, bytes): 404 where none is installed, as here.
    "GET /tiles/basemap.pmtiles": Case(
        "public", _one("/tiles/basemap.pmtiles"), expect=(200, 206, 404), content=False
    ),
    "GET /api/places/search.json": Case(
        "public", _one("/api/places/search.json", params={"q": "Ward", "lat": 51.8, "lon": -0.3})
    ),
    "GET /api/places/describe.json": Case(
        "public", _one("/api/places/describe.json", params={"lat": 51.805, "lon": -0.295})
    ),
    # --- every signed-in role: where her work is ----------------------------------------------
    "GET /staff": Case("signed_in", _one("/staff"), expect=(303,)),
    "GET /staff/overview": Case(("analyst", "supervisor", "ward_officer"), _one("/staff/overview")),
    "GET /staff/status.json": Case(
        ("analyst", "supervisor", "ward_officer"), _one("/staff/status.json")
    ),
    # --- safeguarding, assessment, reports ----------------------------------------------------
    "GET /staff/safeguarding": Case(("analyst", "supervisor"), _one("/staff/safeguarding")),
    "GET /staff/assessment": Case(("analyst", "supervisor"), _one("/staff/assessment")),
    "GET /staff/assessment.json": Case(("analyst", "supervisor"), _one("/staff/assessment.json")),
    "GET /staff/assessment/tables/{name}.csv": Case(
        ("analyst", "supervisor"), _named("/staff/assessment/tables/{}.csv", "wards")
    ),
    "GET /staff/assessment/tables/{name}.xlsx": Case(
        ("analyst", "supervisor"),
        _named("/staff/assessment/tables/{}.xlsx", "wards"),
        content=False,
    ),
    # the matrix world has no assessment run: no stored finding has a table
    "GET /staff/assessment/findings/{key}/{number}.csv": Case(
        ("analyst", "supervisor"),
        _named("/staff/assessment/findings/{}/1.csv", "concerns"),
        expect=(404,),
    ),
    "GET /staff/assessment/findings/{key}/{number}.xlsx": Case(
        ("analyst", "supervisor"),
        _named("/staff/assessment/findings/{}/1.xlsx", "concerns"),
        expect=(404,),
    ),
    "GET /staff/assessment/layers/{name}.geojson": Case(
        ("analyst", "supervisor"), _named("/staff/assessment/layers/{}.geojson", "issues")
    ),
    "GET /staff/assessment/charts/{name}.svg": Case(
        ("analyst", "supervisor"), _named("/staff/assessment/charts/{}.svg", "months")
    ),
    "GET /staff/themes": Case(("analyst", "supervisor"), _one("/staff/themes")),
    # Imports from the browser: no upload exists in the world, so an allowed role gets a 404.
    "GET /staff/imports": Case(("analyst", "supervisor"), _one("/staff/imports")),
    "GET /staff/imports/survey/{token}/mapping": Case(
        ("analyst", "supervisor"), _upload_kinds("/staff/imports/survey/{}/mapping"), expect=(404,)
    ),
    "GET /staff/imports/{kind}/{token}": Case(
        ("analyst", "supervisor"), _upload_kinds("/staff/imports/crime/{}"), expect=(404,)
    ),
    "GET /staff/report.html": Case(("analyst", "supervisor"), _one("/staff/report.html")),
    # --- plans --------------------------------------------------------------------------------
    "GET /staff/plans": Case(("analyst", "supervisor"), _one("/staff/plans")),
    "GET /staff/plans.json": Case(("analyst", "supervisor"), _one("/staff/plans.json")),
    "GET /staff/plans/new": Case(("analyst", "supervisor"), _one("/staff/plans/new")),
    "GET /staff/plans/compare": Case(("analyst", "supervisor"), _compare("")),
    "GET /staff/plans/compare.json": Case(("analyst", "supervisor"), _compare(".json")),
    "GET /staff/plans/{plan_id:int}": Case(
        ("analyst", "supervisor"), _plan_kinds("/staff/plans/{plan}")
    ),
    "GET /staff/plans/{plan_id:int}.json": Case(
        ("analyst", "supervisor"), _plan_kinds("/staff/plans/{plan}.json")
    ),
    "GET /staff/plans/{plan_id:int}.geojson": Case(
        ("analyst", "supervisor"), _plan_kinds("/staff/plans/{plan}.geojson")
    ),
    "GET /staff/plans/{plan_id:int}/patrols.csv": Case(
        ("analyst", "supervisor"), _plan_kinds("/staff/plans/{plan}/patrols.csv")
    ),
    "GET /staff/plans/{plan_id:int}/teams.csv": Case(
        ("analyst", "supervisor"), _plan_kinds("/staff/plans/{plan}/teams.csv")
    ),
    "GET /staff/plans/{plan_id:int}/teams/{team_id:int}/briefing": Case(
        ("analyst", "supervisor"),
        _plan_kinds("/staff/plans/{plan}/teams/{team}/briefing", team=True),
    ),
    # --- local issues and referrals -----------------------------------------------------------
    "GET /staff/issues": Case(
        ("analyst", "supervisor", "ward_officer"),
        {
            "none": (lambda w: Call("/staff/issues"), None),
            "own": (
                lambda w: Call("/staff/issues", params={"ward": "WA1", "closed": "true"}),
                None,
            ),
            "other_district": (
                lambda w: Call("/staff/issues", params={"ward": "WB1", "closed": "true"}),
                None,
            ),
        },
    ),
    "GET /staff/issues.json": Case(
        ("analyst", "supervisor", "ward_officer"),
        {
            "none": (lambda w: Call("/staff/issues.json"), None),
            "other_district": (lambda w: Call("/staff/issues.json", params={"ward": "WB1"}), None),
        },
    ),
    "GET /staff/issues/{issue_id:int}": Case(
        ("analyst", "supervisor", "ward_officer"), _issue_kinds("/staff/issues/{}"), scope="ward"
    ),
    "GET /staff/issues/{issue_id:int}.json": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}.json"),
        scope="ward",
    ),
    "GET /staff/issues/{issue_id:int}/place.geojson": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}/place.geojson"),
        scope="ward",
    ),
    "GET /staff/referrals": Case(
        ("analyst", "supervisor", "ward_officer", "partner"), _one("/staff/referrals")
    ),
    "GET /staff/referrals/{referral_id:int}/place.geojson": Case(
        ("analyst", "supervisor", "ward_officer", "partner"),
        _referral_kinds("/staff/referrals/{}/place.geojson"),
        scope="referral",
    ),
    # --- jobs: each sees her own, an admin every one, a partner none --------------------------
    "GET /staff/jobs": Case(JOB_ROLES, _one("/staff/jobs")),
    "GET /staff/jobs.json": Case(JOB_ROLES, _one("/staff/jobs.json")),
    "GET /staff/jobs/{job_id:int}": Case(JOB_ROLES, _job_kinds("/staff/jobs/{}"), scope="owner"),
    "GET /staff/jobs/{job_id:int}.json": Case(
        JOB_ROLES, _job_kinds("/staff/jobs/{}.json"), scope="owner"
    ),
    "GET /staff/jobs/{job_id:int}/download": Case(
        JOB_ROLES, _job_kinds("/staff/jobs/{}/download", filed=True), scope="owner"
    ),
    "GET /staff/jobs/{job_id:int}/status": Case(
        JOB_ROLES, _job_kinds("/staff/jobs/{}/status"), scope="owner"
    ),
    # --- quarantine ---------------------------------------------------------------------------
    "GET /staff/quarantine": Case(("analyst",), _one("/staff/quarantine")),
    "GET /staff/quarantine.csv": Case(("analyst",), _one("/staff/quarantine.csv")),
    "GET /staff/quarantine.json": Case(("analyst",), _one("/staff/quarantine.json")),
    # --- accounts and the audit trail (admins only) --------------------------------------------
    "GET /staff/users": Case((), _one("/staff/users")),
    "GET /staff/users/{user_id:int}": Case((), _user_kinds("/staff/users/{}")),
    "GET /staff/audit": Case(
        (),
        {
            "none": (lambda w: Call("/staff/audit"), None),
            "own": (lambda w: Call("/staff/audit", params={"kind": "user", "record": "1"}), None),
            "bad_date": (lambda w: Call("/staff/audit", params={"since": "never"}), None),
        },
        expect=(200, 422),
    ),
    "GET /staff/audit.csv": Case((), _one("/staff/audit.csv", params={"action": "login"})),
    "GET /password-reset/{token}": Case("public", _reset_kinds()),
    # --- POSTs (after every GET) --------------------------------------------------------------
    "POST /report": Case("public", _one("/report", data=REPORT_FORM)),
    "POST /report/status": Case(
        "public", _one("/report/status", data={"code": "NOPE-NOPE"}), expect=(404,)
    ),
    "POST /report/delete": Case(
        "public",
        _one("/report/delete", data={"code": "NOPE-NOPE", "confirm": "yes"}),
        expect=(404,),
    ),
    "POST /staff/safeguarding/review": Case(
        ("supervisor",),
        {
            "own": (lambda w: Call("/staff/safeguarding/review", _review(w.urgent["WA1"])), None),
            "missing": (
                lambda w: Call(
                    "/staff/safeguarding/review", _review("00000000-0000-4000-8000-000000000000")
                ),
                None,
            ),
            "absurd": (lambda w: Call("/staff/safeguarding/review", _review(ABSURD_ID)), None),
        },
    ),
    # Theme corrections: quotes are people's words, so analysts and supervisors only.
    "POST /staff/themes/{kind}/{owner_id:int}": Case(
        ("analyst", "supervisor"),
        {
            "own": (
                lambda w: Call(
                    f"/staff/themes/report/{w.reports['WA1'][0]}", {"themes": ["poor_lighting"]}
                ),
                None,
            ),
            "missing": (lambda w: Call(f"/staff/themes/report/{MISSING_ID}", {}), None),
            "absurd": (lambda w: Call(f"/staff/themes/report/{ABSURD_ID}", {}), None),
        },
        expect=(303,),
    ),
    "POST /staff/imports": Case(
        ("analyst", "supervisor"), _one("/staff/imports", data={"kind": "crime"}), expect=(422,)
    ),
    "POST /staff/imports/survey/{token}/mapping": Case(
        ("analyst", "supervisor"),
        _upload_kinds("/staff/imports/survey/{}/mapping", {"mapping": "[wave]"}),
        expect=(404,),
    ),
    "POST /staff/plans/new": Case(
        ("analyst", "supervisor"), _one("/staff/plans/new", data=PLAN_FORM)
    ),
    "POST /staff/plans/{plan_id:int}/teams/{team_id:int}/briefing.pdf": Case(
        ("analyst", "supervisor"),
        {
            kind: (lambda w, b=builder: Call(b(w).path, {}), target)
            for kind, (builder, target) in _plan_kinds(
                "/staff/plans/{plan}/teams/{team}/briefing.pdf", team=True
            ).items()
        },
    ),
    "POST /staff/report.pdf": Case(("analyst", "supervisor"), _one("/staff/report.pdf", data={})),
    "POST /staff/assessment/run": Case(
        ("analyst", "supervisor"), _one("/staff/assessment/run", data={})
    ),
    "POST /staff/plans/{plan_id:int}/delete": Case(
        ("analyst", "supervisor"),
        {
            "own": (lambda w: Call(f"/staff/plans/{new_plan(w)}/delete", {}), None),
            "missing": (lambda w: Call(f"/staff/plans/{MISSING_ID}/delete", {}), None),
            "absurd": (lambda w: Call(f"/staff/plans/{ABSURD_ID}/delete", {}), None),
        },
    ),
    "POST /staff/jobs/{job_id:int}/retry": Case(
        JOB_ROLES, _job_kinds("/staff/jobs/{}/retry", {}), scope="owner", expect=(303, 409)
    ),
    "POST /staff/issues": Case(
        ("analyst", "supervisor", "ward_officer"),
        _create_issue_kinds(),
        scope="ward",
    ),
    "POST /staff/issues/{issue_id:int}/stage": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}/stage", {"stage": "assessment", "notes": "Lamps mended"}),
        scope="ward",
    ),
    "POST /staff/issues/{issue_id:int}/actions": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}/actions", {"description": "Walked it", "kind": "patrol"}),
        scope="ward",
    ),
    "POST /staff/issues/{issue_id:int}/referrals": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}/referrals", {"partner": "parks", "request": "Cut back"}),
        scope="ward",
    ),
    "POST /staff/issues/{issue_id:int}/place": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}/place", {"source": "reports"}),
        scope="ward",
    ),
    "POST /staff/issues/{issue_id:int}/updates": Case(
        ("analyst", "supervisor", "ward_officer"),
        _issue_kinds("/staff/issues/{}/updates", {"title": "Lamps", "body": "Mended."}),
        scope="ward",
    ),
    # A supervisor or an admin approves and corrects; withdrawing is theirs too, or the author's
    # (the world's drafts have no author, so no other role may).
    "POST /staff/updates/{update_id:int}/approve": Case(
        ("supervisor",), _update_kinds("/staff/updates/{}/approve", {}), scope="ward"
    ),
    "POST /staff/updates/{update_id:int}/correct": Case(
        ("supervisor",),
        _update_kinds("/staff/updates/{}/correct", {"title": "Lamps", "body": "Mended again."}),
        scope="ward",
    ),
    "POST /staff/updates/{update_id:int}/withdraw": Case(
        ("supervisor",),
        _update_kinds("/staff/updates/{}/withdraw", {"reason": "Out of date"}),
        scope="ward",
    ),
    "POST /staff/referrals/{referral_id:int}": Case(
        ("analyst", "supervisor", "partner"),
        _referral_kinds("/staff/referrals/{}", {"status": "accepted", "response": "On it"}),
        scope="referral",
    ),
    "POST /staff/quarantine": Case(
        ("analyst",),
        {
            "own": (
                lambda w: Call("/staff/quarantine", {"id": w.quarantine_row, "status": "fixed"}),
                None,
            ),
            "missing": (
                lambda w: Call(
                    "/staff/quarantine", {"id": MISSING_ID, "status": "fixed"}, id_in="form"
                ),
                None,
            ),
            "absurd": (
                lambda w: Call(
                    "/staff/quarantine", {"id": ABSURD_ID, "status": "fixed"}, id_in="form"
                ),
                None,
            ),
        },
    ),
    "POST /staff/users": Case(
        (),
        _one(
            "/staff/users",
            data={
                "username": "matrix_new",
                "role": "partner",
                "partner": OTHER_PARTNER,
                "display_name": "New",
            },
        ),
    ),
    "POST /staff/users/{user_id:int}": Case(
        (),
        _user_kinds(
            "/staff/users/{}",
            {"display_name": "Spare", "role": "ward_officer", "wards": "WB1"},
            spare="spare_officer",
        ),
    ),
    "POST /staff/users/{user_id:int}/active": Case(
        (), _user_kinds("/staff/users/{}/active", {"active": "no"}, spare="spare_partner")
    ),
    "POST /staff/users/{user_id:int}/password-link": Case(
        (), _user_kinds("/staff/users/{}/password-link", {}, spare="spare_officer")
    ),
    "POST /staff/users/{user_id:int}/sign-out": Case(
        (), _user_kinds("/staff/users/{}/sign-out", {}, spare="spare_officer")
    ),
    "POST /password-reset/{token}": Case(
        "public",
        _reset_kinds({"password": "a matrix password", "confirm": "a matrix password"}),
        expect=(303,),
    ),
    # A fresh client signs in and out (the matrix's clients stay signed in).
    "POST /logout": Case("public", _one("/logout", data={}), expect=(303,)),
    "POST /login": Case(
        "public",
        _one("/login", data={"username": "nobody", "password": "not the password"}),
        expect=(401, 429),
    ),
}


# --- the app and its clients, once per store type ----------------------------------------------


@dataclass
class Matrix:
    world: World
    app: Any
    clients: dict[str, TestClient]
    tokens: dict[str, str]
    missing: dict[tuple[str, str], Any] = field(default_factory=dict)  # (route, who) -> response


def _token(client: TestClient) -> str:
    page = client.get("/report")
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def sign_in(client: TestClient, username: str) -> None:
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, (username, response.status_code)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    from tests.conftest import _truncate_all

    import saferstreets.all_models  # noqa: F401 - every table in Base.metadata

    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    if request.param == "sqlite":
        path = tmp / "store.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_pg_database")
        _truncate_all(url)
    engine = make_engine(url)
    world = build_world(engine)
    settings = Settings(
        env="test",
        database_url=url,
        data_dir=Path(tmp) / "data",
        secret_key="test-secret-key-not-for-production",
        report_rate_limit=100_000,
        lookup_rate_limit=100_000,
    )
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "postgres":
            # Every route runs with one pooled connection: a route that held one and waited for
            # a second (a batch service, a session of its own) would wedge a worker under load
            # (docs/architecture.md); here it waits out the pool and answers 5xx, and fails.
            dispose_engines()  # no engine made earlier with the full pool
            patch.setattr("saferstreets.db.POOL_SIZE", 1)
            patch.setattr("saferstreets.db.POOL_TIMEOUT_S", 3)
        app = create_app(settings)
    if request.param == "postgres":
        assert app.state.engine.pool.size() == 1
    clients: dict[str, TestClient] = {}
    try:
        for who in IDENTITIES:
            client = TestClient(app, raise_server_exceptions=False).__enter__()
            clients[who] = client
            if who != "anonymous":
                sign_in(client, who)
        yield Matrix(world, app, clients, {who: _token(c) for who, c in clients.items()})
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)
        engine.dispose()
        dispose_engines()


# --- the cases --------------------------------------------------------------------------------


def _route_keys(app: Any) -> list[str]:
    keys = []
    for route in iter_route_contexts(app.routes):
        for method in sorted((route.methods or set()) - {"HEAD"}):
            keys.append(f"{method} {route.path}")
    return keys


def _ordered_cases() -> list[Any]:
    params = []
    ordered = sorted(ROUTES.items(), key=lambda kv: kv[0].startswith("POST"))
    for key, case in ordered:
        for who in IDENTITIES:
            for kind in case.kinds:
                params.append(pytest.param(key, who, kind, id=f"{key}|{who}|{kind}"))
    return params


def test_every_route_has_a_matrix_entry(tmp_path: Path) -> None:
    """A route added later fails here until the matrix knows how to fill its ids."""
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path}/x.db", secret_key="k" * 40)
    keys = _route_keys(create_app(settings, check_store=False))
    missing = [k for k in keys if k not in ROUTES]
    stale = [k for k in ROUTES if k not in keys]
    assert not missing, f"routes with no entry in the matrix: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def _is_staff(key: str) -> bool:
    return " /staff" in key


def _wants_json(path: str) -> bool:
    return path.endswith((".json", ".geojson")) or path.startswith("/api/")


def _role_ok(case: Case, who: str) -> bool:
    if case.access == "public":
        return True
    if who == "anonymous":
        return False
    return case.access == "signed_in" or who == "admin" or who in case.access


def _object_ok(case: Case, who: str, target: Target | None) -> bool:
    if target is None:
        return True
    if target.nobody:
        return False
    if case.scope == "owner":
        return who == "admin" or who == target.owner
    if who in ALL_WARDS or case.scope is None:
        return True
    mine_by_ward = who == "ward_officer" and target.ward in OFFICER_WARDS
    if case.scope == "referral":
        return mine_by_ward or (who == "partner" and target.partner == PARTNER)
    return mine_by_ward


def _send(matrix: Matrix, who: str, call: Call, client: TestClient | None = None) -> Any:
    client = client or matrix.clients[who]
    if call.data is None:
        return client.get(call.path, params=call.params, follow_redirects=False)
    data = {**call.data, "csrf_token": matrix.tokens[who]}
    return client.post(call.path, data=data, params=call.params, follow_redirects=False)


def _normalised(response: Any, *ids: Any) -> str:
    text = response.text
    for value in ids:
        text = re.sub(rf"\b{value}\b", "<id>", text)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text)


def _id_of(call: Call) -> str:
    return re.sub(r"\D+", " ", call.path).split()[-1] if re.search(r"\d", call.path) else ""


def test_markers_do_reach_those_allowed(matrix: Matrix) -> None:
    """The leak check could pass by showing nobody anything: the markers do appear for a role
    allowed them, on the pages that show them."""
    world = matrix.world
    on_issue = ("report", "issue", "notes", "action")

    def shown(who: str, path: str, wanted: Callable[[Any], bool]) -> None:
        text = matrix.clients[who].get(path).text
        expected = [m.text for m in world.markers if wanted(m)]
        assert expected and all(word in text for word in expected), (who, path)

    shown("ward_officer", f"/staff/issues/{world.issues['WA1']}",
          lambda m: m.ward == "WA1" and m.kind in on_issue)  # fmt: skip
    shown("analyst", f"/staff/issues/{world.issues['WB1']}",
          lambda m: m.ward == "WB1" and m.kind in on_issue)  # fmt: skip
    shown("partner", "/staff/referrals", lambda m: m.kind == "referral" and m.partner == PARTNER)
    shown("supervisor", "/staff/safeguarding", lambda m: m.kind == "urgent")


@pytest.mark.parametrize(("key", "who", "kind"), _ordered_cases())
def test_route_matrix(matrix: Matrix, key: str, who: str, kind: str) -> None:
    case = ROUTES[key]
    builder, target = case.kinds[kind]
    call = builder(matrix.world)
    is_post = call.data is not None
    client = None
    if key == "POST /logout":  # a fresh client: the matrix's clients stay signed in
        client = TestClient(matrix.app, raise_server_exceptions=False)
        if who != "anonymous":
            sign_in(client, who)
        matrix.tokens[f"{who}:fresh"] = _token(client)
    before = fingerprint(matrix.world.engine) if is_post else None
    if client is not None:
        data = {"csrf_token": matrix.tokens[f"{who}:fresh"]}
        response = client.post(call.path, data=data, follow_redirects=False)
    else:
        response = _send(matrix, who, call)
    status = response.status_code
    where = f"{key} as {who} ({kind}: {call.path}) answered {status}"

    # No server error, and the security headers on every answer.
    assert status < 500, where
    assert "default-src 'self'" in response.headers.get("content-security-policy", ""), where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    # Nothing this identity may not read.
    if case.content:
        leaked = [m.text for m in matrix.world.forbidden_markers(who) if m.text in response.text]
        assert not leaked, f"{where}: leaked {leaked}"

    allowed = _role_ok(case, who) and _object_ok(case, who, target)
    if kind.startswith("absurd") and call.id_in == "path" and status == 404:
        pass  # an id no store can hold matches no route: 404 for everyone, before any sign-in
    elif who == "anonymous" and not _role_ok(case, who):
        if status == 303:
            assert response.headers["location"].startswith("/login"), where
        else:
            assert status == 401, where
    elif not _role_ok(case, who):
        assert status in (403, 404), where
        if not kind.startswith(("missing", "absurd")):
            _same_as_missing(matrix, key, who, call, response, target)
    elif kind.startswith(("missing", "absurd")):
        assert status in ((404,) if call.id_in == "path" else (404, 422)), where
    elif not allowed:
        assert status in (403, 404, 422), where
        _same_as_missing(matrix, key, who, call, response, target)
    elif case.expect:
        assert status in case.expect, where
        if key == "GET /staff":
            assert response.headers["location"] == HOME[who], where
    else:
        assert status in ((200, 303, 422) if is_post else (200,)), where

    if is_post and not allowed:
        assert fingerprint(matrix.world.engine) == before, f"{where}: the write took effect"


def _same_as_missing(
    matrix: Matrix, key: str, who: str, call: Call, response: Any, target: Target | None
) -> None:
    """A record she may not see gets the answer a record that does not exist gets."""
    case = ROUTES[key]
    like = target.like if target else "missing"
    if like not in case.kinds:
        return
    missing_call = case.kinds[like][0](matrix.world)
    if missing_call.id_in != "path" or missing_call.path == call.path:
        return
    missing = _send(matrix, who, missing_call)
    where = f"{key} as {who}: {call.path} answered {response.status_code}, " + (
        f"{missing_call.path} answered {missing.status_code}"
    )
    assert response.status_code == missing.status_code, where
    ids = (_id_of(call), MISSING_ID)
    assert _normalised(response, *ids) == _normalised(missing, *ids), where
