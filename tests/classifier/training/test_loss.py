"""The training loss: missing labels add nothing, and class weights rebalance the classes."""

from __future__ import annotations

import pytest
import torch

from classifier.label_maps import IGNORE
from classifier.model.network import balanced_weights, task_loss


def test_balanced_weights_follow_the_prior_and_keep_the_average_example_at_one() -> None:
    labels = [0, 0, 0, 1, IGNORE, IGNORE]
    full = balanced_weights(labels, 3, 1.0)
    assert full.tolist() == pytest.approx([2 / 3, 2.0, 2.0])  # class 2 is absent: the largest
    assert balanced_weights(labels, 3, 0.0).tolist() == pytest.approx([1.0, 1.0, 1.0])
    half = balanced_weights(labels, 3, 0.5)
    assert 0.75 * half[0] + 0.25 * half[1] == pytest.approx(1.0)
    assert half[1] / half[0] == pytest.approx(3 ** 0.5)


def test_a_weighted_loss_counts_the_rare_class_more() -> None:
    logits = torch.zeros(4, 2)
    logits[:, 0] = 1.0  # every example predicted as class 0
    labels = torch.tensor([0, 0, 0, 1])
    plain = task_loss(logits, labels)
    weighted = task_loss(logits, labels, class_weights=balanced_weights(labels.tolist(), 2, 1.0))
    assert weighted > plain  # the one misclassified rare example weighs as much as the three others
    assert task_loss(logits, torch.full((4,), IGNORE)).item() == 0.0
