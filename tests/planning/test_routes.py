"""Staff plan pages: roles, CSRF, making a plan from the form, errors in place, exports."""

from __future__ import annotations

import sqlalchemy as sa

from saferstreets.accounts.service import create_user
from saferstreets.db import session_scope
from saferstreets.planning.models import Plan
from saferstreets.planning.service import long_date

FORM = {
    "name": "web plan",
    "teams": "3",
    "officers": "40",
    "radius": "800",
    "ward_officers": "16",
    "ward_min": "0",
    "min_team": "4",
    "max_team": "30",
    "force_in": "",
    "force_out": "",
    "weights": "reports=1,survey=1,crime=1",
    "method": "mclp",
    "apportionment": "webster",
    "time_limit": "10",
    "phases": "3",
}


def _login(client, engine, role: str) -> str:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        create_user(session=session, username="sup", password="correct horse battery", role=role)
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={"username": "sup", "password": "correct horse battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/staff/plans/new")
    assert page.status_code == 200
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def test_ward_officer_cannot_see_plans(client, county) -> None:  # type: ignore[no-untyped-def]
    with session_scope(county) as session:
        create_user(
            session=session,
            username="pc",
            password="correct horse battery",
            role="ward_officer",
            wards=["W00"],
        )
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "pc", "password": "correct horse battery", "csrf_token": token}
    )
    assert client.get("/staff/plans").status_code == 403


def _solved(client, job_worker, response) -> str:  # type: ignore[no-untyped-def]
    """Follow the form's redirect to its job, let the real worker solve it; the plan's page."""
    assert response.status_code == 303, response.text
    job_page = response.headers["location"]
    assert job_page.startswith("/staff/jobs/")
    job_id = int(job_page.rsplit("/", 1)[1])
    job_worker.wait_for(job_id)
    job = client.get(f"{job_page}.json").json()
    assert job["status"] == "done", job
    assert job["kind"] == "plan.solve" and job["attempts"] == 1
    status = client.get(f"{job_page}/status?follow=1")  # the page's htmx poll, once done
    assert status.headers["HX-Redirect"] == job["result_url"]
    assert job["result_url"] == f"/staff/plans/{job['result']['plan_id']}"
    return str(job["result_url"])


def test_make_view_compare_and_export_from_the_web(client, county, job_worker) -> None:  # type: ignore[no-untyped-def]
    token = _login(client, county, "supervisor")
    assert client.post("/staff/plans/new", data=FORM | {"csrf_token": "wrong"}).status_code == 403
    r = client.post("/staff/plans/new", data=FORM | {"csrf_token": token}, follow_redirects=False)
    # the request only queues the work: no plan is stored until a worker solves it
    with session_scope(county) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0
    waiting = client.get(r.headers["location"])
    assert waiting.status_code == 200 and "Waiting for a worker" in waiting.text
    assert 'hx-trigger="every 2s"' in waiting.text
    job_worker.start()
    first = _solved(client, job_worker, r)
    page = client.get(first)
    assert page.status_code == 200 and "web plan" in page.text and "Rollout" in page.text
    detail = client.get(first + ".json").json()
    assert sum(t["officers"] for t in detail["teams"]) == 40
    geo = client.get(first + ".geojson").json()
    assert sum(1 for f in geo["features"] if f["properties"]["kind"] == "base") == 3
    r2 = client.post(
        "/staff/plans/new",
        data=FORM | {"csrf_token": token, "name": "five", "teams": "5"},
        follow_redirects=False,
    )
    second = _solved(client, job_worker, r2)
    ids = [first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]]
    cmp = client.get(f"/staff/plans/compare.json?ids={ids[0]}&ids={ids[1]}").json()
    assert [p["teams"] for p in cmp["plans"]] == [3, 5]
    assert client.get(f"/staff/plans/compare?ids={ids[0]}&ids={ids[1]}").status_code == 200
    csv_text = client.get(first + "/patrols.csv").text
    assert csv_text.startswith("plan,team,base") and csv_text.count("\n") > 3
    team_id = detail["teams"][0]["id"]
    briefing = client.get(f"{first}/teams/{team_id}/briefing")
    assert briefing.status_code == 200
    start = detail["teams"][0]["phase_start"]  # the phase's first day written out, not ISO
    assert f"from {long_date(start)} ·" in briefing.text and start not in briefing.text
    made = client.post(f"{first}/teams/{team_id}/briefing.pdf", data={"csrf_token": token},
                       follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    pdf_job = int(made.headers["location"].rsplit("/", 1)[1])
    assert job_worker.wait_for(pdf_job)["status"] == "done"
    pdf = client.get(f"/staff/jobs/{pdf_job}/download")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        f"plan-{first.rsplit('/', 1)[1]}-team-{team_id}.pdf" in pdf.headers["content-disposition"]
    )


