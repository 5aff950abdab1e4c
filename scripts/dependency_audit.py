"""The dependency audit: known vulnerabilities in the Python packages installed and the npm assets.

    python scripts/dependency_audit.py            # audit; unreachable databases are reported
    python scripts/dependency_audit.py --require  # and an audit that could not run fails

Python: ``pip-audit`` over the environment's installed distributions (our own editable package
left out), with ``--strict`` so that a package it could not look up is an error, never a silent
pass (pip-audit on its own exits 0 when every look-up failed). npm: ``npm audit
--package-lock-only`` over package-lock.json (the vendored front-end assets).

What happens with a finding: the audit fails, naming each package, its version, the advisory and
the versions that fix it. A finding that does not apply (for example a server-side advisory for
a library we only serve to browsers) can be accepted in ``.ci/audit-ignore.toml`` with its
advisory id, the reason and an expiry date; an expired entry fails again, and an entry that
matches nothing is reported so the list only shrinks. Documented in docs/operating.md.

Exit codes: 0 audited and clean (or not run, without ``--require``); 1 findings; 2 the audit
could not run (no vulnerability database reachable) and ``--require`` was given.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = ROOT / ".ci" / "audit-ignore.toml"


@dataclass(frozen=True)
class Finding:
    ecosystem: str  # PyPI or npm
    package: str
    version: str
    advisory: str  # the advisory's id (PYSEC-, GHSA-, CVE-) or URL
    fixed_in: str
    summary: str = ""

    def line(self) -> str:
        fix = f"; fixed in {self.fixed_in}" if self.fixed_in else "; no fixed version yet"
        text = f"{self.ecosystem} {self.package} {self.version}: {self.advisory}{fix}"
        return text + (f" ({self.summary[:100]})" if self.summary else "")


class NotAudited(Exception):
    """The audit could not run: its vulnerability database did not answer."""


# --- reading the tools' reports (tested in tests/test_dependency_audit.py) -------------------


def pip_audit_findings(report: dict[str, Any]) -> list[Finding]:
    """Findings in pip-audit's JSON; NotAudited if any package could not be looked up."""
    skipped = [d for d in report.get("dependencies", []) if d.get("skip_reason")]
    if skipped:
        first = skipped[0]
        raise NotAudited(
            f"pip-audit could not look up {len(skipped)} package(s), e.g. {first['name']}: "
            f"{first['skip_reason']}"
        )
    found = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            aliases = [a for a in vuln.get("aliases", []) if a.startswith(("CVE-", "GHSA-"))]
            advisory = vuln["id"] + (f" ({', '.join(aliases)})" if aliases else "")
            found.append(
                Finding(
                    "PyPI",
                    dep["name"],
                    dep.get("version", "?"),
                    advisory,
                    ", ".join(vuln.get("fix_versions", [])),
                    vuln.get("description", "").split("\n")[0],
                )
            )
    return found


def npm_audit_findings(report: dict[str, Any], versions: dict[str, str]) -> list[Finding]:
    """Findings in ``npm audit --json`` (report version 2); NotAudited for its error report."""
    if "error" in report or "statusCode" in report:
        message = report.get("message") or report.get("error", {}).get("summary") or "an error"
        raise NotAudited(f"npm audit could not reach its advisory database: {message}")
    found = []
    for name, vuln in sorted(report.get("vulnerabilities", {}).items()):
        for via in vuln.get("via", []):
            if not isinstance(via, dict):
                continue  # a dependency through which another package's advisory arrives
            fix = vuln.get("fixAvailable")
            fixed = fix.get("version", "") if isinstance(fix, dict) else ("yes" if fix else "")
            found.append(
                Finding(
                    "npm",
                    name,
                    versions.get(name, vuln.get("range", "?")),
                    via.get("url") or str(via.get("source", "?")),
                    fixed,
                    via.get("title", ""),
                )
            )
    return found


def load_ignores(path: Path, today: date) -> tuple[dict[str, str], list[str]]:
    """The accepted advisories still in force ({advisory id: reason}), and the expired ones."""
    if not path.is_file():
        return {}, []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    active: dict[str, str] = {}
    expired: list[str] = []
    for entry in data.get("ignore", []):
        advisory, reason, until = entry["id"], entry["reason"], entry["until"]
        if not reason.strip():
            raise ValueError(f"{path}: {advisory} has no reason")
        if date.fromisoformat(str(until)) < today:
            expired.append(f"{advisory} (accepted until {until}: {reason})")
        else:
            active[advisory] = reason
    return active, expired


def apply_ignores(
    findings: list[Finding], ignores: dict[str, str]
) -> tuple[list[Finding], list[str]]:
    """The findings not accepted, and the accepted ids that matched nothing (stale entries)."""
    used: set[str] = set()
    kept = []
    for finding in findings:
        match = next((i for i in ignores if i in finding.advisory), None)
        if match:
            used.add(match)
        else:
            kept.append(finding)
    return kept, sorted(set(ignores) - used)


# --- running the tools -----------------------------------------------------------------------


def _run_pip_audit() -> list[Finding]:
    cmd = [sys.executable, "-m", "pip_audit", "--strict", "--skip-editable", "--format=json",
           "--progress-spinner=off", "--vulnerability-service=pypi"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    try:
        report = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    if not report.get("dependencies"):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise NotAudited(f"pip-audit gave no report: {last}")
    return pip_audit_findings(report)


def _run_npm_audit() -> list[Finding]:
    cmd = ["npm", "audit", "--package-lock-only", "--json"]
    done = subprocess.run(  # noqa: S603 - a fixed command, no outside input
        cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False
    )
    try:
        report = json.loads(done.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise NotAudited(f"npm audit gave no report: {exc}") from None
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    versions = {
        path.rsplit("node_modules/", 1)[-1]: info.get("version", "?")
        for path, info in lock.get("packages", {}).items()
        if path
    }
    return npm_audit_findings(report, versions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--require", action="store_true", help="fail (exit 2) when an audit cannot run"
    )
    args = parser.parse_args(argv)
    ignores, expired = load_ignores(IGNORE_FILE, date.today())
    findings: list[Finding] = []
    not_run: list[str] = []
    for name, run in (("Python packages", _run_pip_audit), ("npm assets", _run_npm_audit)):
        try:
            findings += run()
            print(f"dependency audit: {name} audited")
        except NotAudited as exc:
            not_run.append(f"{name}: {exc}")
    kept, stale = apply_ignores(findings, ignores)
    for advisory in stale:
        print(f"dependency audit: the accepted advisory {advisory} matches nothing now: "
              f"remove it from {IGNORE_FILE.name}")  # fmt: skip
    problems = [f.line() for f in kept] + [f"accepted advisory expired: {e}" for e in expired]
    if problems:
        print("dependency audit FAILED: known vulnerabilities in what we ship:")
        for line in problems:
            print(f"  {line}")
        print(f"  upgrade them, or accept one with its reason and an expiry in {IGNORE_FILE}")
        return 1
    for line in not_run:
        print(f"dependency audit NOT RUN for {line}")
    if not_run and args.require:
        return 2
    if not not_run:
        print("dependency audit: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
