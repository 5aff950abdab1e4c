"""A small seeded world for the role × route matrix: two districts, three wards, reports with
distinctive words in each, local issues, referrals for two partners, public updates, plans, a
quarantined row, and one signed-in client per role.

Every piece of text a role may or may not see carries a *marker*: a made-up word that occurs
nowhere else, so that finding it in a response proves that the record itself leaked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from tests.factories import add_area, add_report

from saferstreets.accounts.service import create_user
from saferstreets.actions import service as actions
from saferstreets.actions import stages, updates
from saferstreets.db import Base, session_scope

PASSWORD = "correct horse battery staple"
IDENTITIES = ("anonymous", "admin", "analyst", "supervisor", "ward_officer", "partner")
OFFICER_WARDS = ("WA1",)
PARTNER = "council_lighting"
OTHER_PARTNER = "council_cctv"
WARDS = {"WA1": ("DA", -0.30), "WA2": ("DA", -0.28), "WB1": ("DB", -0.20)}
MISSING_ID = 999_999
ABSURD_ID = "99999999999999999999999"
# Tables whose rows change when nothing was written on purpose (the audit trail; the sign-in
# and session tables others keep): left out of "did a write take effect".
UNWATCHED = ("audit_event",)
UNWATCHED_PARTS = ("session", "attempt", "throttle", "sign_in", "login")


@dataclass(frozen=True)
class Marker:
    """A distinctive word in one record: who may see it follows from its ward and partner."""

    text: str
    kind: str  # report, urgent, issue, notes, action, referral
    ward: str
    partner: str | None = None


@dataclass
class World:
    engine: sa.Engine
    markers: list[Marker] = field(default_factory=list)
    issues: dict[str, int] = field(default_factory=dict)  # ward -> issue id
    reports: dict[str, list[int]] = field(default_factory=dict)  # ward -> non-urgent report ids
    urgent: dict[str, str] = field(default_factory=dict)  # ward -> urgent report public id
    referrals: dict[str, int] = field(default_factory=dict)  # "partner@ward" -> referral id
    updates: dict[str, int] = field(default_factory=dict)  # ward -> a draft public update's id
    plans: list[int] = field(default_factory=list)
    teams: list[int] = field(default_factory=list)
    quarantine_row: int = 0
    users: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)  # who asked ("scheduled": nobody) -> id

    def may_see(self, identity: str, marker: Marker) -> bool:
        """Whether ``identity`` is allowed to read the record ``marker`` sits in."""
        if identity in ("admin", "analyst", "supervisor"):
            return True
        if identity == "ward_officer":
            return marker.ward in OFFICER_WARDS
        if identity == "partner":
            if marker.kind == "referral":
                return marker.partner == PARTNER
            # A partner's referral card shows its issue's title and description.
            return marker.kind == "issue" and f"{PARTNER}@{marker.ward}" in self.referrals
        return False

    def forbidden_markers(self, identity: str) -> list[Marker]:
        return [m for m in self.markers if not self.may_see(identity, m)]


def _marker(world: World, kind: str, ward: str, partner: str | None = None) -> str:
    word = f"zq{kind}{ward.lower()}{partner or ''}mark".replace("_", "")
    world.markers.append(Marker(word, kind, ward, partner))
    return word


def build_world(engine: sa.Engine) -> World:
    """Seed the store and return what the matrix needs to know about it."""
    world = World(engine=engine)
    with session_scope(engine) as session:
        _areas(session)
        _reports(session, world)
        _issues(session, world)
        _plans(session, world)
        _quarantine(session, world)
        _users(session, world)
        _jobs(session, world)
    return world


def _areas(session: Session) -> None:
    add_area(session, "F1", "Testshire", "force", lon=-0.31, lat=51.79, size=0.2)
    add_area(session, "DA", "Ashdown", "district", "F1", lon=-0.30, size=0.04)
    add_area(session, "DB", "Brookvale", "district", "F1", lon=-0.20, size=0.04)
    for code, (district, lon) in WARDS.items():
        add_area(session, code, f"Ward {code}", "ward", district, lon=lon)


def _reports(session: Session, world: World) -> None:
    for ward, (district, lon) in WARDS.items():
        ids = []
        for n in range(3):
            text = (
                f"The lane by the garages is dark and {_marker(world, 'report', ward)} waits there"
            )
            report = add_report(
                session,
                ward=ward,
                district=district,
                reasons=["poor_lighting"],
                free_text=text + f" night {n}",
                lat=51.805,
                lon=lon + 0.005,
                h3_cell="89195da49b7ffff",
            )
            ids.append(report.id)
        world.reports[ward] = ids
        urgent = add_report(
            session,
            ward=ward,
            district=district,
            reasons=["followed"],
            free_text=f"Someone is following me right now {_marker(world, 'urgent', ward)}",
            lon=lon + 0.005,
            urgent=True,
            urgent_reason="danger_now",
        )
        world.urgent[ward] = urgent.public_id
    # The markers repeat per report; keep one of each.
    world.markers = list(dict.fromkeys(world.markers))


def _issues(session: Session, world: World) -> None:
    referred = {"WA1": (PARTNER, OTHER_PARTNER), "WA2": (OTHER_PARTNER,), "WB1": (OTHER_PARTNER,)}
    for ward in WARDS:
        issue = actions.create_issue(
            session=session,
            user=None,
            ward_code=ward,
            title=f"Dark lane {_marker(world, 'issue', ward)}",
            description=f"Women avoid the lane {_marker(world, 'issue', ward)}",
            themes=["poor_lighting"],
            report_ids=world.reports[ward],
        )
        world.issues[ward] = issue.id
        notes = f"Unlit since the spring {_marker(world, 'notes', ward)}"
        stages.move_stage(session=session, issue=issue, to_stage="analysis", user=None, notes=notes)
        stages.move_stage(session=session, issue=issue, to_stage="response", user=None, notes=notes)
        actions.add_action(
            session=session,
            issue=issue,
            user=None,
            description=f"Patrolled at dusk {_marker(world, 'action', ward)}",
        )
        for partner in referred[ward]:
            referral = actions.refer(
                session=session,
                issue=issue,
                user=None,
                partner=partner,
                request=f"Please mend the lamps {_marker(world, 'referral', ward, partner)}",
            )
            world.referrals[f"{partner}@{ward}"] = referral.id
        updates.publish_update(
            session=session,
            user=None,
            area_code=ward,
            title="New lamps on the lane",
            body="You told us the lane was dark; the council has mended the lamps.",
            published_on=date(2026, 10, 1),
            issue_id=issue.id,
        )
        draft = updates.draft_update(
            session=session,
            user=None,
            area_code=ward,
            title="More lamps on the lane",
            body="You told us the lane was still dark; two more lamps are going in.",
            issue_id=issue.id,
        )
        world.updates[ward] = draft.id
    world.markers = list(dict.fromkeys(world.markers))


def _plans(session: Session, world: World) -> None:
    from saferstreets.planning.models import Plan, PlanTeam

    for n in range(2):
        plan = Plan(name=f"Plan {n}", params=_plan_params(8 + n), status="draft")
        session.add(plan)
        session.flush()
        team = PlanTeam(
            plan_id=plan.id,
            name="Team 1: Ashdown",
            base_code="WA1",
            latitude=51.805,
            longitude=-0.295,
            officers=8 + n,
            covered_demand=1.0,
            phase=1,
            phase_start=date(2026, 11, 2),
        )
        session.add(team)
        session.flush()
        world.plans.append(plan.id)
        world.teams.append(team.id)


def _plan_params(officers: int) -> dict[str, Any]:
    from saferstreets.planning.params import PlanParams

    return PlanParams(teams=1, officers=officers).model_dump(mode="json")


def new_plan(world: World) -> int:
    """A throwaway plan (for the delete route: each allowed delete removes one)."""
    from saferstreets.planning.models import Plan

    with session_scope(world.engine) as session:
        name = f"Throwaway {session.scalar(sa.select(sa.func.count(Plan.id)))}"
        plan = Plan(name=name, params=_plan_params(5), status="draft")
        session.add(plan)
        session.flush()
        return plan.id


def _quarantine(session: Session, world: World) -> None:
    from saferstreets.ingest.models import QuarantinedRow

    row = QuarantinedRow(
        kind="survey", source="wave.csv", row_number=3, reason="no date", raw={"q1": "x"}
    )
    session.add(row)
    session.flush()
    world.quarantine_row = row.id


def _users(session: Session, world: World) -> None:
    specs: dict[str, dict[str, Any]] = {
        "admin": {},
        "analyst": {},
        "supervisor": {},
        "ward_officer": {"wards": list(OFFICER_WARDS)},
        "partner": {"partner": PARTNER},
    }
    for role, extra in specs.items():
        user = create_user(session=session, username=role, password=PASSWORD, role=role, **extra)
        world.users[role] = user.id


def _jobs(session: Session, world: World) -> None:
    """A failed job for each staff role that may have jobs, and one nobody asked for."""
    from saferstreets.jobs.models import Job

    for who in ("analyst", "supervisor", "ward_officer", "scheduled"):
        job = Job(
            kind="plan.solve",
            title=f"Solving the plan of {who}",
            params={"name": f"Plan of {who}", "params": _plan_params(5)},
            requested_by=world.users.get(who),
            status="failed",
            attempts=1,
            max_attempts=1,
            error="The plan could not be solved.",
        )
        session.add(job)
        session.flush()
        world.jobs[who] = job.id


def fingerprint(engine: sa.Engine) -> str:
    """A digest of every watched table's rows: equal before and after means nothing was written."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            name = table.name
            if name in UNWATCHED or any(part in name for part in UNWATCHED_PARTS):
                continue
            rows = conn.execute(sa.select(table)).all()
            digest.update(name.encode())
            for row in sorted(json.dumps(list(r), default=str) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()
