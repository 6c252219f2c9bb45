"""The conflict rule and the agreement figures, on hand-worked examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from classifier.retraining.agreement import Vote, agreement, cohen_kappa, fleiss_kappa, resolve

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def vote(label: int, by: str, minutes: int, item: str = "a1") -> Vote:
    return Vote(item, label, by, T0 + timedelta(minutes=minutes))


def test_majority_wins_even_when_the_minority_is_more_recent() -> None:
    assert resolve([vote(5, "ann", 0), vote(5, "bob", 1), vote(4, "cat", 9)]).label == 5


def test_a_tie_goes_to_the_most_recent_label() -> None:
    assert resolve([vote(5, "ann", 0), vote(4, "bob", 3)]).label == 4
    assert resolve([vote(4, "ann", 3), vote(5, "bob", 0)]).label == 4
    # two against two: the most recent of the tied labels decides
    assert resolve([vote(1, "a", 0), vote(2, "b", 1), vote(1, "c", 2), vote(2, "d", 7)]).label == 2


def test_each_analyst_counts_once_with_their_latest_label() -> None:
    # ann changed her mind from 4 to 5; her old label must not outvote bob
    votes = [vote(4, "ann", 0), vote(5, "ann", 5), vote(5, "bob", 1), vote(4, "cat", 2)]
    assert resolve(votes).label == 5


def test_cohen_kappa_matches_the_hand_computation() -> None:
    # observed 0.75; chance (2*1 + 2*3) / 16 = 0.5; kappa (0.75 - 0.5) / 0.5
    assert cohen_kappa([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    assert cohen_kappa([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    assert cohen_kappa([1, 1], [1, 1]) is None  # chance agreement 1: undefined


def test_fleiss_kappa_matches_the_hand_computation() -> None:
    # item 1: 3 raters all 0 -> P=1; item 2: [0, 1, 1] -> (1+4-3)/6 = 1/3
    # p0 = 4/6, p1 = 2/6 -> Pe = 16/36 + 4/36 = 5/9; P-bar = 2/3
    percent, kappa = fleiss_kappa([[0, 0, 0], [0, 1, 1], [7]])
    assert percent == pytest.approx(2 / 3)
    assert kappa == pytest.approx((2 / 3 - 5 / 9) / (1 - 5 / 9))
    assert fleiss_kappa([[1], [2]]) == (None, None)


def test_agreement_reports_pairs_and_conflicts_on_latest_labels() -> None:
    votes = [vote(1, "ann", 0, "x"), vote(1, "bob", 1, "x"),
             vote(2, "ann", 0, "y"), vote(3, "bob", 1, "y"), vote(2, "bob", 9, "y"),  # bob corrected
             vote(0, "ann", 0, "z"), vote(1, "bob", 1, "z"),
             vote(4, "cat", 0, "w")]
    got = agreement(votes)
    assert got["items"] == 4 and got["analysts"] == 3 and got["multi_rated"] == 3
    assert got["conflicting"] == 1
    assert got["percent_agreement"] == pytest.approx(2 / 3)
    (pair,) = got["pairs"]
    assert (pair["a"], pair["b"], pair["items"]) == ("ann", "bob", 3)
    assert pair["agreement"] == pytest.approx(2 / 3)
