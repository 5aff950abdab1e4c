"""Importing survey exports as waves, and suggesting a mapping for a new export.

One file is one transaction: the wave, its responses, the run and its quarantined answers are
stored together or not at all. Good rows go in; an answer that cannot be read is quarantined
(file, row, field, reason) and the rest of its row is kept; a row that cannot be read at all,
or repeats a respondent, is quarantined whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.analysis.waves import feel_safe_not_understood
from saferstreets.areas.models import Area
from saferstreets.db import session_scope
from saferstreets.errors import AppError, InputFileError
from saferstreets.ingest.models import ImportRun
from saferstreets.ingest.service import (
    MAX_PROBLEMS_SHOWN,
    ImportSummary,
    Problem,
    finish_run,
    quarantine,
    record_failure,
    sha256_bytes,
    start_run,
)
from saferstreets.progress import Progress
from saferstreets.surveys import normalise as norm
from saferstreets.surveys.areas import AreaMatcher
from saferstreets.surveys.filters import RowFilter
from saferstreets.surveys.mapping import LikertSpec, MultiSelectSpec, SurveyMapping, load_mapping
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.personal import PersonalColumns, RowScrubber, find_personal
from saferstreets.surveys.reader import RESPONSE_LABELS, Column, Table, read_table

KIND = "survey"


@dataclass
class SurveyImportSummary(ImportSummary):
    """An import summary that also counts answers quarantined inside stored rows."""

    fields_quarantined: int = 0
    wave_id: int | None = None


@dataclass
class _Multi:
    spec: MultiSelectSpec
    options: dict[str, str]  # normalised label -> code
    per_option: list[tuple[Column, str | None]] = field(default_factory=list)  # column, code
    cell: Column | None = None  # one cell holding every choice


@dataclass
class _Plan:
    """The mapping resolved against one file's columns."""

    fields: dict[str, Column]
    free_text: list[Column]
    likert: list[tuple[LikertSpec, Column, norm.Scale]]
    multi: list[_Multi]
    recode: dict[int, dict[str, str | None]] = field(default_factory=dict)  # column index -> codes


def import_survey(
    *,
    engine: Engine,
    path: Path,
    mapping: Path | SurveyMapping,
    wave_name: str | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
    min_progress: float | None = None,
    again: bool = False,
) -> ImportSummary:
    """Import one survey export (CSV or XLSX) into a wave; one transaction per file.

    Previews and test responses are skipped, and so are responses whose progress is below
    ``min_progress`` (when given). A file already imported (same content) is not imported again
    unless ``again``."""
    path = Path(path)
    spec = mapping if isinstance(mapping, SurveyMapping) else load_mapping(mapping)
    name = (wave_name or spec.wave.name or "").strip()
    if not name:
        raise AppError(
            "The survey wave has no name",
            hint="give --wave NAME or set name in the mapping's [wave] table",
        )
    source = str(path)
    sha = sha256_bytes(path.read_bytes()) if path.is_file() else None
    try:
        table = read_table(
            path,
            sheet=sheet or spec.file.sheet,
            header_rows=spec.file.header_rows,
            wanted=spec.column_names(),
        )
        plan = _resolve(spec, table)
        personal = _personal(spec, table, plan)
        with session_scope(engine) as session:
            summary = _store(
                session=session,
                table=table,
                plan=plan,
                personal=personal,
                spec=spec,
                wave_name=name,
                sha=sha,
                source=source,
                progress=progress,
                row_filter=RowFilter.for_columns(table.columns, min_progress=min_progress),
                again=again,
            )
    except Exception as exc:
        message = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
        with session_scope(engine) as session:
            record_failure(session=session, kind=KIND, source=source, sha256=sha, message=message)
        raise
    if summary.status == "ok" and summary.rows_stored:
        _assign_points(engine)
    return summary


