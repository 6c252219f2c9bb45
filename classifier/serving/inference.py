"""Batched inference: tokenize, sort by length, cut batches by a token budget, run one forward
pass per batch (both heads), and return ``finpulse.schemas.Prediction``s in input order.

``encode`` (tokenizing) and ``run`` (the model) are separate so that a caller can tokenize the
next batch while the current one runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from classifier.model.textprep import TextPrep
from classifier.serving.precision import prepare_model
from finpulse.schemas import SENTIMENTS, TOPICS, Prediction, utcnow

# Characters kept before tokenizing: far more than max_length tokens ever need, so a huge
# text costs no more than a long one (it is truncated, not rejected).
CHARS_PER_TOKEN_CAP = 16


@dataclass
class Encoded:
    """Token ids of a list of texts (unpadded, truncated), in input order, and the texts
    themselves (for the model's lexical part, when it has one)."""

    ids: list[list[int]]
    texts: list[str] | None = None
    # The lexical part's probabilities, when computed with the tokens (``encode(...,
    # with_lexical=True)``: the worker does so on its tokenizer thread, off the network's path).
    lexical: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def tokens(self) -> int:
        return sum(len(x) for x in self.ids)


@dataclass
class Probabilities:
    topic: np.ndarray  # [n, 20]
    sentiment: np.ndarray  # [n, 3]


# A text joins the current batch only if it is at least this share of the batch's longest
# text, so that padding wastes at most ~1/3 of the compute (a batch of 64 tweets with one long
# text ran 2x slower than the same texts grouped by length); ...
MIN_LENGTH_RATIO = 0.75
# ... except while the batch is this small, where a call's fixed cost outweighs the padding.
MIN_SPLIT_SIZE = 8


def plan_batches(lengths: Sequence[int], max_batch_tokens: int, max_batch_size: int) -> list[list[int]]:
    """Indices grouped longest first so that each padded batch (size x longest) fits the
    token budget and the size cap, and similar lengths share a batch; a single text always
    forms a batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        full = (len(current) + 1) * longest > max_batch_tokens or len(current) >= max_batch_size
        uneven = len(current) >= MIN_SPLIT_SIZE and lengths[i] < MIN_LENGTH_RATIO * longest
        if current and (full or uneven):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class TorchRunner:
    """Runs the torch model (cast, autocast or quantised per ``precision``): padded token ids
    and mask in, (topic, sentiment) probabilities out."""

    def __init__(self, model: torch.nn.Module, precision: str, device: torch.device) -> None:
        self.device = device
        self.model, self._autocast = prepare_model(model, precision, device)

    @torch.inference_mode()
    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids_t = torch.from_numpy(ids).to(self.device)
        mask_t = torch.from_numpy(mask).to(self.device)
        with self._autocast() if self._autocast else nullcontext():
            t_logits, s_logits = self.model(ids_t, mask_t)
        return (torch.softmax(t_logits.float(), -1).cpu().numpy(),
                torch.softmax(s_logits.float(), -1).cpu().numpy())


class Runner(Protocol):
    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class InferenceEngine:
    """A loaded model version ready to classify text.

    ``runtime`` says what runs the network: ``torch`` (the default; ``precision`` and
    ``device`` apply) or ``onnxruntime`` (``runner`` is then an ``OrtRunner`` built by
    ``registry.load_engine``)."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,  # a transformers tokenizer
        *,
        version: str,
        max_length: int = 128,
        max_batch_tokens: int = 8192,
        max_batch_size: int = 64,
        precision: str = "fp32",
        device: str = "cpu",
        runtime: str = "torch",
        runner: Runner | None = None,
        parallel_batches: int = 1,
        path_reason: str = "given",
    ) -> None:
        self.version = version
        self.path_reason = path_reason  # why this runtime and precision serve (classifier.serving.paths)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_size = max_batch_size
        self.device = torch.device(device)
        self.precision = precision
        self.runtime = runtime
        self.lexical = getattr(model, "lexical", None)
        self.textprep = getattr(model, "textprep", TextPrep())
        self.runner: Runner = runner or TorchRunner(model, precision, self.device)
        self.pad_id = tokenizer.pad_token_id or 0
        # Sub-batches run this many at once on their own threads (the runner must take
        # concurrent calls: an ONNX Runtime session does, and torch releases the GIL inside each
        # operator, with autocast state per thread); the lexical part meanwhile runs
        # on the calling thread. Idle threads end when the engine is dropped (a hot swap).
        self.parallel_batches = parallel_batches
        self._pool = (ThreadPoolExecutor(parallel_batches, thread_name_prefix=f"engine-{version}")
                      if parallel_batches > 1 else None)

    def encode(self, texts: Sequence[str], *, with_lexical: bool = False) -> Encoded:
        """Token ids (and, ``with_lexical``, the lexical part's probabilities) of ``texts``."""
        cap = self.max_length * CHARS_PER_TOKEN_CAP
        capped = [t[:cap] for t in texts]
        out = self.tokenizer(
            [self.textprep(t) for t in capped], truncation=True, max_length=self.max_length,
            padding=False, return_attention_mask=False, return_token_type_ids=False,
        )
        # The lexical part reads the same prefix: its n-grams are hashed in Python, and a
        # megabyte of text held the interpreter long enough to lose the consumer group.
        encoded = Encoded(list(out["input_ids"]), capped if self.lexical is not None else None)
        if with_lexical:
            encoded.lexical = self._lexical(encoded)
        return encoded

    def _padded(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, r in enumerate(rows):
            ids[j, : len(r)] = r
            mask[j, : len(r)] = 1
        return ids, mask

    def run(self, encoded: Encoded) -> Probabilities:
        n = len(encoded)
        topic = np.zeros((n, len(TOPICS)), dtype=np.float32)
        sentiment = np.zeros((n, len(SENTIMENTS)), dtype=np.float32)
        lengths = [len(x) for x in encoded.ids]
        plans = plan_batches(lengths, self.max_batch_tokens, self.max_batch_size)
        if self._pool is None or len(plans) < 2:
            for batch in plans:
                topic[batch], sentiment[batch] = self.runner(*self._padded([encoded.ids[i] for i in batch]))
            return self._mix(Probabilities(topic, sentiment), self._lexical(encoded))
        # Longest first, so the last sub-batches to start are the cheapest.
        running = [(batch, self._pool.submit(self.runner, *self._padded([encoded.ids[i] for i in batch])))
                   for batch in plans]
        lexical = self._lexical(encoded)
        for batch, future in running:
            topic[batch], sentiment[batch] = future.result()
        return self._mix(Probabilities(topic, sentiment), lexical)

    def _lexical(self, encoded: Encoded) -> dict[str, np.ndarray] | None:
        """The lexical part's probabilities, when the model has one and it has a weight."""
        if encoded.lexical is not None:
            return encoded.lexical
        if self.lexical is None or self.lexical.weight == 0 or len(encoded) == 0:
            return None
        if encoded.texts is None:
            raise ValueError("this model has a lexical part: encode() the texts with this engine")
        return self.lexical.predict_proba(encoded.texts)

    def _mix(self, probs: Probabilities, lexical: dict[str, np.ndarray] | None) -> Probabilities:
        """The encoder's probabilities averaged with the lexical part's (weight ``w``)."""
        if lexical is None:
            return probs
        w = self.lexical.weight
        return Probabilities((1 - w) * probs.topic + w * lexical["topic"],
                             (1 - w) * probs.sentiment + w * lexical["sentiment"])

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        start = time.perf_counter()
        probs = self.run(self.encode(texts))
        latency = (time.perf_counter() - start) * 1000
        return to_predictions(probs, self.version, [latency] * len(texts))


def to_predictions(probs: Probabilities, version: str, latencies_ms: Sequence[float]) -> list[Prediction]:
    """One ``Prediction`` per row of ``probs`` (argmax and rounding done for all rows at once:
    this runs on the worker's main thread, for every article)."""
    now = utcnow()
    t_ids, s_ids = probs.topic.argmax(1).tolist(), probs.sentiment.argmax(1).tolist()
    t_conf = probs.topic.max(1).astype(np.float64).tolist()
    s_conf = probs.sentiment.max(1).astype(np.float64).tolist()
    t_rounded = np.round(probs.topic.astype(np.float64), 6).tolist()
    s_rounded = np.round(probs.sentiment.astype(np.float64), 6).tolist()
    scores = (probs.sentiment[:, 1].astype(np.float64) - probs.sentiment[:, 0]).tolist()
    return [
        Prediction(
            topic=TOPICS[ti], topic_id=ti, topic_confidence=min(1.0, tc), topic_probs=tp,
            sentiment=SENTIMENTS[si], sentiment_confidence=min(1.0, sc), sentiment_probs=sp,
            sentiment_score=max(-1.0, min(1.0, score)),
            model_version=version, latency_ms=max(0.0, latency), classified_at=now,
        )
        for ti, si, tc, sc, tp, sp, score, latency
        in zip(t_ids, s_ids, t_conf, s_conf, t_rounded, s_rounded, scores, latencies_ms, strict=False)
    ]
