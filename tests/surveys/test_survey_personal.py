"""Nothing that identifies a respondent is stored: each tool's export, suggested and imported."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from statsmodels.stats.proportion import proportion_confint
from tests.surveys.survey_files import (
    EMAILS,
    IPS,
    PEOPLE,
    PLANTED,
    Q_AGE,
    Q_CONCERNS,
    Q_CONTACT,
    Q_DARK,
    Q_TEXT,
    SCALE,
    google_forms_pii_grid,
    msforms_pii_grid,
    qualtrics_pii_grid,
    smartsurvey_pii_grid,
    surveymonkey_pii_grid,
    tool_mapping,
    write_mapping,
    write_messy_csv,
    write_xlsx,
)
from typer.testing import CliRunner

from saferstreets.assessment import service as analysis
from saferstreets.cli import app
from saferstreets.config import Settings
from saferstreets.db import Base, session_scope
from saferstreets.errors import InputFileError
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.reports.redact import redact_personal_details
from saferstreets.surveys.mapping import mapping_from_dict
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.personal import personal_by_content
from saferstreets.surveys.scrub import scrub_store
from saferstreets.surveys.service import import_survey, suggest_mapping


def planted_in_store(engine: sa.Engine) -> list[str]:
    """Every planted value found in any column of any table, as 'table.column: value'."""
    found = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    found += [f"{table.name}.{column}: {p}" for p in PLANTED if p in text]
    return found


def _monkey(tmp: Path) -> Path:
    return write_messy_csv(tmp / "monkey.csv", surveymonkey_pii_grid(), bom=True)


def _forms(tmp: Path) -> Path:
    return write_xlsx(tmp / "forms.xlsx", {"Form1": msforms_pii_grid()})


def _qualtrics(tmp: Path) -> Path:
    return write_messy_csv(tmp / "qualtrics.csv", qualtrics_pii_grid(), bom=True)


def _qualtrics_numeric(tmp: Path) -> Path:
    return write_messy_csv(tmp / "qualtrics_n.csv", qualtrics_pii_grid(numeric=True), bom=True)


def _smart(tmp: Path) -> Path:
    return write_messy_csv(tmp / "smart.csv", smartsurvey_pii_grid())


def _google(tmp: Path) -> Path:
    return write_messy_csv(tmp / "google.csv", google_forms_pii_grid())


QUALTRICS_DROPS = [
    "IP Address",
    "Recipient Last Name",
    "Recipient First Name",
    "Recipient Email",
    "External Data Reference",
    "Location Latitude",
    "Location Longitude",
    Q_CONTACT,
]
# (export, tool named, columns dropped, respondent, date, rows stored, whole rows quarantined)
TOOLS: dict[str, tuple[Callable[[Path], Path], str, list[str], str | None, str, int, int]] = {
    "surveymonkey": (
        _monkey,
        "SurveyMonkey",
        ["IP Address", "Email Address", "First Name", "Last Name", "Custom Data 1", Q_CONTACT],
        "Respondent ID",
        "End Date",
        3,
        1,  # the row cut short
    ),
    "msforms": (
        _forms,
        "Microsoft Forms",
        ["Email", "Name", Q_CONTACT],
        "ID",
        "Completion time",
        3,
        0,
    ),
    "qualtrics": (
        _qualtrics,
        "Qualtrics (choice text)",
        QUALTRICS_DROPS,
        "Response ID",
        "End Date",
        3,
        0,
    ),
    "qualtrics-numeric": (
        _qualtrics_numeric,
        "Qualtrics (numeric values)",
        QUALTRICS_DROPS,
        "Response ID",
        "End Date",
        3,
        0,
    ),
    "smartsurvey": (
        _smart,
        "SmartSurvey",
        [
            "Name",
            "Email",
            "IP Address",
            "Unique ID",
            "Tracking Link",
            "Custom Variables",
            Q_CONTACT,
        ],
        "UserNo",
        "Ended",
        3,
        0,
    ),
    "google-forms": (
        _google,
        "Google Forms",
        ["Email Address", Q_CONTACT],
        None,
        "Timestamp",
        3,
        0,
    ),
}


@pytest.mark.parametrize("tool", list(TOOLS))
def test_each_tools_export_is_stored_without_who_answered(
    engine: sa.Engine, tmp_path: Path, tool: str
) -> None:
    write, name, drops, respondent, date, stored, whole_rows = TOOLS[tool]
    path = write(tmp_path)

    suggestion = suggest_mapping(path)
    data = tomllib.loads(suggestion)
    assert data["wave"]["source"] == name
    assert data["drop"]["columns"] == drops
    not_mapped = suggestion.split("# Columns not mapped", 1)[-1]
    assert not any(f"#   {d} (" in not_mapped for d in drops)

    mapping = write_mapping(tmp_path, tool_mapping(respondent=respondent, date=date))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert (summary.rows_stored, summary.rows_quarantined) == (stored, whole_rows), summary.problems
    assert f"recognised as {name}" in (summary.message or "")
    assert "personal columns dropped, values not stored: " in (summary.message or "")
    assert all(IPS[0] not in str(p) for p in summary.problems)

    with sa.orm.Session(engine) as session:
        rows = list(session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)))
        quarantine = list(session.scalars(sa.select(QuarantinedRow)))
        run = session.scalars(sa.select(ImportRun)).one()
    assert not set(drops) & {k for r in rows for k in r.raw}
    assert quarantine and all(q.raw and not set(drops) & set(q.raw) for q in quarantine)
    assert rows[0].free_text.endswith("My name is [name removed]")
    assert rows[1].free_text == "Text me on [phone number removed] about the underpass"
    assert rows[1].raw[Q_TEXT] == rows[1].free_text
    assert rows[2].free_text == "The café by the bus stop is fine"  # the cp1252 line, read right
    assert sorted(run.details["dropped_columns"]) == sorted(drops)  # JSONB sorts keys
    assert run.details["tool"] == name and run.details["answers_scrubbed"] >= 2
    assert planted_in_store(engine) == []


# What each export's rows say, counted by hand from survey_files: the concerns each of the three
# respondents ticked (only SurveyMonkey's and Forms' exports ask), and who felt very or fairly
# unsafe in a quiet street after dark.
TICKED = {
    "surveymonkey": [["poor_lighting", "no_cctv"], ["no_cctv"], ["no_cctv"]],
    "msforms": [["no_cctv"], ["no_cctv"], ["no_cctv"]],
}
DARK_UNSAFE = sum(1 for person in PEOPLE if person[3] in ("Very unsafe", "Fairly unsafe"))


@pytest.mark.parametrize("tool", list(TOOLS))
def test_each_tools_suggestion_imports_and_assess_draws_what_the_rows_say(
    engine: sa.Engine, settings: Any, tmp_path: Path, tool: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The suggested mapping as the analyst gets it, its checks answered; then the findings.
    Whatever is logged meanwhile, at any level, holds nothing personal."""
    caplog.set_level(logging.DEBUG)
    write, name, drops, respondent, date, _stored, _rows = TOOLS[tool]
    path = write(tmp_path)
    text = suggest_mapping(path)
    data = tomllib.loads(text)
    assert data["wave"]["source"] == name
    assert data["columns"] == {"date": date, "age_band": Q_AGE, "free_text": Q_TEXT} | (
        {"respondent": respondent} if respondent else {}
    )
    assert [(q["key"], q["column"], q["scale"]) for q in data["likert"]] == [
        ("after_dark.quiet_street", Q_DARK, SCALE)
    ]
    assert [m["options"] for m in data.get("multi_select", [])] == (
        [
            {"Poor street lighting": "poor_lighting", "Groups of men shouting": "groups_of_men"}
            | {"No CCTV": "no_cctv", "Other (please specify)": "other"}
        ]
        if tool == "surveymonkey"
        else [{"No CCTV": "no_cctv"}]
        if tool == "msforms"
        else []
    )
    numeric = tool == "qualtrics-numeric"
    # the age answer that is not an age (coded 9 in the numeric export) is not passed through
    unread = '"9" = "?"' if numeric else '"not an age" = "?"'
    assert re.search(rf"^{re.escape(unread)}  # check: \S", text, re.MULTILINE), text
    assert set(data.get("recode", {})) == ({Q_DARK} if numeric else set())

    # The analyst answers the checks: the age codes' bands; the unreadable age left to quarantine.
    text = "\n".join(line for line in text.splitlines() if not line.startswith(unread))
    text = text.replace('"2" = "?"', '"2" = "16-24"').replace('"3" = "?"', '"3" = "25-34"')
    summary = import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    assert summary.rows_stored == 3, summary.problems
    assert [p.field for p in summary.problems if p.field == Q_AGE] == [Q_AGE]
    with sa.orm.Session(engine) as session:
        rows = list(session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)))
    assert [r.age_band for r in rows] == ["16-24", "25-34", None]
    assert [r.feel_safe["after_dark.quiet_street"] for r in rows] == [p[3] for p in PEOPLE]
    assert [r.concerns or [] for r in rows] == TICKED.get(tool, [[], [], []])
    assert planted_in_store(engine) == []
    with sa.orm.Session(engine) as session:
        run = session.scalars(sa.select(ImportRun)).one()
    # listed under the suggestion's [drop], each still reported with the reason it was found
    assert {label: d["why"] for label, d in run.details["dropped_columns"].items()} == {
        d: "a survey tool's personal column" for d in drops if d != Q_CONTACT
    } | {Q_CONTACT: "mostly email addresses, phone numbers"}

    with session_scope(engine) as session:
        store = analysis.load(session=session)
    feel = analysis.assess_feel_safe(store, settings)
    [question] = feel.result["questions"]
    lower, upper = proportion_confint(DARK_UNSAFE, len(PEOPLE), method="wilson")
    assert (question["key"], question["n"]) == ("after_dark.quiet_street", len(PEOPLE))
    assert question["unsafe"]["count"] == DARK_UNSAFE == 1
    assert question["unsafe"]["lower"] == pytest.approx(lower, rel=1e-9)
    assert question["unsafe"]["upper"] == pytest.approx(upper, rel=1e-9)
    assert feel.result["not_understood"] == []
    assert feel.summary.startswith(f"After dark, {round(100 * DARK_UNSAFE / len(PEOPLE))}% ")
    if tool in TICKED:
        ranked = {
            r["code"]: (r["count"], r["n"])
            for r in analysis.assess_concerns(store, settings).result["ranked"]
        }
        hand = {c: sum(c in t for t in TICKED[tool]) for t in TICKED[tool] for c in t}
        assert ranked == {c: (n, len(PEOPLE)) for c, n in hand.items()}
    assert not [p for p in PLANTED if p in caplog.text]


