"""police.uk import: every kind of input the issue names, on SQLite and PostgreSQL.

Each test of bad input asserts what the user is told (file, row, field, reason) and what the
store then holds (good rows in, bad rows in quarantine).
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from tests.crime.policeuk_files import (
    crime_id,
    no_location_row,
    outcome_row,
    search_row,
    street_row,
    write_outcomes,
    write_searches,
    write_street,
)

from saferstreets.config import Settings
from saferstreets.crime import service
from saferstreets.crime.models import Crime, Outcome, StopSearch
from saferstreets.crime.service import (
    counted,
    crime_history,
    import_crime,
    outcomes_by_crime_type,
)
from saferstreets.db import session_scope
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.ingest.service import ImportSummary


def count(engine: sa.Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def quarantined(engine: sa.Engine) -> list[QuarantinedRow]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(QuarantinedRow).order_by(QuarantinedRow.id)))


def only(summaries: list, source_part: str = ""):  # type: ignore[no-untyped-def]
    files = [s for s in summaries if s.kind.startswith("crime_") or s.status == "failed"]
    files = [s for s in files if source_part in s.source.replace("\\", "/").rsplit("/", 1)[-1]]
    assert len(files) == 1, [s.line() for s in summaries]
    return files[0]


# --------------------------------------------------------------------------- good files


def test_street_file_keeps_asb_and_no_location_rows(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        street_row(1),
        street_row(2),
        street_row(None),
        street_row(None),
        no_location_row(3),
        no_location_row(None),
    ]
    path = write_street(tmp_path / "2021-01-hertfordshire-street.csv", rows)
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (6, 6, 0)
    assert summary.details == {"no_location": 2, "no_crime_id": 3}
    assert "2 without location" in summary.message and "3 without Crime ID" in summary.message
    with session_scope(engine) as session:
        held = session.scalars(sa.select(Crime)).all()
        assert sum(c.crime_id is None for c in held) == 3  # the two identical ASB rows both kept
        assert sum(c.latitude is None for c in held) == 2
        assert {c.location for c in held if c.latitude is None} == {"No Location"}
        first = session.scalar(sa.select(Crime).where(Crime.crime_id == crime_id(1)))
        assert first.month.isoformat() == "2021-01-01"
        assert (first.latitude, first.longitude, first.source_lsoa_code) == (
            51.75,
            -0.339,
            "E01023700",
        )
        assert first.row_key == bytes.fromhex(crime_id(1)[:32])  # its first 128 bits
        assert len({c.row_key for c in held}) == 6
        run = session.get(ImportRun, summary.run_id)
        assert (run.status, run.rows_stored, run.kind) == ("ok", 6, "crime_street")


def test_same_file_again_changes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [street_row(1), street_row(None), street_row(None), ["bad", *street_row(2)[1:]]]
    rows[3][1] = "2021-13"
    path = write_street(tmp_path / "2021-01-x-street.csv", rows)
    first = only(import_crime(engine=engine, paths=[path]))
    assert (first.rows_stored, first.rows_quarantined) == (3, 1)
    again = only(import_crime(engine=engine, paths=[path]))
    assert again.status == "skipped" and "nothing read again" in again.message
    assert again.rows_stored == 0
    recheck = only(import_crime(engine=engine, paths=[path], recheck=True))
    assert (recheck.rows_read, recheck.rows_stored, recheck.rows_duplicate) == (4, 0, 3)
    assert count(engine, Crime) == 3
    assert len(quarantined(engine)) == 1  # reading the file again does not double the quarantine


def test_overlapping_download_stores_only_new_rows(engine: sa.Engine, tmp_path: Path) -> None:
    a = write_street(
        tmp_path / "a" / "2021-01-x-street.csv",
        [street_row(1), street_row(2), street_row(None), street_row(None)],
    )
    b = write_street(
        tmp_path / "b" / "2021-01-x-street.csv",
        [
            street_row(1),
            street_row(2),
            street_row(None),
            street_row(None),
            street_row(3),
            street_row(None, location="On or near Park"),
        ],
    )
    only(import_crime(engine=engine, paths=[a]))
    summary = only(import_crime(engine=engine, paths=[b]))
    assert (summary.rows_read, summary.rows_stored, summary.rows_duplicate) == (6, 2, 4)
    assert "4 already held" in summary.line()
    assert count(engine, Crime) == 6


def test_outcomes_join_to_their_crimes(engine: sa.Engine, tmp_path: Path) -> None:
    street = write_street(
        tmp_path / "2021-01-x-street.csv",
        [street_row(1), street_row(2, crime_type="Robbery"), street_row(None)],
    )
    outcomes = write_outcomes(
        tmp_path / "2021-03-x-outcomes.csv",
        [
            outcome_row(1, month="2021-03", outcome="Suspect charged"),
            outcome_row(1, month="2021-02", outcome="Unable to prosecute suspect"),
            outcome_row(2, month="2021-03", outcome="Suspect charged"),
            outcome_row(2, month="2021-03", outcome="Suspect charged"),  # two suspects: both kept
            outcome_row(99, month="2021-03"),  # a crime recorded before the first month imported
        ],
    )
    summaries = import_crime(engine=engine, paths=[street, outcomes])
    assert only(summaries, "outcomes").rows_stored == 5
    assert count(engine, Outcome) == 5
    with session_scope(engine) as session:
        history = crime_history(session=session, crime_id=crime_id(1))
        assert [(e.event, e.month.isoformat(), e.description) for e in history] == [
            ("recorded", "2021-01-01", "Violence and sexual offences"),
            ("outcome", "2021-02-01", "Unable to prosecute suspect"),
            ("outcome", "2021-03-01", "Suspect charged"),
        ]
        assert [e.group for e in history] == [None, "unable_to_prosecute", "charged"]
        counts = {
            (c.crime_type, c.outcome_type): c.count for c in outcomes_by_crime_type(session=session)
        }
        assert counts == {
            ("Violence and sexual offences", "Unable to prosecute suspect"): 1,
            ("Violence and sexual offences", "Suspect charged"): 1,
            ("Robbery", "Suspect charged"): 2,
        }
        robbery = outcomes_by_crime_type(session=session, crime_types=["Robbery"])
        assert [(c.outcome_type, c.group, c.count) for c in robbery] == [
            ("Suspect charged", "charged", 2)
        ]
        assert crime_history(session=session, crime_id="no-such-id") == []


def test_stop_and_search_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_searches(
        tmp_path / "2021-01-hertfordshire-stop-and-search.csv",
        [
            search_row(),
            search_row(),
            search_row(lat="", lon=""),
            search_row(date="03/01/2021 21:15"),
        ],
    )
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (summary.kind, summary.rows_stored, summary.rows_quarantined) == (
        "crime_stop_search",
        3,
        1,
    )
    assert str(summary.problems[0]) == (
        f"{path}, row 5, field 'Date': Date '03/01/2021 21:15' is not a date and time "
        "(YYYY-MM-DDTHH:MM:SS)"
    )
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(StopSearch)).all()
        assert {r.force for r in rows} == {"hertfordshire"}
        assert sum(r.latitude is None for r in rows) == 1


# --------------------------------------------------------------------------- kind from the header


def test_kind_comes_from_the_header_not_the_name(engine: sa.Engine, tmp_path: Path) -> None:
    street = write_street(tmp_path / "export.csv", [street_row(1)])
    misnamed = write_outcomes(tmp_path / "2021-01-x-street.csv", [outcome_row(1)])
    summaries = import_crime(engine=engine, paths=[street, misnamed])
    assert only(summaries, "export.csv").kind == "crime_street"
    assert only(summaries, "x-street.csv").kind == "crime_outcomes"
    assert (count(engine, Crime), count(engine, Outcome)) == (1, 1)


def test_wrong_file_type_is_refused_and_nothing_stored(engine: sa.Engine, tmp_path: Path) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text("Respondent,Q1 How safe do you feel,Q2 Where\n1,Very unsafe,Park\n")
    image = tmp_path / "map.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    summaries = import_crime(engine=engine, paths=[survey, image])
    assert [s.status for s in summaries] == ["failed", "failed"]
    assert summaries[0].message.startswith(
        f"{survey}: is not a police.uk street, outcomes or stop-and-search file "
        "(row 1 has 'Respondent'"
    )
    assert summaries[1].message.startswith(f"{image}: is not a text file")
    assert count(engine, Crime) == 0
    with session_scope(engine) as session:
        runs = session.scalars(sa.select(ImportRun)).all()
        assert [r.status for r in runs] == ["failed", "failed"]


def test_missing_or_renamed_column_names_the_column(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "2021-01-x-street.csv"
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
        "Crime category,Last outcome category,Context"
    )
    path.write_text(header + "\n" + ",".join(street_row(1)) + "\n")
    summary = only(import_crime(engine=engine, paths=[path]))
    assert summary.status == "failed"
    assert (
        "is a police.uk street file but the header lacks column(s) 'Crime type' (row 1)"
        in summary.message
    )
    assert "'Crime category'" in summary.message
    dropped = tmp_path / "2021-01-y-outcomes.csv"
    dropped.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name\n"
    )
    summary = only(import_crime(engine=engine, paths=[dropped]))
    assert summary.status == "failed" and "lacks column(s) 'Outcome type'" in summary.message
    assert count(engine, Crime) == 0 and count(engine, Outcome) == 0


# --------------------------------------------------------------------------- bad rows


def test_bad_months_are_quarantined_with_row_and_field(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        street_row(1),
        street_row(2, month="2021-13"),
        street_row(3, month="01/2021"),
        street_row(4, month=""),
    ]
    path = write_street(tmp_path / "s.csv", rows)
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (4, 1, 3)
    assert [str(p) for p in summary.problems] == [
        f"{path}, row 3, field 'Month': Month '2021-13' is not a month in YYYY-MM form",
        f"{path}, row 4, field 'Month': Month '01/2021' is not a month in YYYY-MM form",
        f"{path}, row 5, field 'Month': Month is empty",
    ]
    held = quarantined(engine)
    assert [(q.row_number, q.field, q.status, q.kind) for q in held] == [
        (3, "Month", "open", "crime_street"),
        (4, "Month", "open", "crime_street"),
        (5, "Month", "open", "crime_street"),
    ]
    assert held[0].raw["Crime ID"] == crime_id(2) and held[0].source == str(path)
    assert count(engine, Crime) == 1


def test_coordinates_outside_the_uk_or_swapped(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        street_row(1),
        street_row(2, lat="40.4168", lon="-3.7038"),  # Madrid
        street_row(3, lat="-0.339", lon="51.75"),  # swapped
        street_row(4, lat="51.75", lon="12.5"),
        street_row(5, lat="north", lon="-0.3"),
        street_row(6, lat="51.75", lon=""),
    ]
    path = write_street(tmp_path / "s.csv", rows)
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (summary.rows_stored, summary.rows_quarantined) == (1, 5)
    assert [str(p) for p in summary.problems] == [
        f"{path}, row 3, field 'Latitude': Latitude 40.4168 is outside the UK (49.8 to 60.9)",
        f"{path}, row 4, field 'Latitude': Latitude -0.339 and Longitude 51.75 look swapped "
        "(UK latitudes are 49.8 to 60.9, longitudes -8.7 to 1.8)",
        f"{path}, row 5, field 'Longitude': Longitude 12.5 is outside the UK (-8.7 to 1.8)",
        f"{path}, row 6, field 'Latitude': Latitude 'north' is not a number",
        f"{path}, row 7, field 'Longitude': Longitude is empty but Latitude is given; "
        "give both or neither",
    ]
    assert [q.field for q in quarantined(engine)] == [
        "Latitude",
        "Latitude",
        "Longitude",
        "Latitude",
        "Longitude",
    ]
    assert count(engine, Crime) == 1


def test_truncated_file_quarantines_the_cut_row(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_street(tmp_path / "2021-01-x-street.csv", [street_row(1), street_row(2)])
    cut = ",".join(street_row(3))[:120]  # cut inside the fourth field, Falls within
    path.write_bytes(path.read_bytes() + cut.encode())
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (3, 2, 1)
    problem = summary.problems[0]
    assert problem.row_number == 4
    assert problem.field == "Longitude"
    assert problem.reason == "the row has 4 of the header's 12 fields (the file is cut short)"
    assert quarantined(engine)[0].raw["_fields"] == 4
    assert count(engine, Crime) == 2


def test_row_with_extra_fields_is_quarantined(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_street(tmp_path / "s.csv", [street_row(1), [*street_row(2), "surplus"]])
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (
        str(summary.problems[0])
        == f"{path}, row 3: the row has 13 fields, more than the header's 12"
    )
    assert count(engine, Crime) == 1


def test_rows_sharing_a_crime_id_are_all_kept_and_flagged(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """police.uk publishes some Crime IDs on two or more rows (another place, another outcome,
    or the same values again): every row is kept and counted, and the shared ID is flagged."""
    moved = street_row(2, location="On or near Other Road")
    rows = [street_row(1), street_row(2), street_row(1), moved, street_row(1), street_row(3)]
    path = write_street(tmp_path / "2021-01-x-street.csv", rows)
    summary = only(import_crime(engine=engine, paths=[path]))
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (6, 6, 0)
    assert summary.details["shared_crime_ids"] == 2
    assert summary.details["rows_sharing_a_crime_id"] == 5
    assert any("5 rows share 2 Crime IDs" in note for note in summary.notes)
    with session_scope(engine) as session:
        held = session.execute(
            sa.select(Crime.crime_id, Crime.location, Crime.crime_id_shared,
                      Crime.crime_id_occurrence).order_by(Crime.id)
        ).all()  # fmt: skip
        first = session.scalar(
            sa.select(Crime.location).where(Crime.row_key == bytes.fromhex(crime_id(2)[:32]))
        )
    assert sorted(held, key=lambda r: (r[0], r[3])) == sorted(
        [(crime_id(1), "On or near High Street", True, n) for n in range(3)]
        + [(crime_id(2), "On or near High Street", True, 0),
           (crime_id(2), "On or near Other Road", True, 1),
           (crime_id(3), "On or near High Street", False, 0)],
        key=lambda r: (r[0], r[3]),
    )  # fmt: skip
    assert first == "On or near High Street"  # the ID's own key is its first row's
    # Counting distinct IDs keeps one row per ID.
    with session_scope(engine) as session:
        n = sa.select(sa.func.count()).select_from(Crime)
        every = session.scalar(n.where(counted("rows")))
        distinct = session.scalar(n.where(counted("distinct_ids")))
    assert (every, distinct) == (6, 3)
    # The same rows again, in another order and from another download: nothing new.
    again = write_street(tmp_path / "b" / "2021-01-x-street.csv", list(reversed(rows)))
    repeat = only(import_crime(engine=engine, paths=[again]))
    assert (repeat.rows_stored, repeat.rows_duplicate) == (0, 6)
    # A later download with one more row of a shared ID adds just that row.
    more = write_street(tmp_path / "c" / "2021-01-x-street.csv", [*rows, street_row(3)])
    extra = only(import_crime(engine=engine, paths=[more]))
    assert (extra.rows_stored, extra.rows_duplicate) == (1, 6)
    assert count(engine, Crime) == 7


def test_empty_required_fields_and_overlong_values(engine: sa.Engine, tmp_path: Path) -> None:
    no_type = street_row(2)
    no_type[9] = ""
    long_location = street_row(3, location="On or near " + "x" * 300)
    outcome_no_id = outcome_row(1)
    outcome_no_id[0] = ""
    street = write_street(tmp_path / "s.csv", [street_row(1), no_type, long_location])
    outcomes = write_outcomes(tmp_path / "o.csv", [outcome_no_id, outcome_row(1)])
    summaries = import_crime(engine=engine, paths=[street, outcomes])
    assert [str(p) for p in only(summaries, "s.csv").problems] == [
        f"{street}, row 3, field 'Crime type': Crime type is empty",
        f"{street}, row 4, field 'Location': Location is longer than 200 characters",
    ]
    assert [str(p) for p in only(summaries, "o.csv").problems] == [
        f"{outcomes}, row 2, field 'Crime ID': Crime ID is empty; an outcome must name its crime"
    ]
    assert (count(engine, Crime), count(engine, Outcome)) == (1, 1)


# --------------------------------------------------------------------------- encodings


def test_utf8_with_bom(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_street(
        tmp_path / "s.csv", [street_row(1, location="On or near Café Row")], encoding="utf-8-sig"
    )
    summary = only(import_crime(engine=engine, paths=[path]))
    assert summary.kind == "crime_street" and summary.rows_stored == 1
    assert summary.notes == ["UTF-8 with a byte-order mark (read as UTF-8)"]
    with session_scope(engine) as session:
        assert session.scalar(sa.select(Crime.location)) == "On or near Café Row"
        assert session.scalar(sa.select(Crime.crime_id)) == crime_id(
            1
        )  # BOM not in the first field


def test_windows_1252_and_mixed_encodings(engine: sa.Engine, tmp_path: Path) -> None:
    cp = write_street(
        tmp_path / "cp.csv", [street_row(1, location="On or near Café Row")], encoding="cp1252"
    )
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        write_street(
            tmp_path / "tmp.csv", [street_row(2, location="On or near Crème Lane")]
        ).read_bytes()
        + ",".join(street_row(3, location="On or near Señor Way")).encode("cp1252")
        + b"\n"
    )
    summaries = import_crime(engine=engine, paths=[cp, mixed])
    assert only(summaries, "cp.csv").notes == [
        "not UTF-8: 1 line(s) read as Windows-1252 (first at row 2)"
    ]
    assert only(summaries, "mixed.csv").notes == [
        "not UTF-8: 1 line(s) read as Windows-1252 (first at row 3)"
    ]
    with session_scope(engine) as session:
        locations = set(session.scalars(sa.select(Crime.location)))
    assert locations == {"On or near Café Row", "On or near Crème Lane", "On or near Señor Way"}


# --------------------------------------------------------------------------- folders and zips


def test_police_uk_zip_with_unrelated_files(engine: sa.Engine, tmp_path: Path) -> None:
    archive = tmp_path / "download.zip"
    street = write_street(
        tmp_path / "src" / "s.csv", [street_row(1), street_row(None)]
    ).read_bytes()
    outcomes = write_outcomes(tmp_path / "src" / "o.csv", [outcome_row(1)]).read_bytes()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("2021-01/2021-01-hertfordshire-street.csv", street)
        z.writestr("2021-02/2021-02-hertfordshire-outcomes.csv", outcomes)
        z.writestr("README.txt", "About this download")
        z.writestr("__MACOSX/2021-01/._2021-01-hertfordshire-street.csv", b"\x00\x05")
        z.writestr("notes/contacts.csv", "name,phone\nA,1\n")
    summaries = import_crime(engine=engine, paths=[archive])
    lines = {s.source.split("!")[1]: (s.status, s.message) for s in summaries if "!" in s.source}
    assert lines["README.txt"] == ("ignored", "not a CSV file")
    assert lines["__MACOSX/2021-01/._2021-01-hertfordshire-street.csv"] == (
        "ignored",
        "macOS metadata, not data",
    )
    assert lines["notes/contacts.csv"] == (
        "ignored",
        "a CSV, but not a police.uk street, outcomes or stop-and-search file",
    )
    assert only(summaries, "street").source == f"{archive}!2021-01/2021-01-hertfordshire-street.csv"
    assert (count(engine, Crime), count(engine, Outcome)) == (2, 1)
    again = import_crime(engine=engine, paths=[tmp_path])  # the folder holding the zip
    assert {s.status for s in again if s.kind.startswith("crime_")} == {"skipped"}
    assert count(engine, Crime) == 2


def test_a_file_that_fails_half_way_leaves_nothing(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_street(tmp_path / "2021-01-x-street.csv", [street_row(1), street_row(2)])
    second = write_street(
        tmp_path / "2021-02-x-street.csv",
        [street_row(3, month="2021-02"), street_row(4, month="2099-99")],
    )
    real_store = service.store_rows

    def store_then_break(**kw):  # type: ignore[no-untyped-def]
        stored = real_store(**kw)
        if kw["frame"]["month"][0] == "2021-02-01":
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return stored

    monkeypatch.setattr(service, "store_rows", store_then_break)
    summaries = import_crime(engine=engine, paths=[first, second])
    summaries = [s for s in summaries if s.kind != "areas"]
    assert [s.status for s in summaries] == ["ok", "failed"]
    assert summaries[1].message == (
        f"{second}: the store refused the rows (disk I/O error); nothing was stored"
    )
    assert count(engine, Crime) == 2
    assert quarantined(engine) == []  # the failed file's bad row is not left behind either
    monkeypatch.setattr(service, "store_rows", real_store)
    again = import_crime(engine=engine, paths=[first, second])
    assert [s.status for s in again if s.kind != "areas"] == ["skipped", "ok"]
    assert count(engine, Crime) == 3 and len(quarantined(engine)) == 1


def test_missing_path_is_one_clear_error(engine: sa.Engine, tmp_path: Path) -> None:
    from saferstreets.errors import InputFileError

    with pytest.raises(InputFileError, match="does not exist"):
        import_crime(engine=engine, paths=[tmp_path / "nope.csv"])


def test_points_get_areas_once_boundaries_exist(engine: sa.Engine, tmp_path: Path) -> None:
    from tests.factories import add_area

    path = write_street(
        tmp_path / "s.csv", [street_row(1, lon="-0.295", lat="51.805"), no_location_row(2)]
    )
    summaries = import_crime(engine=engine, paths=[path])
    assert summaries[-1].kind == "areas"
    assert "no boundaries are imported" in summaries[-1].message
    with session_scope(engine) as session:
        add_area(session, "E05000001", "Abbey", "ward", lon=-0.3, lat=51.8)
    more = write_street(tmp_path / "t.csv", [street_row(3, lon="-0.295", lat="51.805")])
    summaries = import_crime(engine=engine, paths=[more])
    assert summaries[-1].message.startswith("points given their areas: crime 2")
    with session_scope(engine) as session:
        wards = {k: v for k, v in session.execute(sa.select(Crime.crime_id, Crime.ward_code))}
    assert wards == {crime_id(1): "E05000001", crime_id(2): None, crime_id(3): "E05000001"}


def test_rows_are_stored_with_their_areas_and_a_known_file_is_not_parsed_again(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import add_area

    with session_scope(engine) as session:
        add_area(session, "E05000001", "Abbey", "ward", lon=-0.3, lat=51.8)
    path = write_street(
        tmp_path / "s.csv",
        [street_row(1, lon="-0.295", lat="51.805"), street_row(2, lon="-0.295", lat="51.805")],
    )
    updates: list[str] = []
    real_assign = service.assign_crime_areas

    def watch_assign(**kw):  # type: ignore[no-untyped-def]
        updates.append("called")
        return real_assign(**kw)

    monkeypatch.setattr(service, "assign_crime_areas", watch_assign)
    summaries = import_crime(engine=engine, paths=[path])
    # Stored with their ward and H3 cell as they were inserted; the pass after finds nothing.
    assert summaries[-1].message == (
        "points given their areas: crime 2, crime_outcome 0, stop_search 0"
    )
    with session_scope(engine) as session:
        rows = session.execute(sa.select(Crime.ward_code, Crime.h3_cell, Crime.import_run_id)).all()
    assert [r[0] for r in rows] == ["E05000001", "E05000001"]
    assert all(r[1] for r in rows)
    with session_scope(engine) as session:
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(Crime).where(Crime.h3_cell.is_(None))
            )
            == 0
        )

    parsed: list[str] = []
    real_read = service.read_file

    def counting_read(data, source, **kw):  # type: ignore[no-untyped-def]
        parsed.append(source)
        return real_read(data, source, **kw)

    monkeypatch.setattr(service, "read_file", counting_read)
    again = import_crime(engine=engine, paths=[path])
    assert [s.status for s in again] == ["skipped"]
    assert parsed == []  # the file's bytes were known: hashed, not parsed
    assert count(engine, Crime) == 2


def index_names(engine: sa.Engine, table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(engine).get_indexes(table)}


def test_a_bulk_load_builds_the_indexes_again_even_when_it_fails(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saferstreets.migrate import upgrade

    declared = index_names(engine, "crime")
    assert {"ix_crime_month", "ix_crime_ward_code"} <= declared
    monkeypatch.setattr(service, "BULK_MIN_ROWS", 1)
    a = write_street(tmp_path / "2021-01-x-street.csv", [street_row(1), street_row(2)])
    b = write_street(tmp_path / "2021-02-x-street.csv", [street_row(3, month="2021-02")])
    seen: list[set[str]] = []
    real_store = service.store_rows

    def store_and_look(**kw):  # type: ignore[no-untyped-def]
        seen.append(index_names(engine, "crime"))
        return real_store(**kw)

    monkeypatch.setattr(service, "store_rows", store_and_look)
    summaries = import_crime(engine=engine, paths=[a, b])
    assert [s.rows_stored for s in summaries if s.kind.startswith("crime_")] == [2, 1]
    assert index_names(engine, "crime") == declared  # built again at the end
    if engine.dialect.name == "postgresql":
        assert "ix_crime_month" not in seen[0]  # the load ran without the secondary indexes
    else:  # building an index would hold SQLite's one write lock for seconds
        assert all(found == declared for found in seen)

    def fail(**kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("killed")

    monkeypatch.setattr(service, "store_rows", fail)
    c = write_street(tmp_path / "2021-03-x-street.csv", [street_row(4, month="2021-03")])
    with pytest.raises(RuntimeError):
        import_crime(engine=engine, paths=[c])
    assert index_names(engine, "crime") == declared
    assert count(engine, Crime) == 3
    # A load killed before it could build them: the next upgrade (or import) builds them.
    from saferstreets.db import drop_secondary_indexes

    drop_secondary_indexes(engine, ["crime"])
    assert "ix_crime_month" not in index_names(engine, "crime")
    upgrade(engine)
    assert index_names(engine, "crime") == declared


def test_a_bulk_load_meeting_rows_it_holds_skips_just_those(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL a bulk load first copies a file straight into the table; the second file
    # repeats a crime the first brought, so its copy fails and it goes the careful way.
    monkeypatch.setattr(service, "BULK_MIN_ROWS", 1)
    a = write_street(tmp_path / "2021-01-x-street.csv", [street_row(1), street_row(2)])
    b = write_street(tmp_path / "2021-01-y-street.csv", [street_row(2), street_row(3)])
    summaries = [s for s in import_crime(engine=engine, paths=[a, b]) if s.kind != "areas"]
    assert [(s.status, s.rows_stored, s.rows_duplicate) for s in summaries] == [
        ("ok", 2, 0),
        ("ok", 1, 1),
    ]
    with session_scope(engine) as session:
        held = session.execute(sa.select(Crime.crime_id, Crime.import_run_id)).all()
    assert sorted(c for c, _ in held) == sorted([crime_id(1), crime_id(2), crime_id(3)])
    runs = {c: r for c, r in held}
    assert runs[crime_id(2)] == summaries[0].run_id  # kept from the first file, not replaced


def test_a_file_is_written_in_short_transactions_and_one_cut_short_is_undone(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saferstreets import db

    monkeypatch.setitem(service.CHUNK_ROWS, engine.dialect.name, 2)
    monkeypatch.setitem(db.WRITE_HOLD_S, engine.dialect.name, 0.0)  # commit after every chunk
    path = write_street(tmp_path / "2021-01-x-street.csv", [street_row(n) for n in range(7)])
    commits: list[int] = []

    def count_rows(conn) -> None:  # type: ignore[no-untyped-def]
        commits.append(1)

    sa.event.listen(engine, "commit", count_rows)
    try:
        summaries = [s for s in import_crime(engine=engine, paths=[path]) if s.kind != "areas"]
    finally:
        sa.event.remove(engine, "commit", count_rows)
    assert [(s.status, s.rows_stored) for s in summaries] == [("ok", 7)]
    assert len(commits) >= 4 + 2  # 4 chunks of at most 2 rows, the run opened and closed

    # A worker killed half-way: some chunks committed under a run still "running".
    other = write_street(tmp_path / "2021-02-x-street.csv",
                         [street_row(n, month="2021-02") for n in range(10, 17)])  # fmt: skip
    real_store = service.store_rows
    calls: list[int] = []

    def die_on_the_third_chunk(**kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # not an error the import handles: the process ends here
        return real_store(**kw)

    monkeypatch.setattr(service, "store_rows", die_on_the_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        import_crime(engine=engine, paths=[other])
    with session_scope(engine) as session:
        assert session.scalar(sa.select(ImportRun.status).order_by(ImportRun.id.desc())) == (
            "running"
        )
    assert count(engine, Crime) == 7 + 4  # two chunks of the cut file are in the store
    monkeypatch.setattr(service, "store_rows", real_store)
    again = [s for s in import_crime(engine=engine, paths=[other]) if s.kind != "areas"]
    assert [(s.status, s.rows_stored, s.rows_duplicate) for s in again] == [("ok", 7, 0)]
    assert count(engine, Crime) == 14
    with session_scope(engine) as session:
        runs = session.execute(
            sa.select(ImportRun.status, sa.func.count()).group_by(ImportRun.status)
        ).all()
        held = session.execute(
            sa.select(Crime.import_run_id, sa.func.count()).group_by(Crime.import_run_id)
        ).all()
    assert sorted(runs) == [("failed", 1), ("ok", 2)]  # the cut run is marked, not counted
    assert sorted(n for _, n in held) == [7, 7]  # every row under a finished run


def test_crime_keys_agree_with_crime_key_for_every_kind_of_id() -> None:
    import hashlib

    import polars as pl

    from saferstreets.crime.policeuk import crime_key, crime_keys

    police_uk = crime_id(7)
    ids = [police_uk, police_uk.upper(), "not-a-police-uk-id", "", None, "ab" * 31]
    got = crime_keys(pl.Series(ids, dtype=pl.String)).to_list()
    assert got == [None if i is None else crime_key(i) for i in ids]
    assert crime_key(police_uk) == bytes.fromhex(police_uk[:32])  # the ID's own first 128 bits
    assert crime_key(police_uk.upper()) == crime_key(police_uk)  # hex is case-blind
    other = hashlib.sha256(b"not-a-police-uk-id").digest()[:16]
    assert crime_key("not-a-police-uk-id") == other  # anything else is hashed
    assert crime_key("ab" * 31) != bytes.fromhex("ab" * 16)  # 62 hex digits: not an ID, hashed
    assert {len(k) for k in got if k is not None} == {16}


def test_the_assessment_counts_rows_or_distinct_ids_as_set(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """``crime_counting``: every police.uk row (the default), or one per Crime ID."""
    from saferstreets.assessment.service import load

    rows = [street_row(1), street_row(1), street_row(2), street_row(None), street_row(None)]
    only(import_crime(engine=engine, paths=[write_street(tmp_path / "s.csv", rows)]))
    with session_scope(engine) as session:
        every = load(session=session).crimes
        distinct = load(session=session, crime_counting="distinct_ids").crimes
    assert len(every) == 5  # as police.uk counts them
    assert len(distinct) == 4  # crime 1 once, crime 2, and both rows without an ID
    assert sorted(c.crime_id or "" for c in distinct) == sorted(["", "", crime_id(1), crime_id(2)])


def test_the_workspace_counts_crime_as_the_assessment_does(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """The analyst's workspace follows ``crime_counting`` too (rows, or one per Crime ID)."""
    from saferstreets.assessment.filters import WorkspaceFilter
    from saferstreets.assessment.service import load
    from saferstreets.assessment.workspace import crime_counts

    rows = [street_row(1), street_row(1), street_row(2), street_row(3), street_row(None)]
    only(import_crime(engine=engine, paths=[write_street(tmp_path / "s.csv", rows)]))
    wanted = set(settings.womens_safety_crime_types)
    totals = []
    for how in ("rows", "distinct_ids"):
        chosen = settings.model_copy(update={"crime_counting": how})
        with session_scope(engine) as session:
            loaded = load(session=session, crime_counting=how).crimes
            counts = crime_counts(session=session, flt=WorkspaceFilter(), settings=chosen)
        expected = sum(1 for c in loaded if c.crime_type in wanted)
        assert sum(counts.months.values()) == expected, how
        totals.append(expected)
    assert totals == [5, 4]  # every row; then crime 1 once, 2, 3 and the row without an ID


