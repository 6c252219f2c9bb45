"""Classification figures, checked against numbers worked out by hand."""

from __future__ import annotations

import pytest

from classifier.training.metrics import report

pytestmark = pytest.mark.unit


def test_report_matches_hand_computed_figures() -> None:
    # true: a a a b b c ; pred: a a b b c c
    # a: tp2 p=2/2 r=2/3 f1=0.8 ; b: tp1 p=1/2 r=1/2 f1=0.5 ; c: tp1 p=1/2 r=1 f1=2/3
    rep = report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c", "d"])
    assert rep["n"] == 6
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert rep["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert rep["weighted_f1"] == pytest.approx((0.8 * 3 + 0.5 * 2 + 2 / 3) / 6)
    assert rep["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert "d" not in rep["per_class"]  # neither true nor predicted: left out, like sklearn


def test_report_agrees_with_sklearn() -> None:
    import random

    from sklearn.metrics import accuracy_score, f1_score

    rng = random.Random(3)
    y_true = [rng.randrange(5) for _ in range(300)]
    y_pred = [t if rng.random() < 0.6 else rng.randrange(6) for t in y_true]
    rep = report(y_true, y_pred, [str(i) for i in range(6)])
    assert rep["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert rep["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert rep["weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