def _resolve(spec: SurveyMapping, table: Table) -> _Plan:
    """Find each column the mapping names; every missing or ambiguous name is reported at once."""
    found = table.found
    errors: dict[str, str] = {}

    def one(name: str, where: str) -> Column | None:
        if not found.find(name):
            close = found.suggestions(name)
            errors[where] = f"no column '{name}'" + (
                f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            )
            return None
        try:
            return found.single(name)
        except LookupError as exc:
            errors[where] = f"'{name}' {exc}"
            return None

    fields: dict[str, Column] = {}
    free_text: list[Column] = []
    for field_name, names in spec.columns.items():
        for name in names:
            column = one(name, f"[columns] {field_name}")
            if column is None:
                continue
            if field_name == "free_text":
                free_text.append(column)
            else:
                fields[field_name] = column
    likert = []
    for spec_l in spec.likert:
        column = one(spec_l.column, f"[[likert]] {spec_l.key}")
        if column is not None:
            likert.append((spec_l, column, norm.Scale(spec_l.scale, spec_l.missing)))
    multi = []
    for spec_m in spec.multi_select:
        where = f"[[multi_select]] {spec_m.key}"
        block = found.find(spec_m.question)
        options = {norm.key(label): code for label, code in spec_m.options.items()}
        item = _Multi(spec=spec_m, options=options)
        if not block:
            one(spec_m.question, where)
            continue
        if spec_m.delimiter is not None or len(block) == 1:
            item.cell = one(spec_m.question, where)
        else:
            for column in block:
                label = column.option or column.question
                item.per_option.append((column, options.get(norm.key(label))))
        multi.append(item)
    recode: dict[int, dict[str, str | None]] = {}
    for header, codes in spec.recode.items():
        column = one(header, f"[recode.{header!r}]")
        if column is not None:
            recode[column.index] = {norm.key(c): (v or None) for c, v in codes.items()}
    if errors:
        raise InputFileError(
            table.source,
            f"{len(errors)} column{'s' if len(errors) != 1 else ''} named in the mapping "
            f"{'are' if len(errors) != 1 else 'is'} not in the file",
            field_errors=errors,
            hint=f"fix the header text in the mapping ({spec.source}); headers are matched "
            "ignoring case and spacing",
        )
    return _Plan(fields=fields, free_text=free_text, likert=likert, multi=multi, recode=recode)


def _used_columns(plan: _Plan) -> set[int]:
    """The indexes of every column the mapping reads."""
    used = {c.index for c in plan.fields.values()} | {c.index for c in plan.free_text}
    used |= {column.index for _, column, _ in plan.likert}
    for item in plan.multi:
        if item.cell is not None:
            used.add(item.cell.index)
        used |= {column.index for column, _ in item.per_option}
    return used


def _personal(spec: SurveyMapping, table: Table, plan: _Plan) -> PersonalColumns:
    """The columns to drop; a column both mapped and under [drop] is a mistake in the mapping."""
    used = _used_columns(plan)
    personal = find_personal(table, drop=spec.drop, used=used)
    both = sorted(set(personal.dropped) & used)
    if both:
        labels = {c.index: c.label for c in table.columns}
        raise InputFileError(
            spec.source,
            "the mapping both uses and drops a column",
            field_errors={"[drop] columns": ", ".join(f"'{labels[i]}'" for i in both)},
            hint="remove it from [drop], or stop mapping it",
        )
    return personal


