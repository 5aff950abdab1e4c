"""A trainable text classifier for any labelled CSV: single-label or multi-label.

The model is a linear ensemble over word (1-3) and character (``char_wb`` 2-5) n-gram TF-IDF
features with sublinear term frequency: a logistic regression, a linear SVM and an NB-LR (a
logistic regression on features scaled by naive-Bayes log-count ratios, Wang and Manning 2012).
Each member's decision is divided by its spread on the training data and the three are
averaged; since every member is linear, the ensemble collapses to one weight vector per label.
Per-label decision thresholds, and a Platt scaling that turns decisions into confidences, are
fitted on out-of-fold decisions from k-fold cross-validation on the training data only.

Model files are ``.npz`` archives of plain arrays and one JSON header, read with
``allow_pickle=False``: loading a model cannot run code, so a model file need not be trusted
the way a pickle or joblib file must be.

References
----------
Wang, S. and Manning, C. D. (2012). Baselines and bigrams: simple, good sentiment and topic
classification. ACL 2012, 90-94.
Platt, J. (1999). Probabilistic outputs for support vector machines. In Advances in Large
Margin Classifiers, 61-74.
Karlekar, S. and Bansal, M. (2018). SafeCity: understanding diverse forms of sexual harassment
personal stories. EMNLP 2018, 2805-2811.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC

from saferstreets.errors import AppError, InputFileError
from saferstreets.ingest.records import Problem, decode_text
from saferstreets.themes.metrics import Kind, evaluate_predictions

FORMAT = "saferstreets-text-classifier/1"

TRUE_WORDS = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "0.0", "false", "no", "n", "f", ""}


def normalise_text(text: str) -> str:
    """Unescape HTML entities and collapse white space (nothing else: the n-grams do the rest)."""
    return re.sub(r"\s+", " ", html.unescape(text or "")).strip()


# --------------------------------------------------------------------------- labelled data


@dataclass
class LabelledData:
    """Texts and labels read from a CSV.

    ``Y`` is an (n, k) 0/1 matrix: one column per label for multi-label data (a single 0/1
    column is the binary case), one column per class (one-hot) for single-label data with
    class values.
    """

    source: str
    texts: list[str]
    labels: list[str]
    Y: np.ndarray
    kind: Kind
    label_columns: list[str]
    rows_read: int = 0
    problems: list[Problem] = field(default_factory=list)


def _truth(value: str) -> bool | None:
    low = value.strip().lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


def read_labelled_csv(
    path: Path | str, *, text_column: str, label_columns: Sequence[str]
) -> LabelledData:
    """Read a labelled CSV; rows with no text or an unreadable label are set aside as problems.

    One label column whose values are all 0/1 (or yes/no, true/false) is binary; one label
    column with any other values holds class names (single-label, several classes); several
    label columns must each be 0/1 (multi-label).
    """
    path = Path(path)
    source = str(path)
    label_columns = [c.strip() for c in label_columns if c.strip()]
    if not label_columns:
        raise AppError("No label columns were given", hint="name the columns that hold the labels")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot be read: {exc.strerror}") from exc
    reader = csv.DictReader(io.StringIO(decode_text(raw, source), newline=""))
    header = [h for h in (reader.fieldnames or [])]
    stripped = {h.strip(): h for h in header}
    missing = [c for c in [text_column, *label_columns] if c not in header and c not in stripped]
    if missing:
        raise InputFileError(
            path,
            f"has no column {', '.join(repr(m) for m in missing)}",
            hint=f"its columns are: {', '.join(repr(h) for h in header)}",
        )

    def col(name: str) -> str:
        return name if name in header else stripped[name]

    rows: list[tuple[int, str, list[str]]] = []
    problems: list[Problem] = []
    n = 0
    for n, row in enumerate(reader, start=2):  # row 1 is the header
        text = normalise_text(row.get(col(text_column)) or "")
        values = [(row.get(col(c)) or "").strip() for c in label_columns]
        if not text:
            problems.append(Problem(source, n, text_column, "the text is empty", raw=dict(row)))
            continue
        rows.append((n, text, values))
    rows_read = max(n - 1, 0)

    single = len(label_columns) == 1
    binary = not single or all(_truth(v[0]) is not None for _, _, v in rows)
    texts: list[str] = []
    if binary:
        kind: Kind = "multilabel"
        labels = list(label_columns)
        matrix: list[list[int]] = []
        for row_number, text, values in rows:
            truths = [_truth(v) for v in values]
            bad = [c for c, t in zip(label_columns, truths, strict=True) if t is None]
            if bad:
                problems.append(
                    Problem(
                        source,
                        row_number,
                        bad[0],
                        f"{values[label_columns.index(bad[0])]!r} is not 0/1, yes/no or true/false",
                    )
                )
                continue
            texts.append(text)
            matrix.append([int(bool(t)) for t in truths])
        Y = np.array(matrix, dtype=np.int8).reshape(len(matrix), len(labels))
    else:
        kind = "multiclass"
        kept = []
        for row_number, text, values in rows:
            if not values[0]:
                problems.append(Problem(source, row_number, label_columns[0], "the label is empty"))
                continue
            kept.append((text, values[0]))
        labels = sorted({v for _, v in kept})
        index = {c: i for i, c in enumerate(labels)}
        Y = np.zeros((len(kept), len(labels)), dtype=np.int8)
        for i, (text, value) in enumerate(kept):
            texts.append(text)
            Y[i, index[value]] = 1
    if not texts:
        raise InputFileError(path, "has no rows with both a text and a readable label")
    return LabelledData(source, texts, labels, Y, kind, list(label_columns), rows_read, problems)


# --------------------------------------------------------------------------- the model


def _nb_ratio(X: sp.csr_matrix, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    p = alpha + np.asarray(X[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(X[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


class TextClassifier:
    """Linear LR + SVM + NB-LR ensemble on word and character TF-IDF; fit() returns self.

    Parameters
    ----------
    C_lr, C_svm, C_nb : float
        Inverse regularisation of the logistic regression, the linear SVM and the NB-LR.
    cv : int
        Folds of the cross-validation on the training data that fits thresholds and Platt
        scaling (0 or 1: threshold at 0, default scaling).
    threshold_metric : {"accuracy", "f1"}
        What each label's threshold maximises on the out-of-fold decisions.
    seed : int
        Seed of the fold split and the SVM.

    Attributes
    ----------
    labels_ : list of str
    kind_ : "multilabel" or "multiclass"
    coef_ : ndarray (n_features, k)
        The collapsed ensemble weights; ``intercept_`` (k,) the biases.
    thresholds_ : ndarray (k,)
        Decision thresholds (multi-label only).
    platt_ : ndarray (k, 2)
        Slope and intercept turning a decision into a probability.
    oof_decision_ : ndarray (n, k)
        Out-of-fold decisions on the training texts (after fit).
    train_seconds_ : float
    n_train_ : int
    version_ : str
    """

    def __init__(
        self,
        *,
        C_lr: float = 1.0,
        C_svm: float = 0.1,
        C_nb: float = 1.0,
        word_ngrams: tuple[int, int] = (1, 3),
        char_ngrams: tuple[int, int] = (2, 5),
        cv: int = 5,
        threshold_metric: Literal["accuracy", "f1"] = "accuracy",
        seed: int = 0,
    ) -> None:
        self.C_lr = C_lr
        self.C_svm = C_svm
        self.C_nb = C_nb
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.cv = cv
        self.threshold_metric = threshold_metric
        self.seed = seed

    # -- features
    def _vectorizers(self, n_docs: int) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        min_df = 2 if n_docs >= 20 else 1
        max_df = 0.9 if n_docs >= 20 else 1.0
        word = TfidfVectorizer(
            sublinear_tf=True,
            ngram_range=self.word_ngrams,
            min_df=min_df,
            max_df=max_df,
            dtype=np.float32,
        )
        char = TfidfVectorizer(
            sublinear_tf=True,
            analyzer="char_wb",
            ngram_range=self.char_ngrams,
            min_df=min_df,
            dtype=np.float32,
        )
        return word, char

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        docs = [normalise_text(t) for t in texts]
        return sp.hstack([self.word_.transform(docs), self.char_.transform(docs)]).tocsr()

    # -- one label's ensemble, collapsed to (w, b)
    def _fit_label(
        self, X: sp.csr_matrix, y: np.ndarray, w: np.ndarray | None
    ) -> tuple[np.ndarray, float]:
        n_features = X.shape[1]
        if y.min() == y.max():  # one class only: a constant decision
            return np.zeros(n_features), (3.0 if y[0] == 1 else -3.0)
        members: list[tuple[np.ndarray, float]] = []
        lr = LogisticRegression(C=self.C_lr, solver="liblinear", dual=True, max_iter=2000).fit(
            X, y, sample_weight=w
        )
        members.append((lr.coef_.ravel(), float(lr.intercept_[0])))
        svm = LinearSVC(C=self.C_svm, random_state=self.seed).fit(X, y, sample_weight=w)
        members.append((svm.coef_.ravel(), float(svm.intercept_[0])))
        r = _nb_ratio(X, y)
        nb = LogisticRegression(C=self.C_nb, solver="liblinear", dual=True, max_iter=2000).fit(
            X.multiply(r).tocsr(), y, sample_weight=w
        )
        members.append((nb.coef_.ravel() * r, float(nb.intercept_[0])))
        coef = np.zeros(n_features)
        bias = 0.0
        for m_coef, m_bias in members:
            scale = float(np.std(X @ m_coef + m_bias)) or 1.0
            coef += m_coef / scale
            bias += m_bias / scale
        return coef / len(members), bias / len(members)

    def _fit_all(
        self, X: sp.csr_matrix, Y: np.ndarray, W: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        pairs = [
            self._fit_label(X, Y[:, j], None if W is None else W[:, j]) for j in range(Y.shape[1])
        ]
        return np.column_stack([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def fit(
        self,
        texts: Sequence[str],
        Y: np.ndarray,
        *,
        labels: Sequence[str],
        kind: Kind = "multilabel",
        sample_weight: np.ndarray | None = None,
    ) -> TextClassifier:
        """Fit on ``texts`` and the (n, k) 0/1 matrix ``Y``; ``sample_weight`` is (n,) or (n, k)."""
        started = time.perf_counter()
        Y = np.asarray(Y, dtype=np.int8)
        if Y.ndim == 1:
            Y = Y[:, None]
        if len(texts) != Y.shape[0] or Y.shape[1] != len(labels):
            raise ValueError("texts, Y and labels do not agree in size")
        W = None
        if sample_weight is not None:
            W = np.asarray(sample_weight, dtype=float)
            if W.ndim == 1:
                W = np.repeat(W[:, None], Y.shape[1], axis=1)
        self.labels_ = list(labels)
        self.kind_ = kind
        docs = [normalise_text(t) for t in texts]
        self.word_, self.char_ = self._vectorizers(len(docs))
        X = sp.hstack([self.word_.fit_transform(docs), self.char_.fit_transform(docs)]).tocsr()
        self.coef_, self.intercept_ = self._fit_all(X, Y, W)

        k = Y.shape[1]
        self.thresholds_ = np.zeros(k)
        self.platt_ = np.tile([1.0, 0.0], (k, 1))
        self.oof_decision_ = np.full(Y.shape, np.nan)
        folds = min(self.cv, len(docs))
        if folds >= 2:
            splitter = KFold(folds, shuffle=True, random_state=self.seed)
            for fit_idx, out_idx in splitter.split(docs):
                coef, bias = self._fit_all(
                    X[fit_idx], Y[fit_idx], None if W is None else W[fit_idx]
                )
                self.oof_decision_[out_idx] = X[out_idx] @ coef + bias
            for j in range(k):
                self.platt_[j], self.thresholds_[j] = self._calibrate(
                    self.oof_decision_[:, j], Y[:, j]
                )
        self.n_train_ = len(docs)
        self.train_seconds_ = time.perf_counter() - started
        self.version_ = self._version()
        return self

    def _calibrate(self, d: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        if y.min() == y.max():
            return np.array([1.0, 0.0]), 0.0
        platt = LogisticRegression(C=1e4).fit(d[:, None], y)
        ab = np.array([float(platt.coef_[0, 0]), float(platt.intercept_[0])])
        if self.kind_ == "multiclass":
            return ab, 0.0
        candidates = np.unique(np.quantile(d, np.linspace(0.02, 0.98, 97)))
        candidates = np.concatenate([[0.0], candidates])
        pred = d[None, :] > candidates[:, None]
        if self.threshold_metric == "accuracy":
            score = (pred == (y[None, :] == 1)).mean(axis=1)
        else:
            tp = (pred & (y[None, :] == 1)).sum(axis=1)
            score = 2 * tp / np.maximum(pred.sum(axis=1) + (y == 1).sum(), 1)
        best = int(np.argmax(score))  # ties keep the first: the plain threshold 0
        return ab, float(candidates[best])

    # -- prediction
    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) ensemble decisions."""
        return np.asarray(self._features(texts) @ self.coef_) + self.intercept_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) Platt-scaled confidences that each label applies."""
        d = self.decision_function(texts)
        p = _sigmoid(d * self.platt_[:, 0] + self.platt_[:, 1])
        if self.kind_ == "multiclass":
            p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        return p

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) 0/1 predictions (one-hot for single-label data with classes)."""
        d = self.decision_function(texts)
        if self.kind_ == "multiclass":
            out = np.zeros(d.shape, dtype=np.int8)
            out[np.arange(len(d)), d.argmax(axis=1)] = 1
            return out
        return (d > self.thresholds_).astype(np.int8)

    def _version(self) -> str:
        digest = hashlib.sha256(self.coef_.astype(np.float32).tobytes()).hexdigest()[:10]
        return f"trained-{digest}"

    # -- files
    def save(self, path: Path | str) -> Path:
        """Write the model as a pickle-free ``.npz`` archive; return the path written."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT,
            "labels": self.labels_,
            "kind": self.kind_,
            "version": self.version_,
            "n_train": self.n_train_,
            "train_seconds": self.train_seconds_,
            "params": {
                "C_lr": self.C_lr,
                "C_svm": self.C_svm,
                "C_nb": self.C_nb,
                "word_ngrams": list(self.word_ngrams),
                "char_ngrams": list(self.char_ngrams),
                "cv": self.cv,
                "threshold_metric": self.threshold_metric,
                "seed": self.seed,
            },
            "word": {"min_df": self.word_.min_df, "max_df": self.word_.max_df},
            "char": {"min_df": self.char_.min_df},
        }
        arrays: dict[str, Any] = {
            "header": np.array(json.dumps(header)),
            "word_terms": np.array(_terms(self.word_), dtype=str),
            "word_idf": self.word_.idf_.astype(np.float32),
            "char_terms": np.array(_terms(self.char_), dtype=str),
            "char_idf": self.char_.idf_.astype(np.float32),
            "coef": self.coef_.astype(np.float32),
            "intercept": self.intercept_,
            "thresholds": self.thresholds_,
            "platt": self.platt_,
        }
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: Path | str) -> TextClassifier:
        """Read a model written by :meth:`save` (no pickle: loading cannot run code)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                data = {k: npz[k] for k in npz.files}
            header = json.loads(str(data["header"]))
        except FileNotFoundError as exc:
            raise InputFileError(
                path, "does not exist", hint="train a model from analysts' labels first"
            ) from exc
        except (OSError, ValueError, KeyError) as exc:
            raise InputFileError(path, f"is not a saferstreets text model ({exc})") from exc
        if header.get("format") != FORMAT:
            raise InputFileError(path, f"has format {header.get('format')!r}, expected {FORMAT!r}")
        params = header["params"]
        model = cls(
            C_lr=params["C_lr"],
            C_svm=params["C_svm"],
            C_nb=params["C_nb"],
            word_ngrams=tuple(params["word_ngrams"]),
            char_ngrams=tuple(params["char_ngrams"]),
            cv=params["cv"],
            threshold_metric=params["threshold_metric"],
            seed=params["seed"],
        )
        model.word_, model.char_ = model._vectorizers(100)
        model.word_.set_params(**header["word"])
        model.char_.set_params(**header["char"])
        for vec, key in ((model.word_, "word"), (model.char_, "char")):
            vec.vocabulary_ = {term: i for i, term in enumerate(data[f"{key}_terms"].tolist())}
            vec.idf_ = data[f"{key}_idf"].astype(np.float64)
        model.coef_ = data["coef"].astype(np.float64)
        model.intercept_ = data["intercept"]
        model.thresholds_ = data["thresholds"]
        model.platt_ = data["platt"]
        model.labels_ = list(header["labels"])
        model.kind_ = header["kind"]
        model.version_ = header["version"]
        model.n_train_ = header["n_train"]
        model.train_seconds_ = header["train_seconds"]
        return model


