"""The survey mapping as a form in the browser: one control per part of the suggestion, each
pre-filled, each guess marked with its reason; the analyst corrects a field, submits, and the real
background worker imports with the correction. And what a hostile sender tries."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.ingest.test_uploads_web import _job
from tests.surveys.survey_files import (
    OPTIONS,
    PLANTED,
    Q_AGE,
    Q_CONCERNS,
    qualtrics_numeric_grid,
    surveymonkey_pii_grid,
    write_csv,
    write_messy_csv,
)
from tests.surveys.test_survey_options import smartsurvey_options_grid
from tests.surveys.test_survey_personal import TOOLS, planted_in_store

from saferstreets.accounts.service import create_user
from saferstreets.db import session_scope
from saferstreets.jobs.models import Job
from saferstreets.surveys.models import SurveyResponse


@pytest.fixture
def signed_in(client, engine):  # type: ignore[no-untyped-def]
    """An analyst signed in; the page's CSRF token."""
    with session_scope(engine) as session:
        create_user(session=session, username="analyst", password="long enough pw", role="analyst")
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "analyst", "password": "long enough pw", "csrf_token": token}
    )
    return client.get("/staff/imports").text.split('name="csrf_token" value="')[1].split('"')[0]


class _Form(HTMLParser):
    """What a browser would send for the page's form as it stands: name -> values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self.select: str | None = None
        self.first: str | None = None
        self.chosen = False
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self.select, self.first, self.chosen = a["name"], None, False
        elif tag == "option" and self.select:
            if self.first is None:
                self.first = a.get("value", "")
            if "selected" in a:
                self.fields.setdefault(self.select, []).append(a.get("value", ""))
                self.chosen = True
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields[a["name"]] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select:
            if not self.chosen:
                self.fields.setdefault(self.select, []).append(self.first or "")
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea][0] += data.removeprefix("\n")


def _fields(page: str) -> dict[str, list[str]]:
    parser = _Form()
    parser.feed(page)
    return parser.fields


def _upload(client: Any, token: str, path: Path) -> str:
    sent = client.post(
        "/staff/imports",
        data={"csrf_token": token, "kind": "survey"},
        files={"files": (path.name, path.read_bytes(), "text/csv")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    return str(sent.headers["location"])


def _check_marked(page: str, field: str, reason: str, *, control: bool = True) -> None:
    """The control is marked 'Check this' with the suggestion's reason, and points to it
    (``control=False``: a whole table's check, shown at its head)."""
    marked = page.split(f'id="c-{field}">', 1)
    assert len(marked) == 2, f"{field} is not marked"
    assert "Check this" in marked[1][:80] and reason in marked[1][:400]
    assert not control or f'aria-describedby="c-{field}' in page


def _responses(engine: Any) -> list[SurveyResponse]:
    with session_scope(engine) as session:
        rows = list(session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)))
        session.expunge_all()
    return rows


def test_surveymonkey_form_is_prefilled_and_an_option_code_corrected(  # type: ignore[no-untyped-def]
    client, engine, signed_in, job_worker, tmp_path
) -> None:
    url = _upload(client, signed_in, write_csv(tmp_path / "monkey.csv", surveymonkey_pii_grid()))
    page = client.get(url).text
    fields = _fields(page)
    assert fields["col_respondent"] == ["Respondent ID"]
    assert fields["col_date"] == ["End Date"]
    assert fields["col_age_band"] == [Q_AGE]
    assert fields["multi_0_question"] == [Q_CONCERNS]
    labels = [fields[f"multi_0_opt_{j}_label"][0] for j in range(4)]
    assert labels == OPTIONS
    codes = [fields[f"multi_0_opt_{j}_code"][0] for j in range(4)]
    assert codes == ["poor_lighting", "groups_of_men", "no_cctv", "other"]
    _check_marked(page, "multi_0_opt_1_code", "also reads as verbal_harassment")
    _check_marked(page, "wave_name", "the wave&#39;s name")
    assert 'id="c-multi_0_opt_0_code"' not in page  # a sure match is not marked
    assert set(fields["drop"]) >= {"IP Address", "Email Address", "First Name", "Last Name"}

    assert fields["age_2_answer"] == ["not an age"] and fields["age_2_band"] == ["?"]
    _check_marked(page, "age_2_band", "not read as an age")

    fields["age_2_band"] = ["18+"]  # the analyst says what that answer means
    fields["multi_0_opt_2_code"] = ["isolated"]  # the correction: "No CCTV" read as isolated
    fields["wave_name"] = ["Monkey autumn"]
    job = _job(client, job_worker, client.post(url, data=fields, follow_redirects=False))
    assert job["result"]["files"][0]["stored"] == 3
    rows = _responses(engine)
    assert len(rows) == 3
    assert all("isolated" in r.concerns and "no_cctv" not in r.concerns for r in rows)
    assert "poor_lighting" in rows[0].concerns  # the untouched option kept its code
    assert not any("192.0.2" in str(r.raw) for r in rows)


