"""The promotion gate: not worse beyond the tolerance anywhere, better somewhere."""

from __future__ import annotations

import pytest

from classifier.retraining.gate import build_report, decide, render_markdown, score
from classifier.training.metrics import report

pytestmark = pytest.mark.unit
NAMES = ("a", "b", "c")


def rep(y_true: list[int], y_pred: list[int]) -> dict:
    return report(y_true, y_pred, NAMES)


def slices(dev: tuple[list[int], list[int]], hold: tuple[list[int], list[int]]) -> dict:
    all_true, all_pred = dev[0] + hold[0], dev[1] + hold[1]
    return {"seed_dev": {"topic": rep(*dev)}, "analyst_holdout": {"topic": rep(*hold)},
            "all": {"topic": rep(all_true, all_pred)}}


TRUE_DEV, TRUE_HOLD = [0, 0, 1, 1, 2, 2] * 3, [2, 2, 2, 2]


def test_score_ignores_classes_that_are_only_predicted() -> None:
    assert score(rep([0, 0, 1], [0, 0, 1])) == 1.0
    assert score(rep([0, 0, 0, 0], [0, 0, 0, 2])) == pytest.approx(2 * 0.75 / 1.75)


def test_a_fix_on_the_holdout_without_harm_on_dev_is_promoted() -> None:
    champ = slices((TRUE_DEV, TRUE_DEV), (TRUE_HOLD, [0, 0, 0, 0]))
    chall = slices((TRUE_DEV, TRUE_DEV), (TRUE_HOLD, TRUE_HOLD))
    d = decide(champ, chall, tolerance=0.0, min_gain=0.01)
    assert d.promote and "promoted: topic macro-F1 on all" in d.reasons[0]


def test_a_regression_on_one_slice_blocks_promotion_despite_gains_elsewhere() -> None:
    champ = slices((TRUE_DEV, TRUE_DEV), (TRUE_HOLD, [0, 0, 0, 0]))
    worse_dev = [2 if t == 1 else t for t in TRUE_DEV]  # class b now always c
    chall = slices((TRUE_DEV, worse_dev), (TRUE_HOLD, TRUE_HOLD))
    d = decide(champ, chall, tolerance=0.05, min_gain=0.0)
    assert not d.promote
    assert any("topic macro-F1 on seed_dev" in r and "worse than the tolerance" in r for r in d.reasons)


def test_no_gain_is_no_promotion_and_a_small_drop_is_tolerated() -> None:
    champ = slices((TRUE_DEV, TRUE_DEV), (TRUE_HOLD, TRUE_HOLD))
    assert not decide(champ, champ, tolerance=0.0, min_gain=0.0).promote
    one_off = TRUE_DEV[:-1] + [1]
    chall = slices((TRUE_DEV, one_off), (TRUE_HOLD, TRUE_HOLD))
    assert not decide(champ, chall, tolerance=0.1, min_gain=0.0).promote  # tolerated, but no gain
    assert decide(chall, champ, tolerance=0.0, min_gain=0.0).promote


def test_report_has_before_and_after_per_slice_and_class() -> None:
    champ = slices((TRUE_DEV, TRUE_DEV), (TRUE_HOLD, [0, 0, 0, 0]))
    chall = slices((TRUE_DEV, TRUE_DEV), (TRUE_HOLD, TRUE_HOLD))
    d = decide(champ, chall, tolerance=0.0, min_gain=0.0)
    r = build_report(champion_version="v1", challenger_version="v2", champion=champ, challenger=chall,
                     decision=d, labelset_stats={"train_examples": 9}, training={"start": "champion v1"})
    t = r["tasks"]["topic"]
    assert (t["before"]["analyst_holdout"]["accuracy"] == 0.0
            and t["after"]["analyst_holdout"]["accuracy"] == 1.0)
    assert t["per_class"]["c"]["before_f1"] < t["per_class"]["c"]["after_f1"] == 1.0
    md = render_markdown(r)
    assert "**Decision: PROMOTED**" in md and "| analyst_holdout | 4 | 0.000 | 1.000 |" in md