def _store(
    *,
    session: Session,
    table: Table,
    plan: _Plan,
    personal: PersonalColumns,
    spec: SurveyMapping,
    wave_name: str,
    sha: str | None,
    source: str,
    progress: Progress | None,
    row_filter: RowFilter,
    again: bool = False,
) -> SurveyImportSummary:
    summary = SurveyImportSummary(kind=KIND, source=source)
    wave = session.scalar(sa.select(SurveyWave).where(SurveyWave.name == wave_name))
    if sha is not None:
        earlier = session.scalars(
            sa.select(ImportRun).where(
                ImportRun.kind == KIND, ImportRun.sha256 == sha, ImportRun.status == "ok"
            )
        ).all()
        live = set(session.scalars(sa.select(SurveyWave.id)))
        done = [
            r
            for r in earlier
            if (r.details or {}).get("wave_id") in live
            and not (r.details or {}).get("wave_deleted")
        ]
        same_wave = [
            r for r in done if wave is not None and (r.details or {})["wave_id"] == wave.id
        ]
        if same_wave or (done and not again):
            first = (same_wave or done)[-1]
            run = start_run(session=session, kind=KIND, source=source, sha256=sha)
            run.details = {**_same_as(first), "same_as_run": first.id}
            summary.status = "skipped"
            summary.wave_id = (first.details or {})["wave_id"]
            summary.message = (
                f"this file was already imported into wave '{(first.details or {}).get('wave')}' "
                f"(import run {first.id}); nothing was changed"
                + ("" if same_wave else "; to import it into another wave as well, use --again")
            )
            finish_run(session=session, run=run, summary=summary)
            return summary
    # Nothing is written until every row is read: on SQLite the first write takes the store's
    # one write lock, which a report posted meanwhile would then wait for while rows are read.
    if wave is None:
        wave = SurveyWave(
            name=wave_name,
            period_start=spec.wave.period_start,
            period_end=spec.wave.period_end,
            source=spec.wave.source or Path(source).name,
            mapping=spec.to_dict(),
        )
    known_refs: set[str] = set()
    if "respondent" in plan.fields and wave.id is not None:
        known_refs = set(
            session.scalars(
                sa.select(SurveyResponse.respondent_ref).where(
                    SurveyResponse.wave_id == wave.id, SurveyResponse.respondent_ref.is_not(None)
                )
            )
        )
    areas = AreaMatcher(session) if {"area", "postcode"} & set(plan.fields) else None
    width = len(table.columns)
    is_csv = table.sheet is None
    whole_row_problems: list[Problem] = list(table.problems)
    field_problems: list[Problem] = []
    first_seen: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    unmatched_areas = 0
    total = len(table.rows)
    last_row_number = table.rows[-1][0] if table.rows else 0
    as_written = {c.index for name, c in plan.fields.items() if name in _AS_WRITTEN}
    scrubber = RowScrubber(table.columns, personal, as_written=as_written)

    for done_count, (row_number, cells) in enumerate(table.rows, start=1):
        if progress and (done_count % 250 == 0 or done_count == total):
            progress("Reading responses", done_count, total)
        if row_filter.reason(cells):
            continue
        raw = scrubber.raw(cells)
        if is_csv and len(cells) != width:
            extra = [v for v in cells[width:] if norm.cell_text(v)]
            if len(cells) < width:
                cut = " (the file may be truncated)" if row_number == last_row_number else ""
                whole_row_problems.append(
                    Problem(
                        table.source,
                        row_number,
                        None,
                        f"has {len(cells)} of the header's {width} columns{cut}",
                        raw,
                    )
                )
                continue
            if extra:
                whole_row_problems.append(
                    Problem(
                        table.source,
                        row_number,
                        None,
                        f"has {len(cells)} cells but the header has {width} columns",
                        raw,
                    )
                )
                continue

        def value(column: Column, cells: list[Any] = cells) -> Any:
            cell = cells[column.index] if column.index < len(cells) else None
            codes = plan.recode.get(column.index)
            if codes is None or norm.cell_text(cell) is None:
                return cell
            return codes.get(norm.key(norm.cell_text(cell)), cell)  # an unknown code: as written

        def bad(column: Column, reason: str, row: int = row_number, raw: dict = raw) -> None:
            # A reason quotes the answer: an email typed as a postcode must not be kept there.
            reason = scrubber.text(reason) or reason
            field_problems.append(Problem(table.source, row, column.label, reason, raw))

        record: dict[str, Any] = {
            "wave_id": wave.id,
            "raw": raw,
            "concerns": [],
            "settings": [],
            "feel_safe": {},
        }
        ref_column = plan.fields.get("respondent")
        if ref_column is not None:
            ref = norm.cell_text(value(ref_column))
            if ref is not None:
                if len(ref) > 64:
                    bad(ref_column, f"respondent ID '{ref[:20]}…' is longer than 64 characters")
                    ref = None
                elif ref in known_refs:
                    summary.rows_duplicate += 1
                    continue
                elif ref in first_seen:
                    whole_row_problems.append(
                        Problem(
                            table.source,
                            row_number,
                            ref_column.label,
                            f"respondent '{ref}' appears again (first at row {first_seen[ref]}); "
                            "this row was not stored",
                            raw,
                        )
                    )
                    continue
                else:
                    first_seen[ref] = row_number
            record["respondent_ref"] = ref

        for name, column in plan.fields.items():
            cell = value(column)
            try:
                if name == "date":
                    record["answered_on"] = norm.parse_date(cell, order=spec.file.date_order)
                elif name == "age_band":
                    record["age_band"] = _age_band(cell, spec.age_bands)
                elif name == "gender":
                    text = norm.cell_text(cell)
                    if text and len(text) > 32:
                        raise norm.AnswerError(f"'{text[:40]}…' is longer than 32 characters")
                    record["gender"] = text
                elif name == "postcode":
                    record["postcode"] = norm.postcode(cell)
                elif name == "latitude":
                    record["latitude"] = norm.coordinate(cell, low=-90, high=90, what="latitude")
                elif name == "longitude":
                    record["longitude"] = norm.coordinate(
                        cell, low=-180, high=180, what="longitude"
                    )
                elif name == "area" and areas is not None:
                    text = norm.cell_text(cell)
                    if text is not None:
                        if areas.count == 0:
                            unmatched_areas += 1
                        else:
                            record.update(areas.locate(text))
            except norm.AnswerError as exc:
                bad(column, str(exc))
        if areas is not None and record.get("postcode"):
            areas.by_postcode(record)  # the gazetteer's districts and sectors, if no area is set
        if (record.get("latitude") is None) != (record.get("longitude") is None):
            record["latitude"] = record["longitude"] = None
            column = plan.fields.get("latitude") or plan.fields["longitude"]
            bad(column, "has a latitude without a longitude, or the other way round")

        texts = [
            t
            for t in (norm.cell_text(value(c)) for c in plan.free_text)
            if t and not norm.is_non_answer(t)
        ]
        record["free_text"] = scrubber.text("\n\n".join(texts)) or None

        for spec_l, column, scale in plan.likert:
            try:
                label = scale.normalise(value(column))
            except norm.AnswerError as exc:
                bad(column, f"{exc}; question {spec_l.key}")
                continue
            if label is not None:
                record["feel_safe"][spec_l.key] = label

        for item in plan.multi:
            codes: list[str] = record[item.spec.key]
            chosen: list[tuple[Column, str]] = []
            if item.cell is not None:
                for choice in norm.split_choices(
                    value(item.cell), delimiter=item.spec.delimiter, known=set(item.options)
                ):
                    chosen.append((item.cell, choice))
            else:
                for column, _code in item.per_option:
                    if norm.is_selected(value(column)):
                        chosen.append((column, column.option or column.question))
            for column, choice in chosen:
                code = item.options.get(norm.key(choice))
                if code is None and key_is_response(choice):
                    continue
                if code is None:
                    code = item.spec.unknown
                if code is None:
                    bad(
                        column,
                        f"option '{choice}' is not in the mapping's options for "
                        f"'{item.spec.question}'; add it (to a code, or to \"other\")",
                    )
                    continue
                if code not in codes:
                    codes.append(code)
        records.append(record)

    session.add(wave)
    session.flush()
    run = start_run(session=session, kind=KIND, source=source, sha256=sha)
    for record in records:
        record["wave_id"] = wave.id
    if records:
        session.execute(sa.insert(SurveyResponse), records)
    quarantine(session=session, run=run, kind=KIND, problems=whole_row_problems + field_problems)

    summary.rows_read = total + len(table.problems)
    summary.rows_stored = len(records)
    summary.rows_quarantined = len(whole_row_problems)
    summary.fields_quarantined = len(field_problems)
    summary.wave_id = wave.id
    summary.problems = (whole_row_problems + field_problems)[:MAX_PROBLEMS_SHOWN]
    notes = [f"wave '{wave.name}'", *scrubber.notes(), *personal.warnings(table), *table.notes]
    notes += [n for n in (row_filter.note(), _outside_period(wave, records)) if n]
    notes += [n for n in [_held_elsewhere(session, wave, records)] if n]
    if field_problems:
        rows_with = len({p.row_number for p in field_problems})
        notes.append(f"{len(field_problems):,} answers in {rows_with:,} stored rows quarantined")
    if summary.rows_duplicate:
        notes.append(f"{summary.rows_duplicate:,} respondents were already in this wave")
    unread = feel_safe_not_understood([(wave.name, (r["feel_safe"] for r in records))])
    notes += [f"{u.sentence()} (a [recode] table in the mapping)" for u in unread]
    notes += areas.notes() if areas is not None else []
    if unmatched_areas:
        notes.append(
            f"{unmatched_areas:,} area answers not matched: no areas are imported yet "
            "(import boundaries, then import this file into a new wave)"
        )
    summary.message = "; ".join(notes)
    finish_run(session=session, run=run, summary=summary)
    run.details = {
        "wave_id": wave.id,
        "wave": wave.name,
        "sheet": table.sheet,
        "header_rows": table.header_rows,
        "fields_quarantined": len(field_problems),
        "skipped": dict(row_filter.skipped),
        **scrubber.details(),
    }
    # The run counts every entry it put in the quarantine: whole rows and single answers alike.
    run.rows_quarantined = len(whole_row_problems) + len(field_problems)
    return summary