def _terms(vec: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vec.vocabulary_)
    for term, i in vec.vocabulary_.items():
        terms[i] = term
    return terms


class Classifier(Protocol):
    """What scoring needs of a fitted model (TextClassifier, or the fine-tuned extra's)."""

    labels_: list[str]
    kind_: Kind

    def predict(self, texts: Sequence[str]) -> np.ndarray: ...


def train_csv(
    path: Path | str,
    *,
    text_column: str,
    label_columns: Sequence[str],
    model: TextClassifier | None = None,
) -> tuple[TextClassifier, LabelledData]:
    """Read a labelled CSV and fit a classifier on it."""
    data = read_labelled_csv(path, text_column=text_column, label_columns=label_columns)
    model = model or TextClassifier()
    model.fit(data.texts, data.Y, labels=data.labels, kind=data.kind)
    return model, data


def evaluate_csv(
    model: Classifier, path: Path | str, *, text_column: str, label_columns: Sequence[str]
) -> dict[str, Any]:
    """Score a fitted model on a labelled CSV with the same label columns."""
    data = read_labelled_csv(path, text_column=text_column, label_columns=label_columns)
    if data.kind == "multiclass":
        unknown = sorted(set(data.labels) - set(model.labels_))
        if unknown:
            raise InputFileError(path, f"has classes the model never saw: {', '.join(unknown)}")
        Y = np.zeros((len(data.texts), len(model.labels_)), dtype=np.int8)
        Y[:, [model.labels_.index(c) for c in data.labels]] = data.Y
        labels = model.labels_
    else:
        if list(data.labels) != list(model.labels_):
            raise InputFileError(
                path,
                f"label columns {data.labels} differ from the model's {model.labels_}",
                hint="give the same label columns, in the same order, as for training",
            )
        Y, labels = data.Y, data.labels
    started = time.perf_counter()
    pred = model.predict(data.texts)
    result = evaluate_predictions(Y, pred, labels=labels, kind=model.kind_)
    result["predict_seconds"] = time.perf_counter() - started
    result["rows_skipped"] = len(data.problems)
    return result
