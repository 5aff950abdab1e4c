"""Stored plans: town-centre teams, ward officer allocations and patrol slots."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow


class Plan(Base):
    """One named "what if": its settings, and the solver's account of how good the answer is."""

    __tablename__ = "plan"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_plan_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    coverage: Mapped[float | None] = mapped_column(sa.Float)  # share of demand covered
    objective: Mapped[float | None] = mapped_column(sa.Float)
    bound: Mapped[float | None] = mapped_column(sa.Float)
    gap: Mapped[float | None] = mapped_column(sa.Float)
    solve_seconds: Mapped[float | None] = mapped_column(sa.Float)
    status: Mapped[str] = mapped_column(sa.String(32), default="draft")
    result: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanTeam(Base):
    __tablename__ = "plan_team"
    __table_args__ = (sa.Index("ix_plan_team_plan_id", "plan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    base_code: Mapped[str | None] = mapped_column(sa.String(32))  # area code or H3 cell
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    officers: Mapped[int]
    covered_demand: Mapped[float] = mapped_column(sa.Float)
    phase: Mapped[int]
    phase_start: Mapped[date | None]


class WardAllocation(Base):
    __tablename__ = "ward_allocation"
    __table_args__ = (sa.Index("ix_ward_allocation_plan_id", "plan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"))
    ward_code: Mapped[str] = mapped_column(sa.String(32))
    officers: Mapped[int]
    need: Mapped[float] = mapped_column(sa.Float)
    reason: Mapped[str] = mapped_column(sa.Text)


class PatrolSlot(Base):
    __tablename__ = "patrol_slot"
    __table_args__ = (sa.Index("ix_patrol_slot_team_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_team.id", ondelete="CASCADE"))
    place: Mapped[str] = mapped_column(sa.String(200))  # hotspot cell or place name
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    weekday: Mapped[int]  # 0 = Monday
    start_minute: Mapped[int]  # minutes after midnight
    minutes: Mapped[int]