def test_a_personal_column_the_mapping_uses_is_kept_with_a_warning(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = _smart(tmp_path)
    text = tool_mapping(respondent="UserNo", date="Ended").replace(
        f'free_text = "{Q_TEXT}"', f'free_text = ["{Q_TEXT}", "{Q_CONTACT}"]'
    )
    summary = import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    assert (
        f"column '{Q_CONTACT}' looks personal (mostly email addresses, phone numbers) but the "
        "mapping uses it, so it was kept"
    ) in (summary.message or "")
    with sa.orm.Session(engine) as session:
        first, second, _ = session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id))
    assert first.raw[Q_CONTACT] == "[email removed]"  # kept, but its contact details are not
    assert second.free_text.endswith("\n\n[phone number removed]")
    assert planted_in_store(engine) == []


def test_the_mapping_can_drop_more_columns(engine: sa.Engine, tmp_path: Path) -> None:
    path = _monkey(tmp_path)
    text = tool_mapping(respondent="Respondent ID", date="End Date")
    text += f'\n[drop]\ncolumns = ["{Q_CONCERNS}", "Not a column"]\n'
    summary = import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    assert "[drop] names 'Not a column', which is not in the file" in (summary.message or "")
    with sa.orm.Session(engine) as session:
        raw = session.scalars(sa.select(SurveyResponse.raw)).first()
    assert raw is not None and not [k for k in raw if k.startswith(Q_CONCERNS)]
    with sa.orm.Session(engine) as session:
        whys = session.scalars(sa.select(ImportRun)).one().details["dropped_columns"]
    assert {whys[k]["why"] for k in whys if k.startswith(Q_CONCERNS)} == {"named under [drop]"}
    assert Q_TEXT in raw and "Collector ID" in raw


