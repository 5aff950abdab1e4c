"""Account commands: create, list, bad input."""

from __future__ import annotations

from typer.testing import CliRunner

from saferstreets.cli import app

runner = CliRunner()


def _wards(settings, *codes: str) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import add_area

    from saferstreets.db import make_engine, session_scope

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        for code in codes:
            add_area(session, code, f"Ward {code}", "ward")
    engine.dispose()


def test_create_and_list_accounts(app_env) -> None:  # type: ignore[no-untyped-def]
    _wards(app_env, "W1", "W2", "W3")
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "wendy",
            "--role",
            "ward_officer",
            "--wards",
            "W1,W2",
            "--password",
            "a long password",
        ],
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["users", "list"])
    assert "wendy" in listed.output and "W1, W2" in listed.output


def test_bad_accounts_are_refused_clearly(app_env) -> None:  # type: ignore[no-untyped-def]
    no_wards = runner.invoke(
        app, ["users", "create", "w", "--role", "ward_officer", "--password", "a long password"]
    )
    assert no_wards.exit_code == 1 and "needs at least one ward" in no_wards.output
    bad_role = runner.invoke(
        app, ["users", "create", "x", "--role", "chief", "--password", "a long password"]
    )
    assert bad_role.exit_code == 1 and "role: must be one of" in bad_role.output
    short = runner.invoke(app, ["users", "create", "y", "--role", "analyst", "--password", "short"])
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    listed = runner.invoke(app, ["users", "list"])
    assert " x " not in listed.output and " y " not in listed.output


def test_ward_and_partner_scopes_are_checked(app_env) -> None:  # type: ignore[no-untyped-def]
    _wards(app_env, "W1", "W2")
    typo = runner.invoke(
        app,
        [
            "users",
            "create",
            "w",
            "--role",
            "ward_officer",
            "--wards",
            "W1,W9",
            "--password",
            "a long password",
        ],
    )
    assert typo.exit_code == 1 and "wards: not imported wards: W9" in typo.output
    partner = runner.invoke(
        app,
        [
            "users",
            "create",
            "p",
            "--role",
            "partner",
            "--partner",
            "council",
            "--password",
            "a long password",
        ],
    )
    assert partner.exit_code == 1 and "partner: must be one of council_lighting" in partner.output
    assert "w " not in runner.invoke(app, ["users", "list"]).output
    ok = runner.invoke(
        app,
        [
            "users",
            "create",
            "w",
            "--role",
            "ward_officer",
            "--wards",
            "W1",
            "--password",
            "a long password",
        ],
    )
    assert ok.exit_code == 0
    moved = runner.invoke(app, ["users", "set-wards", "w", "W1,W2"])
    assert moved.exit_code == 0 and "now works W1, W2" in moved.output
    assert runner.invoke(app, ["users", "set-wards", "w", "W7"]).exit_code == 1
    assert "W1, W2" in runner.invoke(app, ["users", "list"]).output
    assert runner.invoke(app, ["users", "deactivate", "w"]).exit_code == 0
    assert " no " in runner.invoke(app, ["users", "list"]).output
    assert runner.invoke(app, ["users", "activate", "w"]).exit_code == 0
    assert " no " not in runner.invoke(app, ["users", "list"]).output


def test_production_settings_errors_are_one_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.config import get_settings

    monkeypatch.setenv("SAFERSTREETS_ENV", "production")
    monkeypatch.delenv("SAFERSTREETS_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(app, ["status"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "SAFERSTREETS_SECRET_KEY is still the development default" in result.output
    assert "Traceback" not in result.output and "ValidationError" not in result.output
    monkeypatch.setenv("SAFERSTREETS_SECRET_KEY", "short")
    result = runner.invoke(app, ["status"])
    get_settings.cache_clear()
    assert result.exit_code == 1 and "too short for production" in result.output
