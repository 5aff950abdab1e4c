"""Near-identical report texts, grouped, so that a flood of copies cannot bury the queue.

A hostile flood sends the same words many times with small changes (case, punctuation, a word
added). Each text is normalised (lower case, letters and digits only, single spaces) and cut into
overlapping character shingles of 3 to 5 characters within words, counted (log-scaled term
frequency, no inverse document frequency: in a flood the copied shingles are the common ones, and
down-weighting them would pull the copies apart). Two texts are near-identical when the cosine of
their shingle vectors is at least ``threshold``. Groups are the connected components of that
relation (single linkage), so every copy of a flood lands in one group whatever their order.

Pure: texts in, group labels out. scikit-learn builds the vectors, scipy finds the components.

References
----------
Broder, A. Z. (1997). On the resemblance and containment of documents. *Compression and
Complexity of Sequences*, 21-29 (shingles for near-duplicate documents).
Manning, C. D., Raghavan, P. & Schütze, H. (2008). *Introduction to Information Retrieval*,
ch. 6 and 19.6 (term weighting, cosine similarity, near-duplicates).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

DEFAULT_THRESHOLD = 0.7
MIN_CHARS = 12  # shorter texts say too little to call two of them copies
_CHUNK = 2000  # rows of the similarity product computed at once, to bound memory


def normalise(text: str | None) -> str:
    """Lower case, accents folded, letters and digits only, single spaces."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split())


def near_duplicate_groups(
    texts: Sequence[str | None], *, threshold: float = DEFAULT_THRESHOLD
) -> list[int]:
    """Label each text with its group: the index of the group's first text.

    Texts with fewer than ``MIN_CHARS`` characters after normalising (or none) stay alone.
    """
    normal = [normalise(t) for t in texts]
    worded = [i for i, t in enumerate(normal) if len(t) >= MIN_CHARS]
    labels = list(range(len(texts)))
    # Exact copies (after normalising) are compared once: a flood of copies costs one text.
    distinct: dict[str, int] = {}
    for i in worded:
        distinct.setdefault(normal[i], len(distinct))
    component = _components(list(distinct), threshold)
    first: dict[int, int] = {}
    for i in worded:
        group = int(component[distinct[normal[i]]])
        labels[i] = first.setdefault(group, i)
    return labels


def _components(texts: list[str], threshold: float) -> np.ndarray:
    """The connected component of each (distinct, normalised) text under cosine >= threshold."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    vectors = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, use_idf=False, dtype=np.float32
    ).fit_transform(texts)  # rows have unit length: dot = cosine
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for start in range(0, n, _CHUNK):
        block = (vectors[start : start + _CHUNK] @ vectors.T).tocoo()
        keep = block.data >= threshold
        rows.append(block.row[keep] + start)
        cols.append(block.col[keep])
    row, col = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(row), dtype=np.int8), (row, col)), shape=(n, n))
    return connected_components(graph, directed=False)[1]