def test_bad_settings_come_back_on_the_form(client, county) -> None:  # type: ignore[no-untyped-def]
    token = _login(client, county, "analyst")
    r = client.post("/staff/plans/new", data=FORM | {"csrf_token": token, "min_team": "20"})
    assert r.status_code == 422
    assert "3 teams of at least 20 need 60 officers, but there are 40" in r.text
    assert 'value="20"' in r.text  # what was typed is kept
    r = client.post("/staff/plans/new", data=FORM | {"csrf_token": token, "radius": "abc"})
    assert r.status_code == 422 and "must be a number" in r.text
    r = client.post("/staff/plans/new", data=FORM | {"csrf_token": token, "radius": "0"})
    assert r.status_code == 422 and "more than 0" in r.text
    assert "Traceback" not in r.text
    with session_scope(county) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


def test_plan_page_reads_in_words_and_compares_like_with_like(client, county, job_worker) -> None:  # type: ignore[no-untyped-def]
    import html
    import re

    token = _login(client, county, "supervisor")
    job_worker.start()
    made = {}
    for name, weights, forced in (
        ("even", FORM["weights"], ""),
        ("crime", "reports=0,survey=0,crime=1", "TC2"),
    ):
        r = client.post(
            "/staff/plans/new",
            data=FORM
            | {
                "csrf_token": token,
                "name": name,
                "weights": weights,
                "force_in": forced,
                "time_limit": "10" if name == "even" else "12",
                "rollout_start": "2027-04-05",
                "phase_weeks": "3",
            },
            follow_redirects=False,
        )
        made[name] = _solved(client, job_worker, r).rsplit("/", 1)[1]
    page = html.unescape(client.get(f"/staff/plans/{made['crime']}").text)
    # weights and dates in words, not a Python dict or codes
    assert "only harm-weighted recorded crime counts" in page
    assert "{'" not in page and "reports=0" not in page.split("<form")[0]
    assert "5 April 2027 to 25 April 2027" in page and "26 April 2027 to 16 May 2027" in page
    # the ward method is told once; each ward has its own sentence with its rank
    assert page.count("officers follow need in proportion") == 1
    assert len(re.findall(r"of the county's need, \d+(st|nd|rd|th) of 16 wards\.", page)) == 16
    assert "The 15 wards of most need" in page and "The other 1 ward<" in page
    # solver details only under "How this was computed"
    before, _, folded = page.partition("<summary>How this was computed</summary>")
    assert folded and "proven" not in before.split("<h2>Patrol plans</h2>")[0]
    assert "MCLP" in folded or "p-median" in folded
    # patrols: each limit stated once; each team's hot spots busiest first, visits never rising
    # as demand falls, and the visits made against what the team could make
    assert page.count("at most 2 visits to one hot spot in one hour") == 1
    assert len(re.findall(r"visits this week \(of the \d+ its officers could make\)", page)) == 3
    tables = page.split("<caption>Hot spots, busiest first</caption>")[1:]
    plan = client.get(f"/staff/plans/{made['crime']}.json").json()
    assert len(tables) == sum(1 for t in plan["teams"] if t["hotspots"]) >= 1
    for table in tables:
        rows = re.findall(
            r'<td class="num">(\d+)%</td><td class="num">(\d+)</td></tr>',
            table.split("</table>")[0],
        )
        shares, visits = [int(a) for a, _ in rows], [int(b) for _, b in rows]
        assert shares == sorted(shares, reverse=True) and visits == sorted(visits, reverse=True)
    cmp = html.unescape(
        client.get(f"/staff/plans/compare?ids={made['even']}&ids={made['crime']}").text
    )
    assert "These plans weigh demand differently" in cmp
    assert "Coverage of the common demand measure" in cmp
    assert "own weighted demand" not in cmp
    assert not re.search(r"<td>W\d\d</td>", cmp)  # wards by name, not code
    # settings in words: bases by name, never a code or a stored key; the optimiser's own
    # settings only under "How these were computed"
    shown, _, folded = cmp.partition("<summary>How these were computed</summary>")
    assert '<th scope="row">Bases that must be used</th><td>none</td><td>Town 2</td>' in shown
    assert "TC2" not in shown.split("<h2>Bases and their officers</h2>")[0]
    assert "force_in" not in shown and "time limit" not in shown.lower()
    assert "Seconds the optimiser may take" in folded and "proven" in folded
