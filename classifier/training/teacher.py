"""``finpulse teacher``: fine-tune a larger encoder on one task's rows and write its soft labels
(``classifier.training.distil``) for every training text. It trains with the student's own
loop (``classifier.training.train``), which in turn reads the soft labels: this module joins the
two so neither imports the other."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from classifier.label_maps import IGNORE, LABELS, TASKS
from classifier.model.base_encoder import resolve_base
from classifier.training import train as trainer
from classifier.training.data import Dataset, load_seed
from classifier.training.distil import SoftLabels, text_key
from finpulse.errors import ConfigError

log = logging.getLogger(__name__)


def train_teacher(settings, base: str, out: str | Path, *, task: str = "sentiment", epochs: int = 1,
                  lr: float = 5e-5, seed: int = 13, dev_fraction: float = 0.1, data: str | None = None,
                  limit: int | None = None, progress: bool = True) -> SoftLabels:
    """Fine-tune ``base`` on the ``task`` rows of the train split, then write its ``task``
    probabilities for every training text to ``out``. The dev split is the students' (same seed
    and fraction): the teacher never sees it, and its dev figures are reported."""
    if task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    data = data or settings.model.seed_data
    ref = resolve_base(base)
    dataset = load_seed(data, seed=seed, dev_fraction=dev_fraction, limit=limit)
    labelled = [e for e in dataset.train if getattr(e, task) != IGNORE]
    dev = [e for e in dataset.dev if getattr(e, task) != IGNORE]
    if not labelled or not dev:
        raise ConfigError(f"{data}: no {task} rows to train a teacher on")
    cfg = trainer.TrainConfig(base=base, data=data, epochs=epochs, lr=lr, seed=seed,
                              dev_fraction=dev_fraction, limit=limit, frozen_layers=0,
                              lexical_weight=0.0, soft_labels=None)
    cfg.check()
    if settings.model.threads:
        torch.set_num_threads(settings.model.threads)
    trainer.set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(ref.location)
    model = trainer.new_model(ref.location, cfg)
    device = trainer.training_device(settings)
    log.info("%s teacher %s: %d texts, dev %d, on %s", task, ref.name, len(labelled), len(dev), device)
    metrics = trainer.fit(model, tokenizer, Dataset(labelled, dev, dataset.sources), cfg, progress, device)
    engine = trainer.eval_engine(model.eval(), tokenizer, cfg, device, version="teacher")
    texts = [e.text for e in dataset.train]
    probs = _probabilities(engine, texts, task, progress)
    dev_summary = {k: v for k, v in metrics["summary"].items() if k.startswith(task)}
    soft = SoftLabels(
        teacher={"base": {"name": ref.name, "upstream": ref.upstream, "licence": ref.licence}, "task": task,
                 "recipe": {"epochs": epochs, "lr": lr, "seed": seed, "dev_fraction": dev_fraction,
                            "max_length": cfg.max_length, "label_smoothing": cfg.label_smoothing,
                            "strip_urls": cfg.strip_urls},
                 "dev": dev_summary, "best_epoch": metrics["best_epoch"],
                 "train_seconds": metrics["train_seconds"],
                 "data": dataset.manifest(seed=seed, dev_fraction=dev_fraction, limit=limit),
                 "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        taught_on=frozenset(text_key(e.text) for e in labelled),
        probs={task: {text_key(t): [round(float(p), 5) for p in row]
                      for t, row in zip(texts, probs, strict=False)}},
    )
    soft.save(out)
    print(f"{task} teacher {ref.name}: dev {dev_summary} (best epoch {metrics['best_epoch']}); "
          f"soft labels for {len(soft.probs[task])} texts in {soft.path}")
    return soft


def _probabilities(engine, texts: list[str], task: str, progress: bool,
                   chunk: int = 1024) -> np.ndarray:
    out = []
    with tqdm(total=len(texts), unit="text", desc="teacher labels", disable=not progress) as bar:
        for i in range(0, len(texts), chunk):
            part = texts[i:i + chunk]
            out.append(np.asarray(getattr(engine.run(engine.encode(part)), task)))
            bar.update(len(part))
    return np.concatenate(out) if out else np.zeros((0, len(LABELS[task])), dtype=np.float32)
