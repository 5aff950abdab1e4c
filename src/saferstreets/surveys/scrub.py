"""Removing personal data from survey rows already in the store (imported before it was dropped).

``scrub_store`` applies to stored responses and quarantined survey rows what an import now does
before it stores anything (see ``surveys.personal``): the tools' personal columns, the mapping's
``[drop]`` columns and columns of mostly IP addresses, emails, phones or coordinates leave the raw
rows, and contact details leave every answer and free text. It reports counts, never values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.reports.redact import redact_personal_details
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.personal import is_tool_column, personal_labels, scrub_cell

KIND = "survey"


@dataclass
class ScrubSummary:
    """What ``scrub_store`` changed: rows, columns dropped (values counted) and answers scrubbed."""

    responses_changed: int = 0
    quarantined_changed: int = 0
    answers_scrubbed: int = 0
    dropped_columns: dict[str, int] = field(default_factory=dict)  # label -> values removed
    kept: list[str] = field(default_factory=list)  # personal-looking labels the mapping uses

    def lines(self) -> list[str]:
        """What to tell the analyst."""
        out = [
            f"{self.responses_changed:,} stored responses and {self.quarantined_changed:,} "
            f"quarantined rows changed; contact details removed from {self.answers_scrubbed:,} "
            "answers"
        ]
        for label, n in sorted(self.dropped_columns.items()):
            out.append(f"  dropped column '{label}': {n:,} values removed")
        out += [
            f"  kept '{k}': it looks personal but the wave's mapping uses it" for k in self.kept
        ]
        return out


def _mapping_names(mapping: dict[str, Any] | None) -> tuple[set[str], set[str], set[str]]:
    """(names the mapping reads, names kept as written, names under [drop]) of a stored mapping."""
    mapping = mapping or {}
    columns = mapping.get("columns") or {}
    used = {n for names in columns.values() for n in names}
    used |= {item.get("column", "") for item in mapping.get("likert") or []}
    used |= {item.get("question", "") for item in mapping.get("multi_select") or []}
    as_written = {
        n for k in ("respondent", "date", "latitude", "longitude") for n in columns.get(k, [])
    }
    return used, as_written, set(mapping.get("drop") or [])


def _scrub_rows(
    rows: list[Any], mapping: dict[str, Any] | None, summary: ScrubSummary, *, free_text: bool
) -> int:
    """Scrub the ``raw`` (and ``free_text``) of ORM rows sharing one mapping; how many changed."""
    used, as_written, drop = _mapping_names(mapping)
    values: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        for label, value in (row.raw or {}).items():
            values[label].append(value)
    dropped, kept = personal_labels(values, drop=drop, used=used)
    summary.kept += [k for k in kept if k not in summary.kept]
    written = {label for label in values if label in as_written or is_tool_column(label)}
    changed = 0
    for row in rows:
        raw, touched = {}, False
        for label, value in (row.raw or {}).items():
            if label in dropped:
                touched = True
                if value not in (None, ""):
                    summary.dropped_columns[label] = summary.dropped_columns.get(label, 0) + 1
                continue
            if label not in written:
                value, scrubbed = scrub_cell(value)
                summary.answers_scrubbed += scrubbed
                touched |= scrubbed
            raw[label] = value
        if free_text and row.free_text:
            text = redact_personal_details(row.free_text)
            touched |= text != row.free_text
            row.free_text = text
        if not free_text and row.reason:  # a quarantine reason may quote the answer
            reason = redact_personal_details(row.reason)
            touched |= reason != row.reason
            row.reason = reason
        if touched:
            row.raw = raw
            changed += 1
    return changed


def scrub_store(*, session: Session) -> ScrubSummary:
    """Drop personal columns and contact details from stored survey responses and quarantine."""
    summary = ScrubSummary()
    for wave in session.scalars(sa.select(SurveyWave).order_by(SurveyWave.id)):
        rows = list(
            session.scalars(sa.select(SurveyResponse).where(SurveyResponse.wave_id == wave.id))
        )
        summary.responses_changed += _scrub_rows(rows, wave.mapping, summary, free_text=True)
    mappings = {w.id: w.mapping for w in session.scalars(sa.select(SurveyWave))}
    wave_of_run = {
        run.id: (run.details or {}).get("wave_id")
        for run in session.scalars(sa.select(ImportRun).where(ImportRun.kind == KIND))
    }
    groups: dict[tuple[str, int | None], list[QuarantinedRow]] = defaultdict(list)
    for row in session.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.kind == KIND)):
        groups[(row.source, row.import_run_id)].append(row)
    for (_, run_id), quarantined in groups.items():
        mapping = mappings.get(wave_of_run.get(run_id))  # type: ignore[arg-type]
        summary.quarantined_changed += _scrub_rows(quarantined, mapping, summary, free_text=False)
    session.flush()
    return summary