_AS_WRITTEN = ("respondent", "date", "latitude", "longitude")  # not free text: never scrubbed


def _same_as(run: ImportRun) -> dict[str, Any]:
    details = run.details or {}
    return {"wave_id": details["wave_id"], "wave": details.get("wave")}


def _outside_period(wave: SurveyWave, records: list[dict[str, Any]]) -> str | None:
    """A note when answers are dated outside the wave's period (a wrong date order, say)."""
    start, end = wave.period_start, wave.period_end
    if start is None and end is None:
        return None
    days = [r["answered_on"] for r in records if r.get("answered_on") is not None]
    out = sorted(d for d in days if (start and d < start) or (end and d > end))
    if not out:
        return None
    period = f"{start or '…'} to {end or '…'}"
    return (
        f"{len(out):,} of {len(days):,} answers are dated outside the wave's period ({period}): "
        f"{out[0]} to {out[-1]}; check the mapping's date_order and the period"
    )


def _held_elsewhere(
    session: Session, wave: SurveyWave, records: list[dict[str, Any]]
) -> str | None:
    """A note when most respondents (same ID, same date) are already in another wave: the same
    survey imported again under another name, from a re-saved or a later export."""
    mine = {(r["respondent_ref"], r.get("answered_on")) for r in records if r.get("respondent_ref")}
    refs = sorted({ref for ref, _ in mine})
    r, w = SurveyResponse, SurveyWave
    held: Counter[str] = Counter()
    for i in range(0, len(refs), 5000):
        rows = session.execute(
            sa.select(w.name, r.respondent_ref, r.answered_on)
            .join(w, w.id == r.wave_id)
            .where(r.wave_id != wave.id, r.respondent_ref.in_(refs[i : i + 5000]))
        )
        held.update(name for name, ref, day in rows if (ref, day) in mine)
    name, n = held.most_common(1)[0] if held else ("", 0)
    if not mine or n < len(mine) / 2:
        return None
    return (
        f"{n:,} of these {len(mine):,} respondents (the same ID and date) are already in wave "
        f"'{name}': the same survey imported again? If so, delete this wave (saferstreets "
        "surveys delete)"
    )


