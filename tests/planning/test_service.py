"""make_plan / compare_plans on a small county in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from saferstreets.errors import PlanningError
from saferstreets.planning.models import PatrolSlot, Plan, PlanTeam, WardAllocation
from saferstreets.planning.params import PlanParams
from saferstreets.planning.service import (
    compare_plans,
    make_plan,
    patrols_csv,
    plan_detail,
)

SMALL = dict(
    teams=4, officers=60, radius=800, min_team=5, max_team=30, ward_officers=20, time_limit=10
)


def test_make_plan_stores_a_consistent_plan(county: sa.Engine, session) -> None:
    messages: list[str] = []
    plan = make_plan(
        engine=county, name="four", params=PlanParams(**SMALL), progress=messages.append
    )
    assert "placing 4 bases (mclp)" in messages
    teams = session.scalars(sa.select(PlanTeam).where(PlanTeam.plan_id == plan.id)).all()
    assert len(teams) == 4
    assert sum(t.officers for t in teams) == 60
    assert all(5 <= t.officers <= 30 for t in teams)
    # bigger covered demand never gets fewer officers (Webster is monotone in need)
    ordered = sorted(teams, key=lambda t: t.covered_demand)
    assert [t.officers for t in ordered] == sorted(t.officers for t in ordered)
    wards = session.scalars(
        sa.select(WardAllocation).where(WardAllocation.plan_id == plan.id)
    ).all()
    assert sum(w.officers for w in wards) == 20 and len(wards) == 16
    top = max(wards, key=lambda w: w.officers)
    first = [w for w in wards if w.reason.endswith("1st of 16 wards.")]
    assert len(first) == 1 and first[0].officers == top.officers
    assert first[0].need == max(w.need for w in wards)
    assert f" gets {top.officers}: {100 * first[0].need:.1f}% of the county's need" in (
        first[0].reason
    )
    slots = session.scalars(sa.select(PatrolSlot)).all()
    assert slots and all(10 <= s.minutes <= 15 for s in slots)
    assert 0 < plan.coverage <= 1 and plan.gap is not None and plan.gap <= 1e-4
    detail = plan_detail(session=session, plan_id=plan.id)
    phases = detail["summary"]["rollout"]
    cum = [p["cumulative_coverage"] for p in phases]
    assert cum == sorted(cum) and cum[-1] == pytest.approx(plan.coverage)


def test_same_seed_same_patrols_and_csv_is_injection_safe(county: sa.Engine, session) -> None:
    a = make_plan(engine=county, name="=HYPERLINK(1)", params=PlanParams(**SMALL))
    csv_a = patrols_csv(session=session, plan_id=a.id)
    b = make_plan(engine=county, name="=HYPERLINK(1)", params=PlanParams(**SMALL))
    csv_b = patrols_csv(session=session, plan_id=b.id)
    assert csv_a == csv_b
    assert "\n'=HYPERLINK(1)," in csv_a and "\n=HYPERLINK" not in csv_a
    assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 1  # replaced


def test_more_teams_more_coverage_and_compare(county: sa.Engine, session) -> None:
    p2 = make_plan(engine=county, name="two", params=PlanParams(**(SMALL | {"teams": 2})))
    p5 = make_plan(engine=county, name="five", params=PlanParams(**(SMALL | {"teams": 5})))
    assert p5.coverage >= p2.coverage
    cmp = compare_plans(session=session, ids=[p2.id, p5.id])
    assert [p["teams"] for p in cmp["plans"]] == [2, 5]
    assert cmp["differing_params"]["teams"] == ["2", "5"]
    assert sum(1 for row in cmp["bases"].values() if row["officers"][1] is not None) == 5
    # same weights: comparable, and the common measure is each plan's own coverage
    assert cmp["comparable"]
    for plan, row in zip((p2, p5), cmp["plans"], strict=True):
        assert row["common_coverage"] == pytest.approx(plan.coverage)


def test_plans_with_different_weights_are_compared_on_one_measure(
    county: sa.Engine, session
) -> None:
    even = make_plan(engine=county, name="even", params=PlanParams(**SMALL))
    crime = make_plan(
        engine=county,
        name="crime only",
        params=PlanParams(**SMALL, weights={"reports": 0, "survey": 0, "crime": 1}),
    )
    cmp = compare_plans(session=session, ids=[even.id, crime.id])
    assert not cmp["comparable"]
    assert cmp["differing_params"]["weights"] == [
        "public reports, survey concerns and harm-weighted recorded crime count equally",
        "only harm-weighted recorded crime counts; public reports and survey concerns left out",
    ]
    common = [p["common_coverage"] for p in cmp["plans"]]
    # the plan placed for the common measure covers at least as much of it as one placed for
    # crime alone (MCLP is proven optimal for its own weights)
    assert common[0] == pytest.approx(even.coverage)
    assert common[0] >= common[1] - 1e-9


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"teams": 40, "officers": 600, "min_team": 1}, "teams", "only"),
        ({"min_team": 20}, "min_team", "need 80 officers"),
        ({"radius": 0}, "radius", "more than 0"),
        ({"radius": -3}, "radius", "more than 0"),
        ({"max_team": 10}, "max_team", "hold only 40"),
        ({"force_in": ["NOPE"]}, "force_in", "NOPE is not a candidate"),
        ({"ward_min": 5}, "ward_min", "needs 80"),
    ],
)
def test_infeasible_settings_name_the_setting(
    county: sa.Engine, session, change, field, text
) -> None:
    with pytest.raises(PlanningError) as err:
        make_plan(engine=county, name="bad", params=PlanParams(**(SMALL | change)))
    assert text in str(err.value) or text in " ".join(err.value.field_errors.values())
    assert field in err.value.field_errors
    assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0  # nothing kept


def test_empty_store_says_what_to_import(engine: sa.Engine) -> None:
    with pytest.raises(PlanningError, match="no demand to plan for") as err:
        make_plan(engine=engine, name="x", params=PlanParams(**SMALL))
    assert "import" in (err.value.hint or "")


def test_forced_in_and_out(county: sa.Engine, session) -> None:
    free = make_plan(engine=county, name="free", params=PlanParams(**SMALL))
    used = [
        t.base_code for t in session.scalars(sa.select(PlanTeam).where(PlanTeam.plan_id == free.id))
    ]
    out = used[0]
    forced = make_plan(
        engine=county,
        name="forced",
        params=PlanParams(**(SMALL | {"force_out": [out], "force_in": ["TC5"]})),
    )
    codes = [
        t.base_code
        for t in session.scalars(sa.select(PlanTeam).where(PlanTeam.plan_id == forced.id))
    ]
    assert out not in codes and "TC5" in codes
    assert forced.coverage <= free.coverage + 1e-12


def test_pmedian_method(county: sa.Engine, session) -> None:
    plan = make_plan(engine=county, name="pm", params=PlanParams(**(SMALL | {"method": "pmedian"})))
    assert plan.status in ("optimal", "gap")
    assert len(session.scalars(sa.select(PlanTeam).where(PlanTeam.plan_id == plan.id)).all()) == 4


def test_stored_gi_hotspots_are_patrolled_first(county: sa.Engine, session) -> None:
    import h3

    from saferstreets.assessment.models import AnalysisRun, HotspotCell

    before = plan_detail(
        session=session,
        plan_id=make_plan(engine=county, name="no gi", params=PlanParams(**SMALL)).id,
    )
    assert before["summary"]["hotspot_source"].startswith(
        "the busiest areas (no hot spot assessment"
    )
    spots = before["teams"][0]["hotspots"]
    last, second_last = spots[-1]["cell"], spots[-2]["cell"]  # least demand of its list
    run = AnalysisRun(kind="hotspots", params={}, result={})
    session.add(run)
    session.flush()
    # one hot cell at the demand resolution, one given at a coarser resolution (res 8)
    session.add(HotspotCell(run_id=run.id, cell=last, count=9, z=4.0, p=0.001, q=0.01, klass=3))
    session.add(
        HotspotCell(
            run_id=run.id,
            cell=h3.cell_to_parent(second_last, 8),
            count=9,
            z=3.0,
            p=0.001,
            q=0.01,
            klass=3,
        )
    )
    session.add(
        HotspotCell(
            run_id=run.id, cell=spots[0]["cell"], count=1, z=-3.0, p=0.001, q=0.01, klass=-3
        )
    )  # a cold spot is not a hotspot
    session.commit()
    after = plan_detail(
        session=session, plan_id=make_plan(engine=county, name="gi", params=PlanParams(**SMALL)).id
    )
    assert after["summary"]["hotspot_source"].startswith("the assessment's hot spots")
    team = next(t for t in after["teams"] if t["base_code"] == before["teams"][0]["base_code"])
    assert team["hotspots"][0]["cell"] == last  # the hottest now heads the list
    z = {h["cell"]: h["z"] for h in team["hotspots"]}
    assert z[second_last] == 3.0  # the coarser hot cell's children count as hot
    assert z.get(spots[0]["cell"]) is None


def test_visits_rise_with_demand_inside_every_team(county: sa.Engine, session) -> None:
    plan = make_plan(engine=county, name="dose", params=PlanParams(**SMALL))
    detail = plan_detail(session=session, plan_id=plan.id)
    assert detail["teams"]
    for team in detail["teams"]:
        spots = team["hotspots"]
        for a in spots:  # a busier hot spot never gets fewer visits (equal demand may differ by 1)
            for b in spots:
                if a["demand_share"] > b["demand_share"] * (1 + 1e-9):
                    assert a["visits"] >= b["visits"], (team["name"], a, b)
        assert len(team["visits"]) == sum(h["visits"] for h in spots) <= team["capacity"]


def test_rollout_phases_start_on_the_chosen_day(county: sa.Engine, session) -> None:
    from datetime import date

    params = PlanParams(**SMALL, phases=3, rollout_start=date(2027, 3, 1), phase_weeks=4)
    plan = make_plan(engine=county, name="spring", params=params)
    phases = plan_detail(session=session, plan_id=plan.id)["summary"]["rollout"]
    assert [(p["start"], p["end"]) for p in phases] == [
        ("2027-03-01", "2027-03-28"),
        ("2027-03-29", "2027-04-25"),
        ("2027-04-26", None),
    ]
    cum = [p["cumulative_coverage"] for p in phases]
    assert cum == sorted(cum) and cum[-1] == pytest.approx(plan.coverage)
