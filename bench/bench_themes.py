"""Themes: assignment throughput (zero-shot and trained) and the SafeCity yardstick.

Throughput is measured on synthetic British-English reports built from the taxonomy's examples
and common report phrasing. SafeCity (Karlekar and Bansal 2018, train/dev splits read in place
from the shared data; the test split is held out) compares the project's classifier with a
plain scikit-learn TF-IDF + LogisticRegression baseline in the same run, and scores the
zero-shot themes through a label mapping.
"""

from __future__ import annotations

import time

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


def _safecity(quick: bool) -> str:
    data_root = shared_data()
    if data_root is None:
        return "SafeCity parts skipped: ../shared/data is not here.\n"
    folder = data_root / "safecity-karlekar-bansal-2018" / "multilabel_classification"
    if not folder.is_dir():
        return f"SafeCity parts skipped: {folder} is not here.\n"
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from saferstreets.themes.classifier import (
        TextClassifier,
        evaluate_predictions,
        read_labelled_csv,
    )
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

    def baseline() -> np.ndarray:
        vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
        X = vec.fit_transform(texts)
        Xd = vec.transform(dev.texts)
        return np.column_stack(
            [
                LogisticRegression(max_iter=2000).fit(X, Y[:, j]).predict(Xd)
                for j in range(Y.shape[1])
            ]
        )

    base_seconds, base_pred = timed(baseline)
    base_result = evaluate_predictions(dev.Y, base_pred, labels=dev.labels)
    zero = evaluate_mapped(
        folder / "dev.csv",
        text_column="Description",
        label_columns=SAFECITY_COLUMNS,
        mapping=SAFECITY_MAPPING,
        themer=ZeroShotThemer(),
    )

    def row(name: str, result: dict, seconds: float | str) -> list[object]:
        acc = [result["per_label"][c]["accuracy"] * 100 for c in SAFECITY_COLUMNS]
        return [
            name,
            seconds,
            *acc,
            float(np.mean(acc)),
            result["hamming_score"] * 100,
            result["jaccard_samples"] * 100,
            result["exact_match"] * 100,
            result["micro_f1"],
            result["macro_f1"],
        ]

    headers = [
        "model (dev split)",
        "train s",
        "commenting %",
        "ogling %",
        "groping %",
        "mean acc %",
        "Hamming score %",
        "Jaccard %",
        "exact match %",
        "micro F1",
        "macro F1",
    ]
    rows = [
        row(
            "saferstreets LR+SVM+NB-LR, word+char TF-IDF, CV thresholds", ours_result, ours_seconds
        ),
        row("scikit-learn TF-IDF (1-2) + LogisticRegression", base_result, base_seconds),
        row("saferstreets zero-shot themes, mapped", zero, "none"),
        [
            "Karlekar and Bansal 2018 CNN-RNN (published, test split)",
            "",
            "",
            "",
            "",
            "86.5 (abstract; best task or mean: unclear)",
            82.5,
            "",
            "",
            "",
            "",
        ],
    ]
    note = (
        f"\nTraining on {len(texts):,} texts; dev {len(dev.texts):,} texts. Training time ratio "
        f"saferstreets / baseline: {ours_seconds / base_seconds:.1f}. The Hamming score is "
        "1 - Hamming loss. Zero-shot mapping: commenting → verbal_harassment or "
        "sexual_comments, ogling → staring, groping → touching.\n"
    )
    return markdown_table(headers, rows) + "\n" + note


def run(*, quick: bool) -> str:
    throughput = markdown_table(["assignment", "texts", "seconds", "texts/s"], _throughput(quick))
    return "## Throughput (2 cores)\n\n" + throughput + "\n\n## SafeCity\n\n" + _safecity(quick)
