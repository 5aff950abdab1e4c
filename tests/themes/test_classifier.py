"""The trainable classifier: CSV reading (good and bad rows), metrics, model files, SafeCity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    hamming_loss,
    jaccard_score,
    precision_recall_fscore_support,
)
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.errors import InputFileError
from saferstreets.themes.classifier import (
    TextClassifier,
    evaluate_csv,
    evaluate_predictions,
    read_labelled_csv,
    train_csv,
)

runner = CliRunner()

SAFECITY_COLUMNS = ["Commenting", "Ogling/Facial Expressions/Staring", "Touching /Groping"]

# A small synthetic task: two labels, each carried by its own words, with noise words around.
_RNG = np.random.default_rng(7)
_A = ["bus", "train", "station", "platform", "taxi"]
_B = ["dark", "unlit", "gloomy", "lights out", "pitch black"]
_NOISE = ["the", "road", "was", "near", "my", "home", "late", "evening", "again", "walking"]


def _toy(n: int) -> tuple[list[str], np.ndarray]:
    texts, Y = [], np.zeros((n, 2), dtype=np.int8)
    for i in range(n):
        words = list(_RNG.choice(_NOISE, 5))
        if _RNG.random() < 0.4:
            words.append(str(_RNG.choice(_A)))
            Y[i, 0] = 1
        if _RNG.random() < 0.4:
            words.append(str(_RNG.choice(_B)))
            Y[i, 1] = 1
        _RNG.shuffle(words)
        texts.append(" ".join(words))
    return texts, Y


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_the_two_hamming_scores_by_hand() -> None:
    """Godbole and Sarawagi's example-based score counts a story with no label and no
    prediction as 1; 1 - Hamming loss counts label decisions. Worked by hand on four stories."""
    T = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]])
    P = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 0], [1, 0, 0]])
    got = evaluate_predictions(T, P, labels=["c", "o", "g"])
    # per story |Y∩Z|/|Y∪Z|: 1/2, empty-empty 1, 2/2, 0/2
    assert got["example_hamming_score"] == pytest.approx((0.5 + 1 + 1 + 0) / 4)
    # wrong decisions: 1 + 0 + 0 + 2 = 3 of 12
    assert got["hamming_loss"] == pytest.approx(3 / 12)
    assert got["mean_label_accuracy"] == pytest.approx(9 / 12)
    assert got["exact_match"] == pytest.approx(2 / 4)


def test_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    T = (rng.random((200, 3)) < 0.35).astype(int)
    P = np.where(rng.random((200, 3)) < 0.8, T, 1 - T)
    got = evaluate_predictions(T, P, labels=["a", "b", "c"])
    # 1 - Hamming loss is the mean of the per-label accuracies, not the example-based score
    assert got["mean_label_accuracy"] == pytest.approx(1 - hamming_loss(T, P))
    assert got["mean_label_accuracy"] == pytest.approx((T == P).mean(axis=0).mean())
    assert got["exact_match"] == pytest.approx(accuracy_score(T, P))
    assert got["example_hamming_score"] == pytest.approx(
        jaccard_score(T, P, average="samples", zero_division=1.0)
    )
    assert got["example_hamming_score"] < got["mean_label_accuracy"]
    precision, recall, f1, _ = precision_recall_fscore_support(T, P, zero_division=0)
    for j, name in enumerate("abc"):
        assert got["per_label"][name]["precision"] == pytest.approx(precision[j])
        assert got["per_label"][name]["recall"] == pytest.approx(recall[j])
        assert got["per_label"][name]["f1"] == pytest.approx(f1[j])
        assert got["per_label"][name]["accuracy"] == pytest.approx((T[:, j] == P[:, j]).mean())
    assert got["macro_f1"] == pytest.approx(f1.mean())


def test_learns_a_multilabel_task_and_round_trips_through_a_file(tmp_path: Path) -> None:
    texts, Y = _toy(400)
    model = TextClassifier(cv=3).fit(texts[:300], Y[:300], labels=["transport", "dark"])
    result = evaluate_predictions(Y[300:], model.predict(texts[300:]), labels=model.labels_)
    assert result["exact_match"] > 0.95
    path = model.save(tmp_path / "toy")
    assert path.suffix == ".npz"
    with np.load(path, allow_pickle=False) as npz:  # no pickled objects inside
        assert "coef" in npz.files
    loaded = TextClassifier.load(path)
    np.testing.assert_allclose(
        loaded.decision_function(texts[300:]), model.decision_function(texts[300:]), atol=1e-4
    )
    assert (loaded.predict(texts[300:]) == model.predict(texts[300:])).all()
    p = loaded.predict_proba(texts[300:])
    assert ((p >= 0) & (p <= 1)).all()


def test_reads_multilabel_binary_and_class_columns(tmp_path: Path) -> None:
    multi = _write_csv(
        tmp_path / "m.csv",
        ["text", "a", "b"],
        [["one", "1", "0"], ["two", "yes", "no"], ["three", "0", "TRUE"]],
    )
    data = read_labelled_csv(multi, text_column="text", label_columns=["a", "b"])
    assert data.kind == "multilabel" and data.labels == ["a", "b"]
    assert data.Y.tolist() == [[1, 0], [1, 0], [0, 1]]

    binary = _write_csv(tmp_path / "b.csv", ["text", "y"], [["one", "1"], ["two", "0"]])
    data = read_labelled_csv(binary, text_column="text", label_columns=["y"])
    assert data.kind == "multilabel" and data.labels == ["y"] and data.Y.ravel().tolist() == [1, 0]

    classes = _write_csv(
        tmp_path / "c.csv", ["text", "kind"], [["one", "bus"], ["two", "park"], ["three", "bus"]]
    )
    data = read_labelled_csv(classes, text_column="text", label_columns=["kind"])
    assert data.kind == "multiclass" and data.labels == ["bus", "park"]
    assert data.Y.argmax(axis=1).tolist() == [0, 1, 0]


def test_bad_rows_are_named_and_good_rows_kept(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "bad.csv",
        ["text", "a", "b"],
        [["fine", "1", "0"], ["", "1", "1"], ["odd", "maybe", "0"], ["ok", "0", "1"]],
    )
    data = read_labelled_csv(path, text_column="text", label_columns=["a", "b"])
    assert data.texts == ["fine", "ok"]
    assert data.rows_read == 4
    messages = [str(p) for p in data.problems]
    assert messages == [
        f"{path}, row 3, field 'text': the text is empty",
        f"{path}, row 4, field 'a': 'maybe' is not 0/1, yes/no or true/false",
    ]


def test_missing_column_is_one_clear_error(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "x.csv", ["Description", "y"], [["a", "1"]])
    with pytest.raises(InputFileError) as info:
        read_labelled_csv(path, text_column="text", label_columns=["y"])
    assert "has no column 'text'" in str(info.value)
    assert "'Description'" in str(info.value)  # the hint lists what is there


def test_single_label_with_classes_trains_and_evaluates(tmp_path: Path) -> None:
    texts, Y = _toy(300)
    kinds = np.where(Y[:, 0] == 1, "transport", np.where(Y[:, 1] == 1, "dark", "neither"))
    rows = [[t, k] for t, k in zip(texts, kinds, strict=True)]
    train = _write_csv(tmp_path / "train.csv", ["text", "kind"], rows[:220])
    dev = _write_csv(tmp_path / "dev.csv", ["text", "kind"], rows[220:])
    model, data = train_csv(train, text_column="text", label_columns=["kind"])
    assert data.kind == "multiclass"
    result = evaluate_csv(model, dev, text_column="text", label_columns=["kind"])
    assert result["kind"] == "multiclass"
    assert result["accuracy"] > 0.85
    assert set(result["per_label"]) == {"dark", "neither", "transport"}


def test_cli_train_and_evaluate_any_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFERSTREETS_DATA_DIR", str(tmp_path / "data"))
    from saferstreets.config import get_settings

    get_settings.cache_clear()
    texts, Y = _toy(300)
    rows = [[t, str(a), str(b)] for t, (a, b) in zip(texts, Y, strict=True)]
    train = _write_csv(tmp_path / "train.csv", ["story", "bus", "dark"], rows[:240])
    dev = _write_csv(tmp_path / "dev.csv", ["story", "bus", "dark"], rows[240:])
    out = tmp_path / "model.npz"
    result = runner.invoke(
        app,
        [
            "themes",
            "train",
            "--data",
            str(train),
            "--text-column",
            "story",
            "--label-columns",
            "bus,dark",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and "Trained on 240 rows" in result.output
    result = runner.invoke(
        app,
        [
            "themes",
            "evaluate",
            "--model",
            str(out),
            "--data",
            str(dev),
            "--text-column",
            "story",
            "--label-columns",
            "bus,dark",
        ],
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    for key in ("mean_label_accuracy", "example_hamming_score", "exact_match", "per_label"):
        assert key in scores
    assert scores["per_label"]["bus"]["f1"] > 0.9

    # the default place for a model is data_dir/models
    result = runner.invoke(
        app,
        [
            "themes",
            "train",
            "--data",
            str(train),
            "--text-column",
            "story",
            "--label-columns",
            "bus,dark",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "models" / "train.npz").exists()

    result = runner.invoke(
        app,
        [
            "themes",
            "evaluate",
            "--model",
            str(out),
            "--data",
            str(dev),
            "--text-column",
            "story",
            "--label-columns",
            "dark,bus",
        ],
    )
    assert result.exit_code == 1
    assert "differ from the model's" in result.output
    assert "Traceback" not in result.output
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.shared_data
def test_safecity_dev_against_the_published_figures(shared_data: Path) -> None:
    """SafeCity dev split, each figure under its own name (docs/themes.md, "SafeCity").

    Karlekar and Bansal (2018) report a multi-label "Hamming score" of 82.5% without a formula
    we could read: on the label-based reading (1 - Hamming loss = mean label accuracy) ours
    beats it, on the example-based reading (Godbole and Sarawagi) it does not. The 86.5%
    single-label accuracy is beaten by the best task only. The rest are floors under the
    measured figures (80.5 / 84.1 / 87.4, mean 84.0, example-based 69.9, exact match 62.6) so
    a regression shows. Trained on train, scored on dev (the test split is held out).
    """
    folder = shared_data / "safecity-karlekar-bansal-2018" / "multilabel_classification"
    model, _ = train_csv(
        folder / "train.csv", text_column="Description", label_columns=SAFECITY_COLUMNS
    )
    result = evaluate_csv(
        model, folder / "dev.csv", text_column="Description", label_columns=SAFECITY_COLUMNS
    )
    data = read_labelled_csv(
        folder / "dev.csv", text_column="Description", label_columns=SAFECITY_COLUMNS
    )
    pred = model.predict(data.texts)
    # each measure checked against an independent computation with scikit-learn
    assert result["mean_label_accuracy"] == pytest.approx(1 - hamming_loss(data.Y, pred))
    assert result["example_hamming_score"] == pytest.approx(
        jaccard_score(data.Y, pred, average="samples", zero_division=1.0)
    )
    assert result["exact_match"] == pytest.approx(accuracy_score(data.Y, pred))

    accuracies = [result["per_label"][c]["accuracy"] for c in SAFECITY_COLUMNS]
    assert max(accuracies) > 0.865  # the paper's single-label figure, best-task reading
    assert result["mean_label_accuracy"] > 0.825  # the paper's 82.5%, label-based reading
    assert result["example_hamming_score"] < 0.825  # ... not reached, example-based reading
    assert result["mean_label_accuracy"] > 0.83
    assert result["example_hamming_score"] > 0.69
    assert result["exact_match"] > 0.615
