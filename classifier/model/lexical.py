"""The lexical part of a model version: hashed word and character n-grams, TF-IDF weighted,
and one linear classifier per task, whose probabilities are mixed with the encoder's.

Why: after the one epoch the CPU budget allows, the MiniLM encoder still misses surface cues
that a bag of n-grams catches at once (tickers, "IPO", "dividend", "downgrade"), and the two
make different mistakes. Averaging their probabilities gave +3.5 points of topic accuracy and
+5 of macro-F1 on the dev split (docs/experiments.md). It costs ~20 s of training and
well under a millisecond per text at inference; the encoder still runs once per article.

Everything needed at inference is arrays (no pickles): the hashing is stateless
(``HashingVectorizer``, murmurhash), and the IDF vector and the linear weights are stored as
safetensors, the parameters as JSON. The classifier is scikit-learn's ``SGDClassifier`` with
log loss (one-vs-rest); probabilities are its per-class sigmoids normalised to sum to one,
exactly as ``SGDClassifier.predict_proba`` computes them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier

from classifier.label_maps import IGNORE, LABELS
from classifier.model.char_ngrams import CachedCharNgrams

log = logging.getLogger(__name__)

WEIGHTS_FILE = "lexical.safetensors"
PARAMS_FILE = "lexical.json"
TASKS = ("topic", "sentiment")


@dataclass(frozen=True)
class LexicalConfig:
    weight: float = 0.5  # the lexical share of the mixed probabilities (0 = encoder only)
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    n_features: int = 2**18  # per analyzer (words, characters)
    alpha: float = 2e-6  # L2 strength of the SGD classifier
    epochs: int = 30
    seed: int = 13


class LexicalModel:
    """Hashed n-gram TF-IDF features and a linear classifier per task."""

    def __init__(self, config: LexicalConfig, idf: dict[str, np.ndarray],
                 coef: dict[str, np.ndarray], intercept: dict[str, np.ndarray]) -> None:

        self.config = config
        self.idf, self.coef, self.intercept = idf, coef, intercept
        self._coef_t: dict[str, np.ndarray] = {}  # [features, classes], made once per task
        common = {"n_features": config.n_features, "alternate_sign": False, "norm": None}
        self._words = HashingVectorizer(ngram_range=tuple(config.word_ngrams), lowercase=True, **common)
        self._chars = CachedCharNgrams(
            HashingVectorizer(analyzer="char_wb", ngram_range=tuple(config.char_ngrams), **common))

    @property
    def weight(self) -> float:
        return self.config.weight

    def counts(self, texts: Sequence[str]):  # a scipy CSR matrix

        return hstack([self._words.transform(texts), self._chars.transform(texts)]).tocsr()

    def _tfidf(self, counts, tasks: Sequence[str] = TASKS) -> dict:
        """Per task, the sublinear tf times that task's IDF, each row scaled to unit L2 norm:
        what ``TfidfTransformer(sublinear_tf=True)`` gives. Computed on the CSR arrays directly
        (scipy's ``multiply`` and ``normalize`` convert and copy the matrix several times), and
        the tf and row ids once for every task."""

        counts = counts.tocsr()
        tf = (1.0 + np.log(counts.data)).astype(np.float32)
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        out = {}
        for task in tasks:
            values = tf * self.idf[task][counts.indices]
            squares = values.astype(np.float64) ** 2
            norms = np.sqrt(np.bincount(rows, weights=squares, minlength=counts.shape[0]))
            values /= np.where(norms > 0, norms, 1.0)[rows].astype(np.float32)
            out[task] = csr_matrix((values, counts.indices, counts.indptr), shape=counts.shape)
        return out

    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Per task, an [n, classes] float32 array of probabilities."""
        return {task: self.proba(x, task) for task, x in self._tfidf(self.counts(texts)).items()}

    def proba(self, x, task: str) -> np.ndarray:  # TF-IDF rows, a scipy CSR matrix
        """``task``'s [n, classes] float32 probabilities for TF-IDF rows: one-vs-rest
        sigmoids, normalised to sum to one."""
        if task not in self._coef_t:
            self._coef_t[task] = np.ascontiguousarray(self.coef[task].T, dtype=np.float32)
        scores = (x @ self._coef_t[task]).astype(np.float64) + self.intercept[task]
        p = 1.0 / (1.0 + np.exp(-scores))
        return (p / np.maximum(p.sum(1, keepdims=True), 1e-12)).astype(np.float32)

    def with_weight(self, weight: float) -> LexicalModel:
        """The same fitted part, mixed in with another weight (the arrays are shared)."""
        return type(self)(replace(self.config, weight=weight), self.idf, self.coef, self.intercept)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: dict[str, Sequence[int]],
            config: LexicalConfig | None = None) -> LexicalModel:
        """Fit on ``texts``; ``labels[task][i]`` is a class id or ``IGNORE``."""
        config = config or LexicalConfig()

        start = time.perf_counter()
        model = cls(config, {}, {}, {})
        counts = model.counts(texts)
        for task in TASKS:
            y = np.asarray(labels[task])
            rows = np.flatnonzero(y != IGNORE)
            if len(rows) == 0:
                raise ValueError(f"lexical model: no {task} labels to fit")
            # Smoothed IDF over this task's training texts, as sklearn's TfidfTransformer does.
            df = np.bincount(counts[rows].indices, minlength=counts.shape[1])
            model.idf[task] = (np.log((1 + len(rows)) / (1 + df)) + 1.0).astype(np.float32)
            coef = np.zeros((len(LABELS[task]), counts.shape[1]), dtype=np.float32)
            intercept = np.full(len(LABELS[task]), -30.0)  # a class never seen: probability ~0
            classes = np.unique(y[rows])
            if len(classes) == 1:  # a tiny sample: always that class
                intercept[classes[0]] = 30.0
                model.coef[task], model.intercept[task] = coef, intercept.astype(np.float32)
                continue
            clf = SGDClassifier(loss="log_loss", alpha=config.alpha, max_iter=config.epochs,
                                tol=1e-4, random_state=config.seed)
            clf.fit(model._tfidf(counts[rows], (task,))[task], y[rows])
            coef[clf.classes_] = clf.coef_ if len(clf.classes_) > 2 else np.vstack([-clf.coef_, clf.coef_])
            intercept[clf.classes_] = (clf.intercept_ if len(clf.classes_) > 2
                                       else np.array([-clf.intercept_[0], clf.intercept_[0]]))
            # Stored as float16: round now so that what is evaluated is what is saved.
            model.coef[task] = coef.astype(np.float16).astype(np.float32)
            model.intercept[task] = intercept.astype(np.float32)
        log.info("lexical model fitted on %d texts in %.1fs", len(texts), time.perf_counter() - start)
        return model

    def save(self, folder: Path) -> None:
        arrays = {}
        for task in TASKS:
            arrays[f"{task}.idf"] = self.idf[task]
            arrays[f"{task}.coef"] = self.coef[task].astype(np.float16)
            arrays[f"{task}.intercept"] = self.intercept[task]
        save_file(arrays, str(folder / WEIGHTS_FILE))
        (folder / PARAMS_FILE).write_text(json.dumps(asdict(self.config), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> LexicalModel | None:
        """The lexical part saved in a version folder, or None when it has none."""
        if not (folder / PARAMS_FILE).is_file():
            return None

        params = json.loads((folder / PARAMS_FILE).read_text())
        config = LexicalConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
        arrays = load_file(str(folder / WEIGHTS_FILE))
        return cls(config,
                   {t: arrays[f"{t}.idf"] for t in TASKS},
                   {t: arrays[f"{t}.coef"].astype(np.float32) for t in TASKS},
                   {t: arrays[f"{t}.intercept"] for t in TASKS})
