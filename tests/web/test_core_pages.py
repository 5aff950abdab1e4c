"""Core pages: the landing page's safety features, staff sign-in, one error handler."""

from __future__ import annotations

from saferstreets.accounts.service import create_user
from saferstreets.db import session_scope
from saferstreets.web.deps import templates


def _login(client, engine, role: str = "analyst") -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        create_user(session=session, username="ann", password="correct horse battery", role=role)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": "ann", "password": "correct horse battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_landing_page_has_emergency_line_and_quick_exit(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/")
    assert response.status_code == 200
    assert "In an emergency call 999" in response.text
    assert 'id="quick-exit"' in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_pages_name_an_icon_that_is_served(client, engine) -> None:  # type: ignore[no-untyped-def]
    # Without one, every browser asks for /favicon.ico and logs a 404 on every page.
    _login(client, engine)
    for path in ("/", "/report", "/staff"):
        href = client.get(path).text.split('<link rel="icon" href="')[1].split('"')[0]
        icon = client.get(href)
        assert icon.status_code == 200, (path, href)
        assert icon.headers["content-type"].startswith("image/svg+xml")


def test_unknown_page_is_a_friendly_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no page at this address." in response.text
    assert "Traceback" not in response.text
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.json()["error"]["title"] == "Page not found"


def test_staff_pages_need_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/staff"
    assert client.get("/staff/status.json").status_code == 401


def test_wrong_password_is_refused(client, engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        create_user(
            session=session, username="ann", password="correct horse battery", role="analyst"
        )
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": "ann", "password": "wrong password!", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "do not match an active account" in response.text


def test_login_without_csrf_token_is_refused(client, engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        create_user(
            session=session, username="ann", password="correct horse battery", role="analyst"
        )
    response = client.post("/login", data={"username": "ann", "password": "correct horse battery"})
    assert response.status_code == 403
    assert "expired or was sent from elsewhere" in response.text


def test_staff_overview_after_sign_in(client, engine) -> None:  # type: ignore[no-untyped-def]
    _login(client, engine)
    # /staff takes an analyst to her work (the assessment); the overview has its own address.
    landing = client.get("/staff", follow_redirects=False)
    assert (landing.status_code, landing.headers["location"]) == (303, "/staff/assessment")
    page = client.get("/staff/overview")
    assert page.status_code == 200
    assert "What the store holds" in page.text
    assert client.get("/staff/status.json").json()["counts"]["crimes"] == 0


def test_overview_counts_by_district(client, engine) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import add_area, add_report

    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "D2", "Southbury", "district")
        for _ in range(3):
            add_report(session, ward=None, district="D1", reasons=["isolated"])
        add_report(session, ward=None, district=None, reasons=["isolated"])
    _login(client, engine)
    rows = {r["name"]: r for r in client.get("/staff/status.json").json()["by_district"]}
    assert rows["Northbury"]["reports"] == 3
    assert rows["Southbury"]["reports"] == 0
    assert rows["No district"]["reports"] == 1
    assert "Northbury" in client.get("/staff/overview").text


def test_unexpected_error_shows_no_traceback(client) -> None:  # type: ignore[no-untyped-def]
    app = client.app

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "Something went wrong" in response.text
    # Starlette answers an unhandled error outside every middleware: the handler adds the headers.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert templates is not None


def test_an_absurd_id_is_a_plain_404(client, engine) -> None:  # type: ignore[no-untyped-def]
    # Wider than any id column: it used to reach the database and overflow there (a 500).
    _login(client, engine, role="admin")
    for path in (
        "/staff/issues/99999999999999999999999",
        "/staff/issues/99999999999999999999999.json",
        "/staff/plans/2147483648",
        "/staff/referrals/99999999999999999999999/place.geojson",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
    # The largest id a PostgreSQL integer holds still reaches the route (and is not there).
    assert "no local issue 2147483647" in client.get("/staff/issues/2147483647").text


def test_each_role_lands_on_its_own_work(client, engine) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import add_area

    homes = {
        "admin": ("/staff/users", "Accounts"),
        "analyst": ("/staff/assessment", "Assessment"),
        "supervisor": ("/staff/safeguarding", "Safeguarding"),
        "ward_officer": ("/staff/issues", "Local issues"),
        "partner": ("/staff/referrals", "Referrals"),
    }
    with session_scope(engine) as session:
        add_area(session, "W1", "Castle", "ward")
        for role in homes:
            extra = {"wards": ["W1"]} if role == "ward_officer" else {}
            extra = {"partner": "council_lighting"} if role == "partner" else extra
            create_user(session=session, username=role, password="correct horse battery",
                        role=role, **extra)  # fmt: skip
    for role, (home, words) in homes.items():
        client.cookies.clear()
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        data = {"username": role, "password": "correct horse battery", "csrf_token": token}
        landed = client.post("/login", data=data)  # to /staff, and on to her work
        assert (landed.status_code, landed.url.path) == (200, home), role
        assert words in landed.text, role
    # A partner sees none of the store's figures: not the overview, not its JSON twin.
    for path in ("/staff/overview", "/staff/status.json"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "quarantine" not in refused.text and "counts" not in refused.text, path