def test_qualtrics_numeric_form_shows_errors_by_field_then_imports_the_correction(  # type: ignore[no-untyped-def]
    client, engine, signed_in, job_worker, tmp_path
) -> None:
    grid = qualtrics_numeric_grid(12)
    url = _upload(client, signed_in, write_csv(tmp_path / "qualtrics.csv", grid))
    page = client.get(url).text
    fields = _fields(page)
    assert fields["likert_0_key"] == ["after_dark.home_area"]
    assert fields["file_header_rows"] == ["3"]
    assert [fields[f"age_{n}_band"][0] for n in range(3)] == ["?", "?", "?"]
    _check_marked(page, "age_0_band", "the age band of code 1")
    _check_marked(page, "recode_0_header", "codes, not labels", control=False)
    _check_marked(page, "recode_0_5_label", "prefer not to say")
    assert fields["recode_0_5_code"] == ["6"] and fields["recode_0_5_label"] == [""]

    refused = client.post(url, data=fields)  # the '?' bands are refused, next to their fields
    assert refused.status_code == 422
    assert 'id="e-age_0_band"' in refused.text and "placeholder" in refused.text
    assert 'href="#age_0_band"' in refused.text
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    again = _fields(refused.text)  # what was typed is kept
    assert again["likert_0_key"] == ["after_dark.home_area"]

    for n, band in enumerate(["16-24", "25-34", "35-44"]):
        fields[f"age_{n}_band"] = [band]
    fields["likert_0_key"] = ["after_dark.quiet_street"]  # the correction
    job = _job(client, job_worker, client.post(url, data=fields, follow_redirects=False))
    assert job["result"]["files"][0]["stored"] == 12
    rows = sorted(_responses(engine), key=lambda r: r.respondent_ref or "")
    assert [r.age_band for r in rows] == [["16-24", "25-34", "35-44"][i % 3] for i in range(12)]
    for i, row in enumerate(rows):
        assert "after_dark.home_area" not in row.feel_safe
        local = 1 + i % 6  # code 6 is "prefer not to say": a missing answer
        assert ("after_dark.quiet_street" in row.feel_safe) == (local != 6)


def test_smartsurvey_form_corrects_a_column_and_an_option(  # type: ignore[no-untyped-def]
    client, engine, signed_in, job_worker, tmp_path
) -> None:
    path = write_messy_csv(tmp_path / "smart.csv", smartsurvey_options_grid(":"))
    url = _upload(client, signed_in, path)
    page = client.get(url).text
    fields = _fields(page)
    assert fields["col_respondent"] == ["UserNo"] and fields["col_age_band"] == [Q_AGE]
    assert fields["multi_0_key"] == ["concerns"]
    assert fields["multi_0_opt_1_label"] == [OPTIONS[1]]
    _check_marked(page, "multi_0_opt_1_code", "also reads as verbal_harassment")

    fields["multi_0_opt_1_code"] = ["verbal_harassment"]
    fields["col_age_band"] = [""]  # the analyst says: do not read the age
    job = _job(client, job_worker, client.post(url, data=fields, follow_redirects=False))
    assert job["result"]["files"][0]["stored"] == 12
    rows = sorted(_responses(engine), key=lambda r: int(r.respondent_ref or 0))
    for i, row in enumerate(rows):
        assert row.age_band is None
        assert ("verbal_harassment" in row.concerns) == ((i + 1) % 3 == 0)
        assert "groups_of_men" not in row.concerns


