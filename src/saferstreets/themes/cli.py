"""``saferstreets themes ...``: train, evaluate, assign, label and show themes of free text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from saferstreets.cli.support import console, open_store, single_bar
from saferstreets.progress import Progress

OWNER_HELP = "report or survey_response"


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


app = typer.Typer(
    help="Themes of free text: the taxonomy, zero-shot and trained models, analyst labels.",
    no_args_is_help=True,
)


@app.command("train")
def train(
    data: Annotated[
        Path | None,
        typer.Option(help="A labelled CSV; without it, train from analysts' labels in the store."),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    label_columns: Annotated[
        str,
        typer.Option(
            help="Comma-separated label columns: several 0/1 columns (multi-label), one 0/1 "
            "column (binary) or one column of class names (single-label)."
        ),
    ] = "",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the model (.npz; a folder with --fine-tune); "
            "default data_dir/models/."
        ),
    ] = None,
    fine_tune: Annotated[
        bool,
        typer.Option(
            "--fine-tune",
            help="Also fine-tune all-MiniLM-L6-v2 and blend it with the TF-IDF model "
            "(multi-label CSV only; needs the themes-embed extra; minutes, not seconds).",
        ),
    ] = False,
    epochs: Annotated[
        int,
        typer.Option(
            help="Passes over the texts with --fine-tune (3: about 8 minutes for 7,200 short "
            "texts on 2 quiet cores)."
        ),
    ] = 3,
) -> None:
    """Train a classifier on a labelled CSV, or the store's theme model on analysts' labels."""
    from saferstreets.config import get_settings
    from saferstreets.db import session_scope
    from saferstreets.themes import service

    settings = get_settings()
    if data is not None:
        name = f"{data.stem}-finetuned" if fine_tune else f"{data.stem}.npz"
        with single_bar(f"Training on {data}") as progress:
            model, labelled = _train_on_csv(
                data, text_column, _columns(label_columns), fine_tune, epochs, progress
            )
        path = model.save(out or service.model_dir(settings) / name)
        console.print(
            f"Trained on {len(labelled.texts):,} rows of {data} "
            f"({labelled.kind}, labels: {', '.join(labelled.labels)}) in "
            f"{model.train_seconds_:.1f} s; model written to {path}",
            highlight=False,
        )
        if labelled.problems:
            console.print(f"{len(labelled.problems):,} rows were left out:", highlight=False)
            for problem in labelled.problems[:10]:
                console.print(f"  {problem}", highlight=False, markup=False)
        return
    engine = open_store(settings)
    with session_scope(engine) as session, console.status("Training from analysts' labels…"):
        model = service.train_from_store(session=session, settings=settings)
    path = model.save(out or service.default_model_path(settings))
    console.print(
        f"Trained the theme model on {model.n_train_:,} labelled texts in "
        f"{model.train_seconds_:.1f} s; written to {path}",
        highlight=False,
    )


def _train_on_csv(
    data: Path,
    text_column: str,
    label_columns: list[str],
    fine_tune: bool,
    epochs: int,
    progress: Progress,
) -> tuple[Any, Any]:
    """The TF-IDF model, or with ``fine_tune`` the fine-tuned extra's (checked installed)."""
    from saferstreets.errors import AppError
    from saferstreets.themes.classifier import read_labelled_csv, train_csv

    if not fine_tune:
        return train_csv(data, text_column=text_column, label_columns=label_columns)
    from saferstreets.themes import finetune

    finetune.require()
    labelled = read_labelled_csv(data, text_column=text_column, label_columns=label_columns)
    if labelled.kind != "multilabel":
        raise AppError(
            "--fine-tune takes 0/1 label columns (multi-label or binary), not class names"
        )
    model = finetune.FineTunedClassifier(epochs=epochs).fit(
        labelled.texts, labelled.Y, labels=labelled.labels, progress=progress
    )
    return model, labelled


