"""The neighbour part of a model version: the training texts' embeddings, as the fine-tuned
encoder pools them, and their labels. A text's k nearest training texts (cosine similarity)
vote for their labels, weighted by ``exp(similarity / temperature)``; the vote is mixed into
the served probabilities with ``weight``.

Why: many headlines follow a template ("X price target raised to $N at Y", "X declares $0.N
dividend"), and the encoder places a new one beside its twins from training. Measured on three
trained models (classifier/TRAINING.md, "Tenth session"): topic +0.77 / +1.21 accuracy / macro-F1
points on one, +0.12 / +0.47 and -0.65 / -0.25 on the two others; sentiment did not gain.

The memory is built once per version after training, from the kept epoch's weights
(``build``), and stored as safetensors (the embeddings in float16), the parameters as JSON.
Inference costs one [n, d] x [d, N] product and a top-k per batch: N is the number of
training texts with the task's label (15,302 topic texts on the seed data: 11 MB).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from classifier.labels import IGNORE, LABELS

WEIGHTS_FILE = "neighbours.safetensors"
PARAMS_FILE = "neighbours.json"


@dataclass(frozen=True)
class NeighbourConfig:
    weight: float = 0.3  # the neighbours' share of the served probabilities (0 = none)
    k: int = 10
    temperature: float = 0.05
    tasks: tuple[str, ...] = ("topic",)


class Neighbours:
    """Unit-length embeddings of training texts and their labels, per task."""

    def __init__(self, config: NeighbourConfig, keys: dict[str, np.ndarray],
                 labels: dict[str, np.ndarray]) -> None:
        self.config = config
        self.keys = {task: np.ascontiguousarray(k, dtype=np.float32) for task, k in keys.items()}
        self.labels = {task: np.asarray(y, dtype=np.int64) for task, y in labels.items()}

    @property
    def weight(self) -> float:
        return self.config.weight

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.keys)

    @classmethod
    def build(cls, embeddings: np.ndarray, labels: dict[str, Sequence[int]],
              config: NeighbourConfig | None = None) -> "Neighbours":
        """From the pooled embeddings of the training texts (one row each) and their labels
        (``labels[task][i]``: a class id or ``IGNORE``); a task keeps the texts labelled for it.
        Rounded to float16 here, so that what is evaluated is what is saved."""
        config = config or NeighbourConfig()
        embeddings = _unit(np.asarray(embeddings, dtype=np.float32)).astype(np.float16)
        keys, kept = {}, {}
        for task in config.tasks:
            y = np.asarray(labels[task])
            rows = np.flatnonzero(y != IGNORE)
            if len(rows) == 0:
                continue  # nothing to vote: the task is served without neighbours
            keys[task], kept[task] = embeddings[rows], y[rows]
        return cls(config, keys, kept)

    def proba(self, pooled: np.ndarray, task: str) -> np.ndarray:
        """``task``'s [n, classes] float32 vote of each row's nearest training texts."""
        keys, labels = self.keys[task], self.labels[task]
        sims = _unit(np.asarray(pooled, dtype=np.float32)) @ keys.T  # BLAS reads the transpose in place
        k = min(self.config.k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, 1)
        w = np.exp((top_sims - top_sims.max(1, keepdims=True)) / self.config.temperature)
        out = np.zeros((len(sims), len(LABELS[task])), dtype=np.float32)
        np.add.at(out, (np.repeat(np.arange(len(sims)), k), labels[top].ravel()), w.ravel())
        return out / out.sum(1, keepdims=True)

    def mix(self, probs: np.ndarray, pooled: np.ndarray, task: str) -> np.ndarray:
        """``probs`` with the vote mixed in, for a task the memory holds (else unchanged)."""
        if task not in self.keys or self.weight == 0:
            return probs
        return (1 - self.weight) * probs + self.weight * self.proba(pooled, task)

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        arrays = {}
        for task in self.keys:
            arrays[f"{task}.keys"] = self.keys[task].astype(np.float16)
            arrays[f"{task}.labels"] = self.labels[task].astype(np.int16)
        save_file(arrays, str(folder / WEIGHTS_FILE))
        (folder / PARAMS_FILE).write_text(json.dumps(asdict(self.config), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "Neighbours | None":
        """The neighbour part saved in a version folder, or None when it has none."""
        if not (folder / PARAMS_FILE).is_file():
            return None
        from safetensors.numpy import load_file

        params = json.loads((folder / PARAMS_FILE).read_text())
        config = NeighbourConfig(**{**params, "tasks": tuple(params.get("tasks", ()))})
        arrays = load_file(str(folder / WEIGHTS_FILE))
        tasks = [t for t in config.tasks if f"{t}.keys" in arrays]
        return cls(config, {t: arrays[f"{t}.keys"] for t in tasks},
                   {t: arrays[f"{t}.labels"] for t in tasks})


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