def test_hostile_mapping_forms_are_refused_and_headings_escaped(  # type: ignore[no-untyped-def]
    client, engine, signed_in, tmp_path
) -> None:
    grid = smartsurvey_options_grid(":")
    grid[0][8] = '<script>alert("age")</script> What is your age?'
    url = _upload(client, signed_in, write_messy_csv(tmp_path / "smart.csv", grid))
    page = client.get(url)
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    fields = _fields(page.text)

    forged = {**fields, "csrf_token": ["not the token"]}
    assert client.post(url, data=forged).status_code == 403

    unknown = {**fields, "col_area": ["No such column"], "multi_0_opt_0_code": ["<b>x</b>"]}
    refused = client.post(url, data=unknown)
    assert refused.status_code == 422
    assert "is not a column of this export" in refused.text.split('id="e-col_area"')[1][:200]
    assert "&lt;b&gt;x&lt;/b&gt;" in refused.text and "<b>x</b>" not in refused.text
    assert "Traceback" not in refused.text
    bad_progress = client.post(url, data={**fields, "min_progress": ["150"]})
    assert bad_progress.status_code == 422 and 'id="e-min_progress"' in bad_progress.text
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_an_edited_toml_text_takes_precedence_over_the_form(  # type: ignore[no-untyped-def]
    client, engine, signed_in, job_worker, tmp_path
) -> None:
    url = _upload(
        client, signed_in, write_messy_csv(tmp_path / "smart.csv", smartsurvey_options_grid(":"))
    )
    fields = _fields(client.get(url).text)
    edited = fields["mapping"][0].replace('= "poor_lighting"', '= "overgrown"')
    assert edited != fields["mapping"][0]
    fields["mapping"] = [edited]
    fields["multi_0_opt_0_code"] = ["no_cctv"]  # ignored: the TOML text was edited
    job = _job(client, job_worker, client.post(url, data=fields, follow_redirects=False))
    assert job["result"]["files"][0]["stored"] == 12
    rows = _responses(engine)
    assert all("overgrown" in r.concerns for r in rows)  # everyone ticked the first option
    assert not any("poor_lighting" in r.concerns for r in rows)
    assert not all("no_cctv" in r.concerns for r in rows)  # the form's change was not used


def _files_holding(folder: Path, planted: tuple[str, ...]) -> list[str]:
    """Each file under ``folder`` whose bytes hold a planted value (as UTF-8 or cp1252)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [
                f"{path.relative_to(folder)}: {p}"
                for p in planted
                if p.encode("utf-8") in data or p.encode("cp1252") in data
            ]
    return found


@pytest.mark.parametrize("tool", list(TOOLS))
def test_each_tools_export_through_the_browser_leaves_no_one_identifiable(  # type: ignore[no-untyped-def]
    client, engine, settings, signed_in, job_worker, tmp_path, tool
) -> None:
    """Upload, the form as suggested (its '?' answered), the real job queue: then no planted
    IP, email, name, phone or location in any table (responses, quarantine, import runs, jobs
    and their files, audit) nor in any file the app keeps (the upload is removed once imported)."""
    write, name, drops, *_ = TOOLS[tool]
    url = _upload(client, signed_in, write(tmp_path))
    fields = _fields(client.get(url).text)
    assert set(fields["drop"]) == set(drops)
    fields.update({k: ["18+"] for k, v in fields.items() if k.startswith("age_") and v == ["?"]})
    fields["wave_name"] = [f"{name} autumn"]
    job = _job(client, job_worker, client.post(url, data=fields, follow_redirects=False))
    assert job["result"]["files"][0]["stored"] == 3, job
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
    assert planted_in_store(engine) == []
    assert not (settings.data_dir / "uploads" / url.split("/")[-2]).exists()
    assert _files_holding(settings.data_dir, PLANTED) == []
    assert client.get(url).status_code == 404  # the form of an export no longer held