@app.command("evaluate")
def evaluate(
    model: Annotated[
        Path | None,
        typer.Option(
            help="A model written by 'themes train' (a .npz file or, fine-tuned, a folder)."
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="A labelled CSV to score on; without it, "
            "score zero-shot themes on analysts' labels."
        ),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    label_columns: Annotated[
        str, typer.Option(help="Comma-separated label columns, as for training.")
    ] = "",
    zero_shot: Annotated[
        str | None,
        typer.Option(
            "--zero-shot",
            help="Score the zero-shot themes instead of a model, mapping each label column to "
            "themes: 'ColA=theme1+theme2,ColB=theme3'.",
        ),
    ] = None,
) -> None:
    """Print per-label accuracy, P/R/F1, mean label accuracy, example-based Hamming, exact match."""
    from saferstreets.themes.classifier import TextClassifier, evaluate_csv

    if data is None:
        from saferstreets.db import session_scope
        from saferstreets.themes.service import evaluate_store

        with session_scope(open_store()) as session:
            _print_json(evaluate_store(session=session))
        return
    if zero_shot is not None:
        from saferstreets.themes.zeroshot import evaluate_mapped, parse_mapping

        _print_json(
            evaluate_mapped(
                data,
                text_column=text_column,
                label_columns=_columns(label_columns),
                mapping=parse_mapping(zero_shot),
            )
        )
        return
    if model is None:
        from saferstreets.errors import AppError

        raise AppError(
            "Give --model (a trained model) or --zero-shot MAPPING",
            hint="saferstreets themes evaluate --model M --data CSV ...",
        )
    fitted: Any
    if model.is_dir():
        from saferstreets.themes import finetune

        finetune.require()
        fitted = finetune.FineTunedClassifier.load(model)
    else:
        fitted = TextClassifier.load(model)
    _print_json(
        evaluate_csv(fitted, data, text_column=text_column, label_columns=_columns(label_columns))
    )


@app.command("assign")
def assign(
    model: Annotated[
        Path | None,
        typer.Option(
            help="A theme model; default: trained from analysts' labels if enough, else zero-shot."
        ),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Score every text again, not only those new, changed or scored by another model.",
        ),
    ] = False,
) -> None:
    """Find the themes of every report's and survey response's free text."""
    from saferstreets.config import get_settings
    from saferstreets.themes.service import assign_all

    settings = get_settings()
    engine = open_store(settings)
    with single_bar("Finding themes") as progress:
        run = assign_all(
            engine=engine, model_path=model, progress=progress, settings=settings,
            everything=everything,
        )  # fmt: skip
    unchanged = run.texts - run.scored
    console.print(
        f"{run.scored:,} texts scored, {run.assignments:,} themes assigned to free text"
        + (f" ({unchanged:,} texts unchanged since they were scored)." if unchanged else "."),
        highlight=False,
    )


@app.command("label")
def label_text(
    owner_kind: Annotated[str, typer.Argument(help=OWNER_HELP)],
    owner_id: Annotated[int, typer.Argument(help="Its id.")],
    theme: Annotated[str, typer.Argument(help="A theme code (saferstreets themes show).")],
    absent: Annotated[
        bool, typer.Option("--absent", help="The text does NOT speak of it.")
    ] = False,
) -> None:
    """Record an analyst's correction: the text does (with --absent: does not) have THEME."""
    from saferstreets.db import session_scope
    from saferstreets.themes.service import label

    with session_scope(open_store()) as session:
        label(
            session=session,
            owner_kind=owner_kind,
            owner_id=owner_id,
            theme=theme,
            present=not absent,
        )
    word = "does not speak of" if absent else "speaks of"
    console.print(
        f"Recorded: {owner_kind.replace('_', ' ')} {owner_id} {word} {theme}.", highlight=False
    )


@app.command("show")
def show(
    quotes: Annotated[int, typer.Option(help="Quotes per theme.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The taxonomy with how many texts speak of each theme and scrubbed example quotes."""
    from rich.table import Table

    from saferstreets.db import session_scope
    from saferstreets.themes.service import quotes_for_theme, theme_counts
    from saferstreets.themes.taxonomy import THEMES

    with session_scope(open_store()) as session:
        counts = theme_counts(session=session)
        rows: list[dict[str, Any]] = [
            {
                "code": t.code,
                "label": t.label,
                "kind": t.kind,
                "texts": counts[t.code],
                "quotes": quotes_for_theme(session=session, theme=t.code, limit=quotes)
                if quotes
                else [],
            }
            for t in THEMES
        ]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Themes of free text")
    for col in ("code", "theme", "texts", "quotes"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row["code"],
            row["label"],
            f"{row['texts']:,}",
            "\n".join(f"“{q}”" for q in row["quotes"]),
        )
    console.print(table)
