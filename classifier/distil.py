"""Distillation: a larger teacher's sentiment probabilities as soft targets for the training
texts that carry no sentiment label.

Why: the seed data gives 8,589 training texts a sentiment and 15,288 others a topic only. A
teacher (the default is ``all-mpnet-base-v2``, 110M parameters, five times MiniLM's) fine-tuned
on the sentiment rows reads the topic-only texts too, and the MiniLM student learns from its
probabilities there (``train._fit``). The teacher runs once (``finpulse teacher``); its
probabilities are kept in a small file, so training the student costs what training without it
costs. Figures: classifier/TRAINING.md, "Fifth session".

A soft-label file (gzipped JSON) holds:

- ``teacher``: what the teacher was (base, recipe, dev figures, the data manifest);
- ``taught_on``: the keys of every text the teacher trained on;
- ``sentiment``: key -> the teacher's probabilities in ``SENTIMENTS`` order.

A key is a hash of ``textprep.dedup_key``, so a text's twins (another link, other case) share it.
A student refuses a file whose teacher trained on a text of the student's dev split: the
teacher would carry that label into the student and flatter the student's dev figures.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from classifier.data import Example
from classifier.labels import IGNORE, SENTIMENTS
from classifier.textprep import dedup_key
from finpulse.errors import ConfigError

log = logging.getLogger(__name__)

FORMAT = "finpulse-soft-labels/1"
# Shipped with the code: the default recipe's teacher, run once on the seed data's train split
# (seed 13, 10 % dev); how it was made is in its "teacher" entry and in TRAINING.md.
PACKAGED = Path(__file__).resolve().parent / "soft_labels" / "mpnet-sentiment.json.gz"


def text_key(text: str) -> str:
    return hashlib.sha1(dedup_key(text).encode("utf-8")).hexdigest()[:16]


@dataclass
class SoftLabels:
    teacher: dict
    taught_on: frozenset[str]
    sentiment: dict[str, list[float]] = field(default_factory=dict)
    path: Path | None = None
    sha256: str | None = None  # of the file's bytes, as read or written

    @classmethod
    def load(cls, path: str | Path) -> "SoftLabels":
        path = Path(path)
        try:
            raw = path.read_bytes()
            doc = json.loads(gzip.decompress(raw).decode("utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"soft labels {path}: no such file") from None
        except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"soft labels {path}: not a gzipped JSON file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ConfigError(f"soft labels {path}: format is {doc.get('format') if isinstance(doc, dict) else None!r},"
                              f" expected {FORMAT!r}")
        sentiment = doc.get("sentiment", {})
        if not isinstance(sentiment, dict):
            raise ConfigError(f"soft labels {path}: 'sentiment' is not a mapping of text keys to probabilities")
        bad = next((k for k, v in sentiment.items()
                    if not (isinstance(v, list) and len(v) == len(SENTIMENTS))), None)
        if bad is not None:
            raise ConfigError(f"soft labels {path}: entry {bad!r} is not {len(SENTIMENTS)} probabilities")
        return cls(teacher=doc.get("teacher", {}), taught_on=frozenset(doc.get("taught_on", [])),
                   sentiment=sentiment, path=path, sha256=hashlib.sha256(raw).hexdigest())

    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (atomically) and point ``path`` and ``sha256`` at what was written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "teacher": self.teacher, "taught_on": sorted(self.taught_on),
               "sentiment": self.sentiment}
        # mtime=0: the same labels give the same bytes (the file's hash goes into manifests).
        raw = gzip.compress(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8"), mtime=0)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)
        self.path, self.sha256 = path, hashlib.sha256(raw).hexdigest()
        return path

    def leaked(self, dev: Sequence[Example]) -> int:
        """How many dev texts the teacher trained on (a twin counts)."""
        return sum(text_key(e.text) in self.taught_on for e in dev)

    def targets(self, train: Sequence[Example]) -> torch.Tensor:
        """``[len(train), 3]`` soft sentiment targets; NaN rows where a text has none or carries
        its own sentiment label (the hard label wins)."""
        out = torch.full((len(train), len(SENTIMENTS)), float("nan"))
        for i, e in enumerate(train):
            if e.sentiment == IGNORE:
                probs = self.sentiment.get(text_key(e.text))
                if probs is not None:
                    out[i] = torch.tensor(probs, dtype=torch.float32)
        return out


def soft_targets(source: str | None, train: Sequence[Example], dev: Sequence[Example]) -> tuple[torch.Tensor | None, dict]:
    """The soft targets for ``train`` from the file ``source`` ("packaged": the shipped file; None
    or "none": no distillation), and what the version's manifest records of them.

    The shipped file is skipped, with a warning, where its teacher saw a dev text (another seed
    or dev fraction than it was made for); a file given by path raises ``ConfigError`` then."""
    if source in (None, "", "none"):
        return None, {}
    packaged = source == "packaged"
    soft = SoftLabels.load(PACKAGED if packaged else source)
    leaked = soft.leaked(dev)
    if leaked:
        message = (f"soft labels {soft.path}: the teacher trained on {leaked} of the {len(dev)} dev texts, "
                   "so distilling from it would flatter the dev figures")
        if not packaged:
            raise ConfigError(message + "; make a teacher for this split (finpulse teacher)")
        log.warning("%s; training without them (they were made for the default seed and dev split)", message)
        return None, {"skipped": message}
    targets = soft.targets(train)
    n = int(torch.isfinite(targets).all(-1).sum())
    log.info("soft sentiment targets for %d of %d training texts from %s", n, len(train), soft.path)
    record = {"path": str(soft.path), "sha256": soft.sha256, "texts_with_targets": n,
              "teacher": {k: soft.teacher.get(k) for k in ("base", "dev", "trained_at")}}
    return (targets if n else None), record


def distil_loss(logits: torch.Tensor, soft: torch.Tensor, hard: torch.Tensor) -> torch.Tensor | None:
    """Cross-entropy against the teacher's probabilities, averaged over the rows that have soft
    targets and no hard label (None when the batch has none)."""
    has = (hard == IGNORE) & torch.isfinite(soft).all(-1)
    if not bool(has.any()):
        return None
    logp = torch.log_softmax(logits.float()[has], -1)
    return -(soft[has] * logp).sum(-1).mean()


def train_teacher(settings, base: str, out: str | Path, *, epochs: int = 1, lr: float = 5e-5,  # noqa: ANN001
                  seed: int = 13, dev_fraction: float = 0.1, data: str | None = None,
                  limit: int | None = None, progress: bool = True) -> SoftLabels:
    """Fine-tune ``base`` on the sentiment rows of the train split, then write its probabilities
    for every training text to ``out``. The dev split is the students' (same seed and fraction):
    the teacher never sees it, and its dev figures are reported."""
    from transformers import AutoTokenizer

    from classifier import train as trainer
    from classifier.base import resolve_base
    from classifier.data import Dataset, load_seed
    from classifier.engine import Engine

    data = data or settings.model.seed_data
    ref = resolve_base(base)
    dataset = load_seed(data, seed=seed, dev_fraction=dev_fraction, limit=limit)
    has_sentiment = [e for e in dataset.train if e.sentiment != IGNORE]
    dev = [e for e in dataset.dev if e.sentiment != IGNORE]
    if not has_sentiment or not dev:
        raise ConfigError(f"{data}: no sentiment rows to train a teacher on")
    cfg = trainer.TrainConfig(base=base, data=data, epochs=epochs, lr=lr, seed=seed, dev_fraction=dev_fraction,
                              limit=limit, frozen_layers=0, lexical_weight=0.0, soft_labels=None)
    cfg.check()
    trainer._set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(ref.location)
    model = trainer.new_model(ref.location, cfg)
    device = trainer.training_device(settings)
    log.info("teacher %s: %d sentiment texts, dev %d, on %s", ref.name, len(has_sentiment), len(dev), device)
    metrics = trainer._fit(model, tokenizer, Dataset(has_sentiment, dev, dataset.sources), cfg, progress, device)
    engine = Engine(model.eval(), tokenizer, version="teacher", max_length=cfg.max_length,
                    max_batch_tokens=8192, max_batch_size=128, device=str(device))
    texts = [e.text for e in dataset.train]
    probs = _probabilities(engine, texts, progress)
    soft = SoftLabels(
        teacher={"base": {"name": ref.name, "upstream": ref.upstream, "licence": ref.licence},
                 "recipe": {"epochs": epochs, "lr": lr, "seed": seed, "dev_fraction": dev_fraction,
                            "max_length": cfg.max_length, "label_smoothing": cfg.label_smoothing,
                            "strip_urls": cfg.strip_urls},
                 "dev": metrics["summary"], "best_epoch": metrics["best_epoch"],
                 "train_seconds": metrics["train_seconds"],
                 "data": dataset.manifest(seed=seed, dev_fraction=dev_fraction, limit=limit),
                 "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        taught_on=frozenset(text_key(e.text) for e in has_sentiment),
        sentiment={text_key(t): [round(float(p), 5) for p in row] for t, row in zip(texts, probs)},
    )
    soft.save(out)
    print(f"teacher {ref.name}: dev {metrics['summary']} (best epoch {metrics['best_epoch']}); "
          f"soft labels for {len(soft.sentiment)} texts in {soft.path}")
    return soft


def _probabilities(engine, texts: list[str], progress: bool, chunk: int = 1024) -> np.ndarray:  # noqa: ANN001
    from tqdm.auto import tqdm

    out = []
    with tqdm(total=len(texts), unit="text", desc="teacher labels", disable=not progress) as bar:
        for i in range(0, len(texts), chunk):
            part = texts[i:i + chunk]
            out.append(np.asarray(engine.run(engine.encode(part)).sentiment))
            bar.update(len(part))
    return np.concatenate(out) if out else np.zeros((0, len(SENTIMENTS)), dtype=np.float32)