def test_a_column_both_mapped_and_dropped_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    text = tool_mapping(respondent="Respondent ID", date="End Date")
    text += f'\n[drop]\ncolumns = ["{Q_AGE}"]\n'
    with pytest.raises(InputFileError) as caught:
        import_survey(engine=engine, path=_monkey(tmp_path), mapping=write_mapping(tmp_path, text))
    assert caught.value.field_errors == {"[drop] columns": f"'{Q_AGE}'"}
    with sa.orm.Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0


def test_drop_must_be_a_list_of_headers() -> None:
    base = {"columns": {"free_text": "x"}}
    with pytest.raises(InputFileError) as caught:
        mapping_from_dict({**base, "drop": {"columns": "IP Address"}})
    assert caught.value.field_errors == {"[drop] columns": "must be a list of header texts"}
    assert mapping_from_dict({**base, "drop": {"columns": ["IP"]}}).drop == ("IP",)


def test_content_tests() -> None:
    assert personal_by_content(["203.0.113.1", "2001:db8::1", "", None]) == "IP addresses"
    assert personal_by_content([EMAILS[0], "none", EMAILS[1]]) == "email addresses"
    assert personal_by_content(["51.75, -0.33", "(52.123;-1.234)"]) == "latitude/longitude pairs"
    assert personal_by_content(["07700 900123", "no thanks", "no"]) is None  # one in three
    assert personal_by_content(["2021-09-03 10:15:00", "114123456789 R"]) is None
    assert personal_by_content(["Very safe", "16-24", "WD17 1AA"]) is None


