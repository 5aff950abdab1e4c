"""Account commands: create, list, bad input."""

from __future__ import annotations

from typer.testing import CliRunner

from saferstreets.cli import app

runner = CliRunner()


def test_create_and_list_accounts(app_env) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["users", "create", "wendy", "--role", "ward_officer", "--wards", "W1,W2",
                                 "--password", "a long password"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["users", "list"])
    assert "wendy" in listed.output and "W1, W2" in listed.output


def test_bad_accounts_are_refused_clearly(app_env) -> None:  # type: ignore[no-untyped-def]
    no_wards = runner.invoke(app, ["users", "create", "w", "--role", "ward_officer", "--password", "a long password"])
    assert no_wards.exit_code == 1 and "needs at least one ward" in no_wards.output
    bad_role = runner.invoke(app, ["users", "create", "x", "--role", "chief", "--password", "a long password"])
    assert bad_role.exit_code == 1 and "role: must be one of" in bad_role.output
    short = runner.invoke(app, ["users", "create", "y", "--role", "analyst", "--password", "short"])
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    listed = runner.invoke(app, ["users", "list"])
    assert " x " not in listed.output and " y " not in listed.output
