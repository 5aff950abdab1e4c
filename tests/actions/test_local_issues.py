"""Local issues through SARA, scoped to the ward officer's wards; referrals; public updates."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape
from tests.factories import add_area, add_report

from saferstreets.accounts.service import create_user
from saferstreets.actions import place, service, stages, workload
from saferstreets.actions.models import IssueReport, LocalIssue
from saferstreets.areas.models import Area
from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed


@pytest.fixture
def county(session):  # type: ignore[no-untyped-def]
    add_area(session, "D1", "Northbury", "district")
    add_area(session, "W1", "Castle", "ward", parent="D1")
    add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29)
    officer = create_user(
        session=session, username="pc", password="long enough pw", role="ward_officer", wards=["W1"]
    )
    analyst = create_user(session=session, username="an", password="long enough pw", role="analyst")
    partner = create_user(
        session=session,
        username="cl",
        password="long enough pw",
        role="partner",
        partner="council_lighting",
    )
    session.commit()
    return officer, analyst, partner


def test_sara_workflow_needs_analysis_and_assessment(session, county) -> None:  # type: ignore[no-untyped-def]
    officer, _, _ = county
    reports = [
        add_report(session, ward="W1", district="D1", reasons=["poor_lighting"]) for _ in range(3)
    ]
    issue = service.create_issue(
        session=session,
        user=officer,
        ward_code="W1",
        title="Dark path by the canal",
        themes=["poor_lighting"],
        report_ids=[r.id for r in reports],
    )
    assert issue.stage == "scanning"
    assert all(r.status == "linked" for r in reports)
    with pytest.raises(ValidationFailed, match="why these reports are one problem"):
        stages.move_stage(session=session, issue=issue, to_stage="analysis", user=officer)
    stages.move_stage(
        session=session, issue=issue, to_stage="analysis", user=officer, notes="One dark path."
    )
    with pytest.raises(ValidationFailed, match="Write down the analysis"):
        stages.move_stage(session=session, issue=issue, to_stage="response", user=officer)
    assert issue.stage == "analysis"
    stages.move_stage(
        session=session,
        issue=issue,
        to_stage="response",
        user=officer,
        notes="Unlit 300 m stretch; reports Fri-Sat after 21:00.",
    )
    with pytest.raises(ValidationFailed, match="cannot move to closed"):
        stages.move_stage(
            session=session, issue=issue, to_stage="closed", user=officer, notes="done"
        )
    stages.move_stage(
        session=session, issue=issue, to_stage="assessment", user=officer, notes="Lamps mended."
    )
    with pytest.raises(ValidationFailed, match="Say whether the response worked"):
        stages.move_stage(session=session, issue=issue, to_stage="closed", user=officer)
    stages.move_stage(
        session=session,
        issue=issue,
        to_stage="closed",
        user=officer,
        notes="Lights fixed; no reports in the six weeks since.",
        close_reason="worked",
    )
    session.commit()
    stored = session.get(LocalIssue, issue.id)
    assert stored.stage == "closed"
    assert stored.analysis_notes.startswith("Unlit")


def test_ward_officer_sees_only_her_wards(session, county) -> None:  # type: ignore[no-untyped-def]
    officer, analyst, _ = county
    mine = service.create_issue(session=session, user=analyst, ward_code="W1", title="Mine")
    other = service.create_issue(session=session, user=analyst, ward_code="W2", title="Not mine")
    assert [i.id for i, _ in workload.queue(session=session, user=officer)] == [mine.id]
    assert {i.id for i, _ in workload.queue(session=session, user=analyst)} == {mine.id, other.id}
    # Another ward's issue answers as one that does not exist (issue 11), not "forbidden".
    with pytest.raises(NotFound, match=f"no local issue {other.id} that you can see"):
        service.get_issue(session=session, issue_id=other.id, user=officer)
    with pytest.raises(PermissionDenied):
        service.create_issue(
            session=session, user=officer, ward_code="W2", title="Outside my wards"
        )


def test_partner_answers_only_its_own_referrals(session, county) -> None:  # type: ignore[no-untyped-def]
    officer, _, partner = county
    issue = service.create_issue(session=session, user=officer, ward_code="W1", title="Lights out")
    lights = service.refer(
        session=session,
        issue=issue,
        user=officer,
        partner="council_lighting",
        request="Repair three columns on Canal Walk",
    )
    cctv = service.refer(
        session=session, issue=issue, user=officer, partner="council_cctv", request="Camera"
    )
    assert [r.id for r in service.partner_referrals(session=session, user=partner)] == [lights.id]
    context = service.referral_context(session=session, referrals=[lights, cctv])
    assert context[lights.id]["title"] == "Lights out"
    ward_name = session.scalar(sa.select(Area.name).where(Area.code == "W1"))
    assert context[lights.id]["ward"] == ward_name and ward_name != "W1"
    service.answer_referral(
        session=session,
        referral_id=lights.id,
        user=partner,
        status="done",
        response="Repaired on 3 November",
    )
    assert lights.status == "done" and lights.closed_on is not None
    with pytest.raises(NotFound):  # another partner's referral: as if it did not exist
        service.answer_referral(
            session=session, referral_id=cctv.id, user=partner, status="done", response="x"
        )
    with pytest.raises(ValidationFailed):
        service.refer(session=session, issue=issue, user=officer, partner="nobody", request="x")


def test_suggestions_cluster_unlinked_reports(session, county) -> None:  # type: ignore[no-untyped-def]
    for _ in range(6):
        add_report(session, ward="W1", district="D1", reasons=["poor_lighting", "isolated"])
    for _ in range(2):
        add_report(session, ward="W2", district="D1", reasons=["poor_lighting"])
    found = service.suggest_issues(session=session, min_reports=5)
    assert {(s["ward_code"], s["theme"], s["count"]) for s in found} == {
        ("W1", "poor_lighting", 6),
        ("W1", "isolated", 6),
    }


def test_issue_pages_on_a_phone_flow(client, engine) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.db import session_scope

    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        create_user(
            session=session,
            username="pc",
            password="long enough pw",
            role="ward_officer",
            wards=["W1"],
        )
        for _ in range(5):
            add_report(
                session,
                ward="W1",
                district="D1",
                reasons=["poor_lighting"],
                free_text="Dark underpass, call me on 07700 900123",
            )
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "pc", "password": "long enough pw", "csrf_token": token}
    )
    token = client.get("/staff/issues").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/staff/issues",
        data={
            "csrf_token": token,
            "ward_code": "W1",
            "title": "Dark underpass",
            "themes": "poor_lighting",
            "report_ids": "1,2,3",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Dark underpass" in page.text
    assert "07700 900123" not in page.text  # contact details redacted beyond the triage queue
    bad = client.post(
        f"{response.headers['location']}/stage", data={"csrf_token": token, "stage": "response"}
    )
    assert bad.status_code == 422
    assert "cannot move to response" in bad.text
    queue = client.get("/staff/issues.json").json()
    assert [i["title"] for i in queue] == ["Dark underpass"]
    assert queue[0]["stage"] == "scanning"
    detail = client.get(f"{response.headers['location']}.json")
    assert detail.status_code == 200 and detail.json()["report_ids"] == [1, 2, 3]
    empty = client.post(
        f"{response.headers['location']}/actions", data={"csrf_token": token, "description": ""}
    )
    assert empty.status_code == 422
    assert (
        "Description is needed." in empty.text and "Dark underpass" in empty.text
    )  # shown in place
    assert client.get(f"{response.headers['location']}.json").json()["actions"] == []
    sent = client.post(
        f"{response.headers['location']}/referrals",
        data={"csrf_token": token, "partner": "council_lighting", "request": "Fix the lights"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    referrals = client.get("/staff/referrals")
    assert referrals.status_code == 200 and "Fix the lights" in referrals.text
    assert "Send the answer" not in referrals.text  # a ward officer sees, the partner answers


def test_a_referral_shows_its_partner_where_without_the_reports(session, county) -> None:  # type: ignore[no-untyped-def]
    officer, analyst, partner = county
    a, b = "89195da49b7ffff", "89195da49b3ffff"
    reports = [
        add_report(session, ward="W1", district="D1", reasons=["poor_lighting"], h3_cell=cell)
        for cell in (a, a, b)
    ]
    add_report(session, ward="W1", district="D1", reasons=["poor_lighting"], h3_cell="x")
    issue = service.create_issue(
        session=session,
        user=officer,
        ward_code="W1",
        title="Dark path",
        report_ids=[r.id for r in reports],
    )
    lights = service.refer(
        session=session, issue=issue, user=officer, partner="council_lighting", request="Lamps"
    )
    cctv = service.refer(
        session=session, issue=issue, user=officer, partner="council_cctv", request="Camera"
    )
    # The issue's place: one outline round its three reports (all at one point here), which
    # holds the point but is no point itself; the report outside the issue plays no part.
    got = service.get_referral(session=session, referral_id=lights.id, user=partner)
    [feature] = place.place_geojson(session.get(LocalIssue, got.issue_id))["features"]
    outline = shape(feature["geometry"])
    assert outline.contains(Point(-0.295, 51.805)) and outline.area > 1e-5
    assert issue.place_source == "reports"
    context = service.referral_context(session=session, referrals=[lights])[lights.id]
    assert (context["ward_code"], context["district_code"]) == ("W1", "D1")
    # Each partner its own; a ward officer her wards'; staff all.
    with pytest.raises(NotFound):  # not hers: the same answer as no such referral
        service.get_referral(session=session, referral_id=cctv.id, user=partner)
    assert service.get_referral(session=session, referral_id=cctv.id, user=analyst) is cctv
    other = create_user(
        session=session,
        username="pc2",
        password="long enough pw",
        role="ward_officer",
        wards=["W2"],
    )
    with pytest.raises(NotFound):
        service.get_referral(session=session, referral_id=lights.id, user=other)
    with pytest.raises(NotFound):
        service.get_referral(session=session, referral_id=999_999, user=analyst)


def test_linking_refuses_reports_outside_the_issue_ward_and_links_nothing(session, county) -> None:  # type: ignore[no-untyped-def]
    officer, analyst, _ = county
    mine = add_report(session, ward="W1", district="D1", reasons=["poor_lighting"])
    theirs = add_report(
        session, ward="W2", district="D1", reasons=["touching"],
        free_text="A man called Lee who works at the takeaway keeps grabbing girls",
    )  # fmt: skip
    for user in (officer, analyst):  # even a user who sees every ward links only the issue's ward
        with pytest.raises(ValidationFailed, match=f"report {theirs.id} is not in this issue"):
            service.create_issue(
                session=session, user=user, ward_code="W1", title="Grabbing",
                report_ids=[mine.id, theirs.id],
            )  # fmt: skip
    issue = service.create_issue(session=session, user=officer, ward_code="W1", title="Lights")
    # A report that does not exist gets the same answer as one in another ward.
    for ids in ([theirs.id], [mine.id, 987654], [mine.id, 10**23]):
        with pytest.raises(ValidationFailed, match="not in this issue's ward") as refused:
            service.link_reports(session=session, issue=issue, report_ids=ids, user=officer)
        assert "report_ids" in refused.value.field_errors
    with pytest.raises(PermissionDenied):  # a ward officer cannot link into another ward's issue
        other = service.create_issue(session=session, user=analyst, ward_code="W2", title="W2")
        service.link_reports(session=session, issue=other, report_ids=[theirs.id], user=officer)
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(IssueReport)) == 0
    assert [i.title for i in session.scalars(sa.select(LocalIssue).order_by(LocalIssue.id))] == [
        "Lights", "W2",
    ]  # fmt: skip
    assert (mine.status, theirs.status) == ("new", "new")


def test_an_urgent_report_is_linked_only_after_its_review_and_stays_in_the_queue(
    session, county
) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.reports import safeguarding

    officer, _, _ = county
    supervisor = create_user(
        session=session, username="sup", password="long enough pw", role="supervisor"
    )
    calm = add_report(session, ward="W1", district="D1", reasons=["poor_lighting"])
    urgent = add_report(
        session, ward="W1", district="D1", reasons=["followed"], urgent=True, urgency=1,
        urgent_reason="danger now", free_text="someone is following me right now",
    )  # fmt: skip
    for user in (officer, supervisor):
        with pytest.raises(ValidationFailed, match=f"report {urgent.id} is urgent and waits"):
            service.create_issue(
                session=session, user=user, ward_code="W1", title="Followed",
                report_ids=[calm.id, urgent.id],
            )  # fmt: skip
    issue = service.create_issue(session=session, user=officer, ward_code="W1", title="Followed")
    with pytest.raises(ValidationFailed, match="safeguarding review"):
        service.link_reports(session=session, issue=issue, report_ids=[urgent.id], user=officer)
    assert calm.status == "new" and urgent.status == "new"
    assert [s["report_ids"] for s in service.suggest_issues(session=session, min_reports=1)] == [
        [calm.id]
    ]  # suggestions leave out what cannot be linked yet
    safeguarding.record_review(
        session=session, public_ids=[urgent.public_id], outcome="control_room", note=None,
        user=supervisor,
    )  # fmt: skip
    assert (
        service.link_reports(
            session=session, issue=issue, report_ids=[calm.id, urgent.id], user=officer
        )
        == 2
    )
    assert urgent.status == "linked"


def test_a_ward_officer_cannot_read_another_wards_reports_through_a_new_issue(
    client, engine
) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.db import session_scope

    words = "A man called Lee who works at the takeaway keeps grabbing girls, one is only 14"
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29)
        create_user(
            session=session, username="pc", password="long enough pw", role="ward_officer",
            wards=["W1"],
        )  # fmt: skip
        mine = add_report(session, ward="W1", district="D1", reasons=["poor_lighting"]).id
        theirs = add_report(
            session, ward="W2", district="D1", reasons=["touching"], free_text=words
        )
        theirs_id = theirs.id
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "pc", "password": "long enough pw", "csrf_token": token}
    )
    token = client.get("/staff/issues").text.split('name="csrf_token" value="')[1].split('"')[0]

    def create(report_ids: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/staff/issues",
            data={"csrf_token": token, "ward_code": "W1", "title": "Grabbing",
                  "report_ids": report_ids},
            follow_redirects=False,
        )  # fmt: skip

    refused = create(f"{mine},{theirs_id}")
    assert refused.status_code == 422
    assert f"report {theirs_id} is not in this issue's ward" in html.unescape(refused.text)
    assert "Lee" not in refused.text
    assert create("99999999999999999999999").status_code == 422  # not a 500
    junk = create(f"{mine},abc")
    assert junk.status_code == 422 and "not: abc" in junk.text
    assert client.get("/staff/issues.json").json() == []  # nothing was created
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IssueReport)) == 0
    made = create(str(mine))
    assert made.status_code == 303
    assert words not in client.get(made.headers["location"]).text


def test_a_link_made_before_the_ward_check_shows_no_other_wards_report(session) -> None:  # type: ignore[no-untyped-def]
    """A store may hold links made before linking checked wards: the issue page and a partner's
    map show only the issue ward's reports, so the old link cannot be read through."""
    add_area(session, "D1", "Northbury", "district")
    add_area(session, "W1", "Castle", "ward", parent="D1")
    add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29)
    mine = add_report(session, ward="W1", district="D1", reasons=["poor_lighting"])
    theirs = add_report(
        session, ward="W2", district="D1", reasons=["touching"], free_text="named man at 4"
    )
    issue = service.create_issue(
        session=session, user=None, ward_code="W1", title="Lights", report_ids=[mine.id]
    )
    session.add(IssueReport(issue_id=issue.id, report_id=theirs.id))  # as an old store may hold
    session.flush()
    shown = service.issue_detail(session=session, issue=issue)["reports"]
    assert [r.id for r in shown] == [mine.id]