def key_is_response(text: str) -> bool:
    return norm.key(text) in RESPONSE_LABELS


def _age_band(cell: Any, recode: dict[str, str]) -> str | None:
    text = norm.cell_text(cell)
    if text is None:
        return None
    if recode:
        band = recode.get(norm.key(text))
        if band is not None:
            return band
        if norm.key(text) in norm.AGE_MISSING:
            return None
        raise norm.AnswerError(f"'{text}' is not in the mapping's [age_bands]")
    return norm.age_band(text)


def _assign_points(engine: Engine) -> None:
    """Fill area codes and H3 cells for responses with a point, where boundaries are imported."""
    try:
        from saferstreets.areas.service import assign_points
    except ImportError:
        return
    with session_scope(engine) as session:
        has_points = session.scalar(
            sa.select(sa.func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.latitude.is_not(None), SurveyResponse.h3_cell.is_(None))
        )
        has_areas = session.scalar(sa.select(sa.func.count()).select_from(Area))
    if has_points and has_areas:
        assign_points(engine=engine, tables=["survey_response"], only_missing=True)


def suggest_mapping(path: Path, sheet: str | None = None) -> str:
    """A mapping (TOML text) to start from, read from an export's headers and values."""
    from saferstreets.surveys.suggest import suggest

    return suggest(Path(path), sheet=sheet)