def test_introduced_names_and_contact_details_are_redacted() -> None:
    text = "my name is Jo Bloggs, call me Sam; email jo@example.com or ring 07700 900123"
    assert redact_personal_details(text) == (
        "my name is [name removed], call me [name removed]; email [email removed] or ring "
        "[phone number removed]"
    )
    assert redact_personal_details("Please call me back") == "Please call me back"


def _old_store(engine: sa.Engine) -> None:
    """Rows as imports before this change stored them: every column, contact details and all."""
    raw = {
        "Respondent ID": "114123456789",
        "Start Date": "2021-09-03 10:15:00",
        "IP Address": IPS[0],
        "Email Address": EMAILS[0],
        "First Name": "Josephine",
        Q_CONTACT: EMAILS[1],
        Q_TEXT: "ring 07700 900123",
        Q_AGE: "16-24",
    }
    mapping = {"columns": {"respondent": ["Respondent ID"], "free_text": [Q_TEXT]}}
    with session_scope(engine) as session:
        wave = SurveyWave(name="Old", mapping=mapping)
        session.add(wave)
        session.flush()
        run = ImportRun(kind="survey", source="old.csv", status="ok", details={"wave_id": wave.id})
        session.add(run)
        session.flush()
        session.add(SurveyResponse(wave_id=wave.id, raw=raw, free_text="ring 07700 900123 (Jo)"))
        session.add(
            SurveyResponse(wave_id=wave.id, raw={**raw, Q_CONTACT: "", "IP Address": IPS[1]})
        )
        session.add(
            QuarantinedRow(
                kind="survey",
                source="old.csv",
                import_run_id=run.id,
                reason=f"'{EMAILS[2]}' is not a UK postcode",
                raw=raw,
            )
        )
        session.add(QuarantinedRow(kind="crime", source="c.csv", reason="bad", raw={"x": IPS[2]}))


def test_scrub_cleans_rows_already_stored(engine: sa.Engine) -> None:
    _old_store(engine)
    with session_scope(engine) as session:
        summary = scrub_store(session=session)
    assert (summary.responses_changed, summary.quarantined_changed) == (2, 1)
    assert summary.dropped_columns == {
        "IP Address": 3,
        "Email Address": 3,
        "First Name": 3,
        Q_CONTACT: 2,
    }
    assert summary.answers_scrubbed == 3  # the typed phone number in each raw row
    with sa.orm.Session(engine) as session:
        first = session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)).first()
        crime = session.scalars(
            sa.select(QuarantinedRow).where(QuarantinedRow.kind == "crime")
        ).one()
    assert first is not None and first.raw == {
        "Respondent ID": "114123456789",  # a tool's own ID: not a phone number
        "Start Date": "2021-09-03 10:15:00",
        Q_TEXT: "ring [phone number removed]",
        Q_AGE: "16-24",
    }
    assert first.free_text == "ring [phone number removed] (Jo)"  # only introduced names
    assert crime.raw == {"x": IPS[2]}  # not a survey row: left alone
    assert planted_in_store(engine) == [f"quarantined_row.raw: {IPS[2]}"]
    with session_scope(engine) as session:
        again = scrub_store(session=session)
    assert (again.responses_changed, again.quarantined_changed, again.dropped_columns) == (0, 0, {})


