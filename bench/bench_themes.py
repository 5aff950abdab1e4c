"""Themes: assignment throughput (zero-shot and trained) and the SafeCity yardstick.

Throughput is measured on synthetic British-English reports built from the taxonomy's examples
and common report phrasing. SafeCity (Karlekar and Bansal 2018, train/dev splits read in place
from the shared data; the test split is held out) compares the project's classifier with a
plain scikit-learn TF-IDF + LogisticRegression baseline in the same run, and scores the
zero-shot themes through a label mapping.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import markdown_table, shared_data, timed

SAFECITY_COLUMNS = ["Commenting", "Ogling/Facial Expressions/Staring", "Touching /Groping"]
SAFECITY_MAPPING = {
    "Commenting": ("verbal_harassment", "sexual_comments"),
    "Ogling/Facial Expressions/Staring": ("staring",),
    "Touching /Groping": ("touching",),
}
OPENERS = (
    "Walking home from work,",
    "Last Friday night",
    "Every time I go through here",
    "On my way to school",
    "Coming back from the station",
    "",
)
ENDINGS = (
    "I don't feel safe there.",
    "Please do something.",
    "It happens all the time.",
    "I now take the long way round.",
    "",
)


def _synthetic_texts(n: int, seed: int = 0) -> list[str]:
    from saferstreets.themes.taxonomy import THEMES

    rng = np.random.default_rng(seed)
    examples = [e for t in THEMES for e in t.examples]
    texts = []
    for _ in range(n):
        parts = [str(rng.choice(OPENERS))]
        parts += [str(e) for e in rng.choice(examples, size=int(rng.integers(1, 4)))]
        parts.append(str(rng.choice(ENDINGS)))
        texts.append(" ".join(p for p in parts if p).replace("  ", " "))
    return texts


def _throughput(quick: bool) -> list[list[object]]:
    from saferstreets.themes.classifier import TextClassifier
    from saferstreets.themes.taxonomy import THEME_CODES
    from saferstreets.themes.zeroshot import ZeroShotThemer

    n = 500 if quick else 10_000
    texts = _synthetic_texts(n)
    themer = ZeroShotThemer()
    zs_seconds, _ = timed(lambda: themer.score(texts), repeat=1 if quick else 2)
    # a trained theme model (as from analysts' labels): here fitted on zero-shot labels
    train = _synthetic_texts(2000, seed=1)
    model = TextClassifier(cv=3, threshold_metric="f1").fit(
        train, themer.predict(train), labels=list(THEME_CODES)
    )
    tr_seconds, _ = timed(lambda: model.predict_proba(texts), repeat=1 if quick else 2)
    return [
        ["zero-shot themes (cues + similarity)", n, zs_seconds, n / zs_seconds],
        ["trained theme model (16 labels)", n, tr_seconds, n / tr_seconds],
    ]


# Best published result per task on the same SafeCity splits (their test split; ours is dev):
# Altarawneh et al., CASCON 2025 (re-implementation of Karlekar and Bansal 2018's tasks).
PUBLISHED = (
    ("commenting accuracy", "Commenting", 83.2, "fine-tuned BERT"),
    ("ogling accuracy", "Ogling/Facial Expressions/Staring", 84.1, "CNN-RNN"),
    ("groping accuracy", "Touching /Groping", 88.7, "fine-tuned DeepSeek 7B"),
    ("exact match", "exact_match", 66.0, "AD-ASH (best model per task)"),
)
HEADERS = [
    "model (dev split)",
    "train s",
    "commenting %",
    "ogling %",
    "groping %",
    "mean label accuracy (= 1 − Hamming loss) %",
    "example-based Hamming score %",
    "exact match %",
    "micro F1",
    "macro F1",
]


def _row(name: str, result: dict, seconds: float | str) -> list[object]:
    acc = [result["per_label"][c]["accuracy"] * 100 for c in SAFECITY_COLUMNS]
    return [
        name,
        seconds,
        *acc,
        result["mean_label_accuracy"] * 100,
        result["example_hamming_score"] * 100,
        result["exact_match"] * 100,
        result["micro_f1"],
        result["macro_f1"],
    ]


def _published_rows() -> list[list[object]]:
    blank = ["", "", ""]
    return [
        [
            "Altarawneh et al. 2025, best published model per task (test split)",
            "GPU",
            *[p[2] for p in PUBLISHED[:3]],
            "85.3 (their 'Hamming score')",
            "",
            66.0,
            "",
            "",
        ],
        [
            "Karlekar and Bansal 2018 CNN-RNN (test split)",
            "GPU",
            *blank,
            "82.5 if their 'Hamming score' is 1 − Hamming loss",
            "82.5 if it is example-based",
            "",
            "",
            "",
        ],
    ]


def _verdicts(results: list[tuple[str, dict]]) -> str:
    rows = []
    for measure, key, figure, model in PUBLISHED:
        for name, result in results:
            ours = result[key] if key == "exact_match" else result["per_label"][key]["accuracy"]
            shown = round(ours * 100, 1)  # a tie at the published precision is not a win
            verdict = "beaten" if shown > figure else ("tied" if shown == figure else "not beaten")
            rows.append([measure, f"{figure} ({model})", name, shown, verdict])
    return markdown_table(["measure", "best published", "ours", "ours %", "verdict"], rows)


def _baseline(texts: list[str], Y: np.ndarray, dev_texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    X = vec.fit_transform(texts)
    Xd = vec.transform(dev_texts)
    return np.column_stack(
        [LogisticRegression(max_iter=2000).fit(X, Y[:, j]).predict(Xd) for j in range(Y.shape[1])]
    )


def _fine_tuned(
    texts: list[str], Y: np.ndarray, dev: Any, base: Any, base_seconds: float
) -> tuple[list[object], dict, str]:
    """The fine-tuned extra on the same split, reusing the default model as its TF-IDF half."""
    from saferstreets.themes import finetune
    from saferstreets.themes.metrics import evaluate_predictions

    cpu_started = finetune.cpu_seconds()
    model = finetune.FineTunedClassifier().fit(texts, Y, labels=list(dev.labels), base=base)
    result = evaluate_predictions(dev.Y, model.predict(dev.texts), labels=dev.labels)
    budget = model.budget_
    seconds = base_seconds + budget.wall_seconds
    note = (
        f"The fine-tuned row's train s include the default model's; the fine-tuning alone took "
        f"{budget.wall_seconds:.0f} s wall and {budget.cpu_seconds:.0f} s CPU "
        f"({finetune.cpu_seconds() - cpu_started:.0f} s CPU with prediction), 1-minute load "
        f"average {budget.load_average:.1f} at its end; blend weights "
        f"{', '.join(f'{w:.1f}' for w in model.blend_)} (encoder share per label)."
    )
    return _row(finetune.DESCRIPTION, result, seconds), result, note


def _safecity(quick: bool) -> str:
    data_root = shared_data()
    if data_root is None:
        return "SafeCity parts skipped: ../shared/data is not here.\n"
    folder = data_root / "safecity-karlekar-bansal-2018" / "multilabel_classification"
    if not folder.is_dir():
        return f"SafeCity parts skipped: {folder} is not here.\n"
    from saferstreets.themes import embed
    from saferstreets.themes.classifier import TextClassifier, read_labelled_csv
    from saferstreets.themes.metrics import evaluate_predictions
    from saferstreets.themes.zeroshot import ZeroShotThemer, evaluate_mapped

    train = read_labelled_csv(
        folder / "train.csv", text_column="Description", label_columns=SAFECITY_COLUMNS
    )
    dev = read_labelled_csv(
        folder / "dev.csv", text_column="Description", label_columns=SAFECITY_COLUMNS
    )
    texts, Y = train.texts, train.Y
    if quick:
        texts, Y = texts[:1500], Y[:1500]

    started = time.perf_counter()
    ours = TextClassifier().fit(texts, Y, labels=train.labels)
    ours_seconds = time.perf_counter() - started
    ours_result = evaluate_predictions(dev.Y, ours.predict(dev.texts), labels=dev.labels)
    base_seconds, base_pred = timed(lambda: _baseline(texts, Y, dev.texts))
    base_result = evaluate_predictions(dev.Y, base_pred, labels=dev.labels)
    zero = evaluate_mapped(
        folder / "dev.csv",
        text_column="Description",
        label_columns=SAFECITY_COLUMNS,
        mapping=SAFECITY_MAPPING,
        themer=ZeroShotThemer(),
    )
    default_name = "saferstreets LR+SVM+NB-LR, word+char TF-IDF, CV thresholds (default)"
    rows = [_row(default_name, ours_result, ours_seconds)]
    judged = [("saferstreets default", ours_result)]
    if embed.available():
        started = time.perf_counter()
        stack = embed.EmbeddingStack().fit(texts, Y, base=ours)
        stack_seconds = ours_seconds + time.perf_counter() - started
        stack_result = evaluate_predictions(dev.Y, stack.predict(dev.texts), labels=dev.labels)
        rows.append([*_row(embed.DESCRIPTION, stack_result, stack_seconds)])
        judged.append(("saferstreets + themes-embed extra", stack_result))
        extra = (
            f"The themes-embed extra ran ({embed.MODEL_NAME}); its train s include the "
            "default model's and the embedding of the training texts."
        )
        tuned_row, tuned_result, tuned_note = _fine_tuned(texts, Y, dev, ours, ours_seconds)
        rows.append(tuned_row)
        judged.append(("saferstreets + fine-tuned extra", tuned_result))
        extra += " " + tuned_note
    else:
        extra = "The themes-embed extra is not installed here, so its rows are absent."
    rows += [
        _row("scikit-learn TF-IDF (1-2) + LogisticRegression", base_result, base_seconds),
        _row("saferstreets zero-shot themes, mapped", zero, "none"),
        *_published_rows(),
    ]
    note = (
        f"\nTraining on {len(texts):,} texts; dev {len(dev.texts):,} texts. Training time ratio "
        f"saferstreets / baseline: {ours_seconds / base_seconds:.1f}. {extra} "
        "Mean label accuracy = 1 − Hamming loss; the example-based Hamming score is Godbole and "
        "Sarawagi's mean |Y ∩ Z| / |Y ∪ Z| over stories, a story with no label and no prediction "
        "counting as 1. Published figures are on the test split, ours on dev (the test split is "
        "held out). Zero-shot mapping: commenting → verbal_harassment or sexual_comments, "
        "ogling → staring, groping → touching.\n"
    )
    verdicts = "\n\n### Against the best published figure per task\n\n" + _verdicts(judged)
    return markdown_table(HEADERS, rows) + "\n" + note + verdicts + "\n"


def run(*, quick: bool) -> str:
    throughput = markdown_table(["assignment", "texts", "seconds", "texts/s"], _throughput(quick))
    return "## Throughput (2 cores)\n\n" + throughput + "\n\n## SafeCity\n\n" + _safecity(quick)
