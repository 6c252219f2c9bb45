"""Distillation: a larger teacher's probabilities as soft targets for the training texts that
carry no label of their own for a task.

Why: the default train split gives 8,575 texts a sentiment only and 15,302 others a topic only.
A teacher (the default is ``all-mpnet-base-v2``, 110M parameters, five times MiniLM's)
fine-tuned on one task's rows reads the other rows too, and the MiniLM student learns from its
probabilities there (``train.fit``): the sentiment teacher teaches sentiment on the topic-only
texts (a topic teacher, teaching topic on the sentiment-only texts, was tried and is not
shipped: it cost topic macro-F1). A teacher runs once
(``finpulse teacher --task``); its probabilities are kept in a small file, so training the
student costs what training without it costs. Figures: docs/experiments.md, "E5"
and "E6".

A soft-label file (gzipped JSON) holds:

- ``teacher``: what the teacher was (base, task, recipe, dev figures, the data manifest);
- ``taught_on``: the keys of every text the teacher trained on;
- ``sentiment`` and/or ``topic``: key -> the teacher's probabilities in ``LABELS[task]`` order.

A key is a hash of ``textprep.dedup_key``, so a text's twins (another link, other case) share it.
A student refuses a file whose teacher trained on a text of the student's dev split: the
teacher would carry that label into the student and flatter the student's dev figures.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from classifier.label_maps import IGNORE, LABELS, TASKS
from classifier.model.textprep import dedup_key
from classifier.training.data import Example
from finpulse.errors import ConfigError

log = logging.getLogger(__name__)

FORMAT = "finpulse-soft-labels/1"
# Shipped with the code: the default recipe's teachers, each run once on the seed data's train
# split (seed 13, 10 % dev); how each was made is in its "teacher" entry and in docs/experiments.md.
PACKAGED_DIR = Path(__file__).resolve().parent / "soft_labels"
PACKAGED = PACKAGED_DIR / "mpnet-sentiment.json.gz"


def packaged_files() -> list[Path]:
    return sorted(PACKAGED_DIR.glob("*.json.gz"))


def text_key(text: str) -> str:
    return hashlib.sha1(dedup_key(text).encode("utf-8")).hexdigest()[:16]


@dataclass
class SoftLabels:
    teacher: dict
    taught_on: frozenset[str]
    # task -> text key -> the teacher's probabilities for that task
    probs: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    path: Path | None = None
    sha256: str | None = None  # of the file's bytes, as read or written

    @classmethod
    def load(cls, path: str | Path) -> SoftLabels:
        path = Path(path)
        try:
            raw = path.read_bytes()
            doc = json.loads(gzip.decompress(raw).decode("utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"soft labels {path}: no such file") from None
        except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"soft labels {path}: not a gzipped JSON file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else None
            raise ConfigError(f"soft labels {path}: format is {found!r}, expected {FORMAT!r}")
        probs = {}
        for task in TASKS:
            if task not in doc:
                continue
            entries, width = doc[task], len(LABELS[task])
            if not isinstance(entries, dict):
                raise ConfigError(f"soft labels {path}: {task!r} is not a mapping of text keys "
                                  "to probabilities")
            bad = next((k for k, v in entries.items() if not (isinstance(v, list) and len(v) == width)), None)
            if bad is not None:
                raise ConfigError(f"soft labels {path}: {task} entry {bad!r} is not {width} probabilities")
            probs[task] = entries
        if not probs:
            raise ConfigError(f"soft labels {path}: holds no probabilities (neither of {', '.join(TASKS)})")
        return cls(teacher=doc.get("teacher", {}), taught_on=frozenset(doc.get("taught_on", [])),
                   probs=probs, path=path, sha256=hashlib.sha256(raw).hexdigest())

    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (atomically) and point ``path`` and ``sha256`` at what was written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "teacher": self.teacher, "taught_on": sorted(self.taught_on), **self.probs}
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

    def targets(self, train: Sequence[Example], task: str, *, labelled: bool = False) -> torch.Tensor:
        """``[len(train), len(LABELS[task])]`` soft targets; NaN rows where a text has none or
        (unless ``labelled``) carries its own label for ``task``."""
        out = torch.full((len(train), len(LABELS[task])), float("nan"))
        entries = self.probs.get(task, {})
        for i, e in enumerate(train):
            if labelled or getattr(e, task) == IGNORE:
                probs = entries.get(text_key(e.text))
                if probs is not None:
                    out[i] = torch.tensor(probs, dtype=torch.float32)
        return out


def _sources(source: str) -> tuple[list[Path], bool]:
    if source == "packaged":
        return packaged_files(), True
    return [Path(p.strip()) for p in source.split(",") if p.strip()], False


def soft_targets(source: str | None, train: Sequence[Example], dev: Sequence[Example], *,
                 labelled: bool = False) -> tuple[dict[str, torch.Tensor], dict]:
    """The soft targets for ``train``, by task, from ``source``: soft-label files separated by
    commas, "packaged" (the shipped files) or None / "none" (no distillation); and what the
    version's manifest records of them. ``labelled``: texts with their own label get targets
    too, so ``distil_loss`` applies to them as well.

    A shipped file is skipped, with a warning, where its teacher saw a dev text (another seed or
    dev fraction than it was made for); a file given by path raises ``ConfigError`` then, and so
    do two files for the same task."""
    if source in (None, "", "none"):
        return {}, {}
    paths, packaged = _sources(source)
    targets: dict[str, torch.Tensor] = {}
    files, skipped, owner = [], [], {}
    for path in paths:
        soft = SoftLabels.load(path)
        leaked = soft.leaked(dev)
        if leaked:
            message = (f"soft labels {soft.path}: the teacher trained on "
                       f"{leaked} of the {len(dev)} dev texts, "
                       "so distilling from it would flatter the dev figures")
            if not packaged:
                raise ConfigError(message + "; make a teacher for this split (finpulse teacher)")
            log.warning("%s; training without them (they were made for the default seed and dev split)",
                        message)
            skipped.append(message)
            continue
        counts = {}
        for task in soft.probs:
            if task in owner:
                raise ConfigError(f"soft labels {soft.path}: {task} targets come from {owner[task]} already")
            owner[task] = soft.path
            got = soft.targets(train, task, labelled=labelled)
            counts[task] = n = int(torch.isfinite(got).all(-1).sum())
            log.info("soft %s targets for %d of %d training texts from %s", task, n, len(train), soft.path)
            if n:
                targets[task] = got
        files.append({"path": str(soft.path), "sha256": soft.sha256, "texts_with_targets": counts,
                      "teacher": {k: soft.teacher.get(k) for k in ("base", "task", "dev", "trained_at")}})
    record = {"files": files}
    if skipped:
        record["skipped"] = skipped
    return targets, record


def distil_loss(logits: torch.Tensor, soft: torch.Tensor) -> torch.Tensor | None:
    """Cross-entropy against the teacher's probabilities, averaged over the rows that have soft
    targets (``SoftLabels.targets`` decides which do); None when the batch has none."""
    has = torch.isfinite(soft).all(-1)
    if not bool(has.any()):
        return None
    logp = torch.log_softmax(logits.float()[has], -1)
    return -(soft[has] * logp).sum(-1).mean()