def test_cli_scrub_and_status_say_what_was_dropped(app_env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    path = _monkey(tmp_path)
    mapping = write_mapping(tmp_path, tool_mapping(respondent="Respondent ID", date="End Date"))
    result = runner.invoke(app, ["import", "survey", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    assert "personal columns dropped, values not stored: IP Address (4), Email Address (2)" in (
        " ".join(result.output.split())
    )
    # Square brackets in messages are printed, not read as console markup.
    assert "'not an age' is not in the mapping's [age_bands]" in " ".join(result.output.split())
    status = json.loads(runner.invoke(app, ["status", "--json"]).output)
    survey = status["last_imports"]["survey"]
    # one whole row (cut short) and one answer (the bad age): both in the quarantine
    assert survey["rows_quarantined"] == 2
    assert survey["dropped_columns"]["IP Address"] == {
        "values": 4,
        "why": "a survey tool's personal column",
    }
    assert not any(ip in json.dumps(status) for ip in IPS)
    result = runner.invoke(app, ["surveys", "scrub"])
    assert result.exit_code == 0, result.output
    assert "0 stored responses and 0 quarantined rows changed" in result.output


def test_non_answers_are_not_free_text(engine: sa.Engine, tmp_path: Path) -> None:
    grid = google_forms_pii_grid()
    grid[1][4], grid[2][4] = "N/A", "No."
    grid[3][4] = "No lighting on the path"
    path = write_messy_csv(tmp_path / "google.csv", grid)
    mapping = write_mapping(tmp_path, tool_mapping(respondent=None, date="Timestamp"))
    assert import_survey(engine=engine, path=path, mapping=mapping).rows_stored == 3
    with sa.orm.Session(engine) as session:
        rows = list(session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)))
    assert [r.free_text for r in rows] == [None, None, "No lighting on the path"]
    assert [r.raw[Q_TEXT] for r in rows[:2]] == ["N/A", "No."]  # kept as answered in the raw row


def test_a_contact_block_and_a_quoted_answer_leave_nothing_behind(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """SurveyMonkey's Contact Information block is dropped by its sub-columns; an email typed
    where a postcode was asked is quarantined without the reason quoting it."""
    grid = surveymonkey_pii_grid()[:5]
    grid[0] += ["Your contact details (optional)", None, None, None]
    grid[1] += ["Name", "Address", "Email Address", "Phone Number"]
    grid[2] += ["Josephine Bloggsworth", "1 Marchbanks Row", EMAILS[0], "07700 900123"]
    grid[3] += ["", "", "", ""]
    grid[4] += ["", "", "", ""]
    path = write_messy_csv(tmp_path / "contact.csv", grid)
    data = tomllib.loads(suggest_mapping(path))
    assert [d for d in data["drop"]["columns"] if d.startswith("Your contact")] == [
        "Your contact details (optional) / Name",
        "Your contact details (optional) / Address",
        "Your contact details (optional) / Email Address",
        "Your contact details (optional) / Phone Number",
    ]
    text = tool_mapping(respondent="Respondent ID", date="End Date").replace(
        "[age_bands]", f'postcode = "{Q_CONTACT}"\n\n[age_bands]'
    )
    summary = import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    reasons = [p.reason for p in summary.problems if p.field == Q_CONTACT]
    assert len(reasons) == 2 and "[email removed]" in reasons[0]
    assert reasons[1] == "'[phone number removed]' is not a UK postcode"
    assert planted_in_store(engine) == []


def test_an_unknown_tool_still_loses_its_personal_columns(tmp_path: Path) -> None:
    grid: list[list[Any]] = [["Submitted", "Your e-mail", "Phone", "Where?", Q_TEXT]]
    grid += [["2021-09-03", EMAILS[0], "07700 900123", "Park", "Lighting"]]
    grid += [["2021-09-04", "", "", "Street", "More patrols"]]
    data = tomllib.loads(suggest_mapping(write_messy_csv(tmp_path / "other.csv", grid)))
    assert "source" not in data["wave"]  # not recognised, and not guessed
    assert data["drop"]["columns"] == ["Your e-mail", "Phone"]
