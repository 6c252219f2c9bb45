"""Classification figures (accuracy, macro/weighted F1, per class), pure functions on label ids."""

from __future__ import annotations

from collections.abc import Sequence


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def per_class(y_true: Sequence[int], y_pred: Sequence[int], names: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support of every class named in ``names`` (by id)."""
    out = {}
    for i, name in enumerate(names):
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=False) if t == i and p == i)
        predicted = sum(1 for p in y_pred if p == i)
        support = sum(1 for t in y_true if t == i)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        out[name] = {"precision": precision, "recall": recall, "f1": _f1(precision, recall),
                     "support": support}
    return out


def report(y_true: Sequence[int], y_pred: Sequence[int], names: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and weighted F1 over the classes present in ``y_true`` or ``y_pred``,
    plus the per-class figures (classes with no support and no prediction are left out)."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")
    n = len(y_true)
    classes = per_class(y_true, y_pred, names)
    present = {k: v for k, v in classes.items() if v["support"] or any(names[p] == k for p in y_pred)}
    macro = sum(v["f1"] for v in present.values()) / len(present) if present else 0.0
    weighted = sum(v["f1"] * v["support"] for v in present.values()) / n if n else 0.0
    accuracy = sum(1 for t, p in zip(y_true, y_pred, strict=False) if t == p) / n if n else 0.0
    return {"n": n, "accuracy": accuracy, "macro_f1": macro, "weighted_f1": weighted,
            "per_class": present}
