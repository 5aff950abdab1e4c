"""Imports from the browser: police.uk files, boundaries and a survey export uploaded, run by a
real background worker with the CLI's import code, the summary with the quarantined rows; and
the uploads a hostile or careless sender makes (too large, a path in the name, a zip that leaves
its folder, a zip bomb, an archive in an archive) refused with a clear message."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from tests.crime.policeuk_files import STREET_COLUMNS, csv_text, street_row
from tests.surveys.survey_files import msforms_grid, write_csv

from saferstreets.accounts.service import create_user
from saferstreets.areas.models import Area
from saferstreets.crime.models import Crime
from saferstreets.db import session_scope
from saferstreets.ingest import uploads
from saferstreets.ingest.models import QuarantinedRow
from saferstreets.surveys.models import SurveyResponse


@pytest.fixture
def signed_in(client, engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for role in ("analyst", "ward_officer"):
            create_user(session=session, username=role, password="long enough pw", role=role)
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "analyst", "password": "long enough pw", "csrf_token": token}
    )
    page = client.get("/staff/imports")
    assert page.status_code == 200
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _street_zip() -> bytes:
    rows = [street_row(n) for n in range(1, 6)]
    rows.append(street_row(6, month="not a month"))  # broken: quarantined with its reason
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2021-01/2021-01-hertfordshire-street.csv", csv_text(STREET_COLUMNS, rows))
    return buffer.getvalue()


def _job(client, job_worker, response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    page = response.headers["location"]
    assert page.startswith("/staff/jobs/")
    job_worker.start()
    job_worker.wait_for(int(page.rsplit("/", 1)[1]))
    job = client.get(f"{page}.json").json()
    assert job["status"] == "done", job
    return job  # type: ignore[no-any-return]


def test_police_uk_zip_imports_in_the_background_with_its_quarantine(  # type: ignore[no-untyped-def]
    client, engine, signed_in, job_worker
) -> None:
    sent = client.post(
        "/staff/imports",
        data={"csrf_token": signed_in, "kind": "crime"},
        files={"files": ("herts-2021-01.zip", _street_zip(), "application/zip")},
        follow_redirects=False,
    )
    with session_scope(engine) as session:  # the request only queued the work
        assert session.scalar(sa.select(sa.func.count()).select_from(Crime)) == 0
    job = _job(client, job_worker, sent)
    street = [f for f in job["result"]["files"] if f["kind"] == "crime_street"]
    assert len(street) == 1, json.dumps(job)
    (summary,) = street
    assert (summary["read"], summary["stored"], summary["quarantined"]) == (6, 5, 1)
    assert summary["problems"][0]["field"] == "Month"
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Crime)) == 5
        (row,) = session.scalars(sa.select(QuarantinedRow)).all()
        assert job["result"]["upload"] in row.source
    page = client.get(job["result_url"])
    assert (
        page.status_code == 200 and "Quarantined from 2021-01-hertfordshire-street.csv" in page.text
    )
    assert f"/staff/quarantine?status=all&amp;source={job['result']['upload']}" in page.text


def test_boundaries_and_a_survey_with_its_mapping_edited_first(  # type: ignore[no-untyped-def]
    client, engine, signed_in, job_worker, tmp_path
) -> None:
    ring = [[-0.4, 51.7], [-0.3, 51.7], [-0.3, 51.8], [-0.4, 51.8], [-0.4, 51.7]]
    wards = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"WD22CD": "E05000001", "WD22NM": "Castle"},
            }
        ],
    }
    sent = client.post(
        "/staff/imports",
        data={"csrf_token": signed_in, "kind": "boundaries", "level": "ward"},
        files={"files": ("wards.geojson", json.dumps(wards).encode(), "application/geo+json")},
        follow_redirects=False,
    )
    job = _job(client, job_worker, sent)
    assert job["result"]["files"][0]["stored"] == 1
    with session_scope(engine) as session:
        assert session.scalar(sa.select(Area.name).where(Area.code == "E05000001")) == "Castle"
    export = write_csv(tmp_path / "forms.csv", msforms_grid(), bom=True).read_bytes()
    sent = client.post(
        "/staff/imports",
        data={"csrf_token": signed_in, "kind": "survey"},
        files={"files": ("forms.csv", export, "text/csv")},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("/mapping")
    form = client.get(sent.headers["location"])
    assert form.status_code == 200 and "[wave]" in form.text
    suggested = form.text.split('name="mapping"')[1].split(">", 1)[1].split("</textarea>")[0]
    import html

    mapping = html.unescape(suggested)
    bad = client.post(
        sent.headers["location"],
        data={"csrf_token": signed_in, "mapping": "[wave\nname = ", "wave": "Autumn"},
    )
    assert bad.status_code == 422 and "not valid TOML" in bad.text
    good = client.post(
        sent.headers["location"],
        data={"csrf_token": signed_in, "mapping": mapping, "wave": "Autumn from the browser"},
        follow_redirects=False,
    )
    job = _job(client, job_worker, good)
    assert job["result"]["files"][0]["stored"] == 3
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 3


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "payload", "says"),
    [
        ("evil.zip", _zip({"../../etc/cron.d/evil.csv": b"x"}), "a name outside its own folder"),
        ("abs.zip", _zip({"/etc/passwd.csv": b"x"}), "a name outside its own folder"),
        ("bomb.zip", _zip({"street.csv": b"0" * 20_000_000}), "refused as a zip bomb"),
        ("nested.zip", _zip({"inner.zip": _zip({"a.csv": b"x"})}), "holds another archive"),
        ("not-a-zip.zip", b"PK but not really", "is not a zip file"),
        ("notes.exe", b"MZ", "is not a file this import reads"),
    ],
)
def test_hostile_uploads_are_refused_with_a_clear_message(  # type: ignore[no-untyped-def]
    client, engine, settings, signed_in, name, payload, says
) -> None:
    refused = client.post(
        "/staff/imports",
        data={"csrf_token": signed_in, "kind": "crime"},
        files={"files": (name, payload, "application/octet-stream")},
    )
    assert refused.status_code == 422 and says in refused.text, refused.text[:2000]
    assert "Traceback" not in refused.text
    folder = uploads.uploads_dir(settings)
    assert not folder.exists() or not any(folder.iterdir())  # nothing kept of a refused upload


def test_a_path_in_a_name_is_dropped_and_size_is_limited(  # type: ignore[no-untyped-def]
    client, settings, signed_in, monkeypatch
) -> None:
    saved = uploads.save_upload(
        settings=settings,
        kind="crime",
        files=[("../../../../tmp/x/street.csv", io.BytesIO(b"a,b\n"))],
    )
    (path,) = saved.files
    assert path.name == "street.csv" and path.parent == uploads.uploads_dir(settings) / saved.token
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    refused = client.post(
        "/staff/imports",
        data={"csrf_token": signed_in, "kind": "crime"},
        files={"files": ("big.csv", b"x" * 5000, "text/csv")},
    )
    assert refused.status_code == 422 and "big.csv is larger than" in refused.text


def test_only_analysts_and_supervisors_import(client, engine, signed_in) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"username": "ward_officer", "password": "long enough pw", "csrf_token": token},
    )
    assert client.get("/staff/imports").status_code == 403
    refused = client.post(
        "/staff/imports",
        data={"csrf_token": token, "kind": "crime"},
        files={"files": ("a.csv", b"x", "text/csv")},
    )
    assert refused.status_code == 403
