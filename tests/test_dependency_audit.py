"""scripts/dependency_audit.py: what a finding, an accepted advisory and an unreachable database do.

The tools' reports are the documented JSON shapes of pip-audit and ``npm audit`` (report v2);
no network is used. Whether the databases answer on this machine is in docs/operating.md.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "dependency_audit", ROOT / "scripts/dependency_audit.py"
)
assert _spec and _spec.loader
audit: Any = importlib.util.module_from_spec(_spec)
sys.modules["dependency_audit"] = audit  # dataclasses look their module up there
_spec.loader.exec_module(audit)

PIP_REPORT = {
    "dependencies": [
        {"name": "fastapi", "version": "0.115.0", "vulns": []},
        {
            "name": "jinja2",
            "version": "2.10",
            "vulns": [
                {
                    "id": "PYSEC-2019-217",
                    "fix_versions": ["2.10.1"],
                    "aliases": ["CVE-2019-10906", "GHSA-462w-v97r-4m45"],
                    "description": "In Pallets Jinja before 2.10.1, str.format_map allows a "
                    "sandbox escape.\nMore.",
                }
            ],
        },
    ],
    "fixes": [],
}
NPM_REPORT = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "maplibre-gl": {
            "name": "maplibre-gl",
            "severity": "high",
            "via": [
                {
                    "source": 1099,
                    "name": "maplibre-gl",
                    "title": "Cross-site scripting in popups",
                    "url": "https://github.com/advisories/GHSA-aaaa-bbbb-cccc",
                    "severity": "high",
                    "range": "<4.7.1",
                }
            ],
            "range": "<4.7.1",
            "fixAvailable": {"name": "maplibre-gl", "version": "4.7.1", "isSemVerMajor": False},
        },
        "through": {"name": "through", "via": ["maplibre-gl"], "fixAvailable": True},
    },
}
BULK = "https://registry.npmjs.org/-/npm/v1/security/advisories/bulk"
NPM_ERROR = {"message": f"405 Method Not Allowed - POST {BULK}", "statusCode": 405}


def test_a_python_finding_names_package_version_advisory_and_fix() -> None:
    (finding,) = audit.pip_audit_findings(PIP_REPORT)
    line = finding.line()
    assert line.startswith("PyPI jinja2 2.10: PYSEC-2019-217 (CVE-2019-10906, GHSA-462w-v97r-4m45)")
    assert "fixed in 2.10.1" in line and "sandbox escape" in line and "More" not in line


def test_a_package_that_could_not_be_looked_up_means_not_audited() -> None:
    report = {"dependencies": [{"name": "aiosmtpd", "skip_reason": "Dependency not found on PyPI"}]}
    with pytest.raises(audit.NotAudited, match=r"could not look up 1 package.*aiosmtpd"):
        audit.pip_audit_findings(report)


def test_npm_findings_and_errors() -> None:
    (finding,) = audit.npm_audit_findings(NPM_REPORT, {"maplibre-gl": "4.7.0"})
    assert finding.line().startswith(
        "npm maplibre-gl 4.7.0: https://github.com/advisories/GHSA-aaaa-bbbb-cccc; fixed in 4.7.1"
    )
    with pytest.raises(audit.NotAudited, match="405 Method Not Allowed"):
        audit.npm_audit_findings(NPM_ERROR, {})


def test_accepted_advisories_expire_and_stale_ones_are_named(tmp_path: Path) -> None:
    path = tmp_path / "ignore.toml"
    path.write_text(
        '[[ignore]]\nid = "PYSEC-2019-217"\nreason = "sandbox unused"\nuntil = 2027-01-31\n'
        '[[ignore]]\nid = "GHSA-old"\nreason = "was fine"\nuntil = 2026-01-01\n'
        '[[ignore]]\nid = "GHSA-gone"\nreason = "fixed upstream"\nuntil = 2027-06-01\n'
    )
    active, expired = audit.load_ignores(path, date(2026, 12, 2))
    assert set(active) == {"PYSEC-2019-217", "GHSA-gone"}
    assert expired == ["GHSA-old (accepted until 2026-01-01: was fine)"]
    kept, stale = audit.apply_ignores(audit.pip_audit_findings(PIP_REPORT), active)
    assert kept == [] and stale == ["GHSA-gone"]


def _run(monkeypatch: pytest.MonkeyPatch, pip: Any, npm: Any, *args: str) -> int:
    monkeypatch.setattr(audit, "_run_pip_audit", pip)
    monkeypatch.setattr(audit, "_run_npm_audit", npm)
    monkeypatch.setattr(audit, "IGNORE_FILE", Path("/nonexistent/ignore.toml"))
    return int(audit.main(list(args)))


def test_main_fails_on_a_finding_and_on_a_required_audit_that_could_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreachable() -> list[Any]:
        raise audit.NotAudited("no database answered")

    def findings() -> list[Any]:
        return audit.pip_audit_findings(PIP_REPORT)

    def clean() -> list[Any]:
        return []

    assert _run(monkeypatch, findings, clean) == 1
    out = capsys.readouterr().out
    assert "dependency audit FAILED" in out and "jinja2 2.10: PYSEC-2019-217" in out
    assert _run(monkeypatch, clean, unreachable) == 0
    assert "NOT RUN for npm assets: no database answered" in capsys.readouterr().out
    assert _run(monkeypatch, clean, unreachable, "--require") == 2
    assert _run(monkeypatch, clean, clean, "--require") == 0
    assert "no known vulnerabilities" in capsys.readouterr().out