def test_rows_of_a_file_still_being_imported_count_nowhere_until_it_finishes(
    engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long file is stored in short transactions; between them, the assessment, the
    workspace, the plan's demand and the outcome tables must not count part of it."""
    from saferstreets import db
    from saferstreets.assessment import cache
    from saferstreets.assessment.filters import WorkspaceFilter
    from saferstreets.assessment.service import load
    from saferstreets.assessment.workspace import crime_counts
    from saferstreets.planning.service import load_inputs

    only(import_crime(engine=engine, paths=[write_street(tmp_path / "a.csv", [street_row(1)])]))
    monkeypatch.setitem(service.CHUNK_ROWS, engine.dialect.name, 2)
    monkeypatch.setitem(db.WRITE_HOLD_S, engine.dialect.name, 0.0)  # commit after every chunk
    real_store = service.store_rows
    seen: list[tuple[int, int, int, int]] = []

    def look_between_chunks(**kw):  # type: ignore[no-untyped-def]
        with session_scope(engine) as session:
            seen.append(counted_now(session))
        return real_store(**kw)

    def counted_now(session: Session) -> tuple[int, int, int, int]:
        ws = crime_counts(session=session, flt=WorkspaceFilter(), settings=settings)
        plan = load_inputs(session=session, settings=settings)
        return (
            session.scalar(sa.select(sa.func.count()).select_from(Crime)) or 0,
            len(load(session=session).crimes),
            sum(ws.months.values()),
            sum(row[-1] for row in plan.crimes),
        )

    stamp_before = stamp(engine)
    monkeypatch.setattr(service, "store_rows", look_between_chunks)
    rows = [street_row(n) for n in range(10, 17)]
    only(import_crime(engine=engine, paths=[write_street(tmp_path / "b.csv", rows)]))
    held = [s[0] for s in seen]
    assert held == [1, 3, 5, 7]  # rows of the running file were in the store between chunks
    assert {s[1:4] for s in seen} == {(1, 1, 1)}  # and counted nowhere
    with session_scope(engine) as session:
        assert counted_now(session)[1:4] == (8, 8, 8)  # all of them, once the run is ok
    assert stamp(engine) != stamp_before
    cache.clear()


def stamp(engine: sa.Engine) -> tuple[object, ...]:
    from saferstreets.assessment.cache import data_stamp

    with session_scope(engine) as session:
        return data_stamp(session=session)


def test_two_imports_of_one_file_at_once_store_it_once_and_undo_nothing(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second import of a file another import is writing is told so and reads nothing; it
    does not take the first one's rows for a cut-short import's and delete them."""
    import threading

    from saferstreets import db

    monkeypatch.setitem(service.CHUNK_ROWS, engine.dialect.name, 2)
    monkeypatch.setitem(db.WRITE_HOLD_S, engine.dialect.name, 0.0)
    path = write_street(tmp_path / "2021-03-x-street.csv", [street_row(n) for n in range(7)])
    real_store = service.store_rows
    half_way, go_on = threading.Event(), threading.Event()

    def pause_after_two_chunks(**kw):  # type: ignore[no-untyped-def]
        stored = real_store(**kw)
        if count(engine, Crime) >= 4:
            half_way.set()
            go_on.wait(timeout=60)
        return stored

    monkeypatch.setattr(service, "store_rows", pause_after_two_chunks)
    first: list[ImportSummary] = []
    worker = threading.Thread(
        target=lambda: first.extend(import_crime(engine=engine, paths=[path]))
    )
    worker.start()
    try:
        assert half_way.wait(timeout=60)
        second = only(import_crime(engine=engine, paths=[path]))
        assert second.status == "skipped"
        assert "being imported now by another import" in (second.message or "")
        assert count(engine, Crime) == 4  # the first import's rows are untouched
    finally:
        go_on.set()
        worker.join(timeout=60)
    assert [(s.status, s.rows_stored) for s in first if s.kind != "areas"] == [("ok", 7)]
    assert count(engine, Crime) == 7
    with session_scope(engine) as session:
        statuses = session.scalars(sa.select(ImportRun.status)).all()
    assert statuses == ["ok"]


def test_a_large_load_brings_postgresql_statistics_up_to_date(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a load of at least ``REFRESH_AFTER_ROWS`` rows the table is vacuumed and analysed
    at once (an index-only scan needs the visibility map); a smaller one is left to autovacuum.
    SQLite keeps no such state, and nothing is run there."""
    import saferstreets.db as db

    def vacuumed() -> int:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    sa.text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'crime'")
                )
                or 0
            )

    path = write_street(tmp_path / "2021-01-hertfordshire-street.csv", [street_row(1)])
    monkeypatch.setattr(db, "REFRESH_AFTER_ROWS", 2)
    before = vacuumed() if engine.dialect.name == "postgresql" else 0
    assert only(import_crime(engine=engine, paths=[path])).rows_stored == 1  # under the bar
    if engine.dialect.name != "postgresql":
        assert db.refresh_statistics(engine, {"crime": 10**6}) == []
        return
    assert vacuumed() == before
    rows = [street_row(i) for i in range(2, 5)]
    path = write_street(tmp_path / "2021-02-hertfordshire-street.csv", rows)
    assert only(import_crime(engine=engine, paths=[path])).rows_stored == 3
    deadline = time.monotonic() + 10  # the statistics collector reports a moment later
    while vacuumed() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert vacuumed() == before + 1
