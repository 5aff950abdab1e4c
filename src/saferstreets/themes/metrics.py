"""Scores of multi-label and single-label predictions, each named for what it measures.

Two different measures go by the name "Hamming score" in the literature, and they differ by
about 14 points on SafeCity; this module reports both, under names that cannot be confused:

``mean_label_accuracy``
    1 − Hamming loss: the share of all (text, label) decisions that are right. It always equals
    the mean of the per-label accuracies (the label-based reading of "Hamming score").
``example_hamming_score``
    The example-based score of Godbole and Sarawagi (2004): for each text |Y ∩ Z| / |Y ∪ Z| of the
    true set Y and the predicted set Z, averaged over texts, a text with both sets empty counting
    as 1. Also called example-based accuracy or Jaccard index (scikit-learn's
    ``jaccard_score(average="samples", zero_division=1)``).
``exact_match``
    The share of texts whose whole label set is right (subset accuracy).

References
----------
Godbole, S. and Sarawagi, S. (2004). Discriminative methods for multi-labeled classification.
PAKDD 2004, LNCS 3056, 22-30.
Tsoumakas, G. and Katakis, I. (2007). Multi-label classification: an overview. International
Journal of Data Warehousing and Mining 3(3), 1-13.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Kind = Literal["multilabel", "multiclass"]


def _prf(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    tp = int((t & p).sum())
    fp = int((~t & p).sum())
    fn = int((t & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def example_hamming_score(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Godbole and Sarawagi's example-based score: mean |Y ∩ Z| / |Y ∪ Z|, empty-empty = 1."""
    T = np.asarray(Y_true).astype(bool)
    P = np.asarray(Y_pred).astype(bool)
    inter = (T & P).sum(axis=1)
    union = (T | P).sum(axis=1)
    return float(np.where(union == 0, 1.0, inter / np.maximum(union, 1)).mean())


def evaluate_predictions(
    Y_true: np.ndarray, Y_pred: np.ndarray, *, labels: Sequence[str], kind: Kind = "multilabel"
) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 per label, and the multi-label scores.

    For multi-label data: ``hamming_loss``; ``mean_label_accuracy`` (= 1 − Hamming loss = the
    mean of the per-label accuracies); ``example_hamming_score`` (Godbole and Sarawagi's
    example-based score, empty-empty counted as 1) and ``exact_match``. See the module notes.
    """
    T = np.asarray(Y_true).astype(bool)
    P = np.asarray(Y_pred).astype(bool)
    n = T.shape[0]
    per_label = {}
    for j, name in enumerate(labels):
        entry = {
            "accuracy": float((T[:, j] == P[:, j]).mean()),
            **_prf(T[:, j], P[:, j]),
            "support": int(T[:, j].sum()),
        }
        per_label[name] = entry
    out: dict[str, Any] = {"n": int(n), "kind": kind, "per_label": per_label}
    micro = _prf(T.ravel(), P.ravel())
    out["micro_f1"] = micro["f1"]
    out["macro_f1"] = float(np.mean([v["f1"] for v in per_label.values()]))
    if kind == "multiclass":
        out["accuracy"] = float((T.argmax(axis=1) == P.argmax(axis=1)).mean())
        return out
    out["hamming_loss"] = float((T != P).mean())
    out["mean_label_accuracy"] = 1.0 - out["hamming_loss"]
    out["example_hamming_score"] = example_hamming_score(T, P)
    out["exact_match"] = float((T == P).all(axis=1).mean())
    return out
