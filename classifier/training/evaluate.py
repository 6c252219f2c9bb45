"""Scoring a model on labelled examples: per-task reports and the dev-split summary."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from classifier import registry
from classifier.label_maps import IGNORE, LABELS
from classifier.training.data import Example, read_labelled_csv
from classifier.training.metrics import report


def evaluate_examples(engine, examples: Sequence[Example]) -> dict[str, dict]:
    """A report per task over the examples that carry that task's label."""
    start = time.perf_counter()
    probs = engine.run(engine.encode([e.text for e in examples]))
    out = reports_from_probs(probs, examples)
    seconds = time.perf_counter() - start
    out["texts_per_s"] = len(examples) / seconds if seconds > 0 else 0.0
    return out


def reports_from_probs(probs, examples: Sequence[Example]) -> dict[str, dict]:
    """A report per task from already computed probabilities (``engine.Probabilities``)."""
    out: dict[str, dict] = {}
    for task, matrix in (("topic", probs.topic), ("sentiment", probs.sentiment)):
        rows = [i for i, e in enumerate(examples) if getattr(e, task) != IGNORE]
        if rows:
            y_true = [getattr(examples[i], task) for i in rows]
            y_pred = [int(matrix[i].argmax()) for i in rows]
            out[task] = report(y_true, y_pred, LABELS[task])
    return out


def summary(reports: dict[str, dict]) -> dict[str, float]:
    """The headline figures of a per-task evaluation (what the registry row keeps)."""
    out: dict[str, float] = {}
    for task in ("topic", "sentiment"):
        if task in reports:
            out[f"{task}_accuracy"] = round(reports[task]["accuracy"], 4)
            out[f"{task}_macro_f1"] = round(reports[task]["macro_f1"], 4)
    return out


def selection_score(reports: dict[str, dict]) -> float:
    """What model selection maximises: the mean of accuracy and macro-F1 over the tasks."""
    figures = [reports[t][k] for t in ("topic", "sentiment") if t in reports
               for k in ("accuracy", "macro_f1")]
    return sum(figures) / len(figures) if figures else 0.0


def eval_csv(settings, task: str, path, model: str | None = None) -> dict:
    """``finpulse eval``: classify every row of a ``text,label`` CSV for ``task`` and return
    the figures as one JSON-ready object."""

    rows, _ = read_labelled_csv(Path(path), task)
    engine = registry.load_engine(settings, registry.resolve(settings, model))
    start = time.perf_counter()
    probs = engine.run(engine.encode([text for text, _ in rows]))
    seconds = time.perf_counter() - start
    matrix = probs.topic if task == "topic" else probs.sentiment
    rep = report([label for _, label in rows], [int(p.argmax()) for p in matrix], LABELS[task])
    return {"task": task, "model": engine.version, "n": rep["n"], "accuracy": rep["accuracy"],
            "macro_f1": rep["macro_f1"], "weighted_f1": rep["weighted_f1"],
            "per_class": rep["per_class"],
            "texts_per_s": round(len(rows) / seconds, 1) if seconds > 0 else 0.0}
