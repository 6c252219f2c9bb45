"""Building the training set: overrides, dedup, and a held-out slice that is never trained on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from classifier.label_maps import IGNORE
from classifier.retraining.dataset import (
    HOLDOUT,
    SEED_DEV,
    AnalystExample,
    analyst_examples,
    build,
    is_held_out,
    normalise,
)
from classifier.training.data import Dataset, Example

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def ids(fraction: float, held: bool, n: int) -> list[str]:
    """``n`` article ids that are (or are not) in the held-out slice."""
    out, i = [], 0
    while len(out) < n:
        if is_held_out(f"art-{i}", fraction) == held:
            out.append(f"art-{i}")
        i += 1
    return out


def test_normalise_ignores_case_spacing_and_unicode_forms() -> None:
    assert normalise("  Oil\u00a0PRICES\n jump ") == normalise("oil prices jump") == "oil prices jump"


def test_the_held_out_slice_is_fixed_and_about_the_fraction() -> None:
    picks = [is_held_out(f"art-{i}", 0.2) for i in range(5000)]
    assert picks == [is_held_out(f"art-{i}", 0.2) for i in range(5000)]
    assert 0.17 < sum(picks) / len(picks) < 0.23
    assert not any(is_held_out(f"art-{i}", 0.0) for i in range(100))


def test_analyst_labels_override_seed_labels_and_duplicates_collapse() -> None:
    (a1, a2) = ids(0.25, False, 2)
    seed = Dataset(
        train=[Example("Acme shares plunge", sentiment=1),  # wrong in the seed: analysts fix it
               Example("acme  SHARES plunge", sentiment=1),  # duplicate
               Example("Globex reports revenue", topic=5),
               Example("Globex reports revenue", sentiment=2)],  # same text, other task: merged
        dev=[Example("Initech quarterly earnings beat", topic=5)], sources=[])
    analyst = [AnalystExample(a1, Example("Acme shares plunge ", sentiment=0)),
               AnalystExample(a2, Example("Oil output rises at Hooli", topic=6))]
    got = build(seed, analyst, 0.25)
    by_text = {normalise(e.text): e for e in got.train}
    assert len(got.train) == 3
    assert by_text["acme shares plunge"].sentiment == 0
    assert (by_text["globex reports revenue"].topic, by_text["globex reports revenue"].sentiment) == (5, 2)
    assert by_text["oil output rises at hooli"].topic == 6
    assert got.stats["overridden"] == 1 and got.eval_slices[HOLDOUT] == []


def test_held_out_analyst_labels_and_dev_texts_are_never_trained_on() -> None:
    (held,) = ids(0.25, True, 1)
    (free,) = ids(0.25, False, 1)
    seed = Dataset(train=[Example("Oil output rises at Hooli", topic=5),  # same text as a held-out label
                          Example("Initech quarterly earnings beat", topic=5),  # same text as dev
                          Example("Fed holds rates", topic=1)],
                   dev=[Example("Initech quarterly earnings beat", topic=5)], sources=[])
    analyst = [AnalystExample(held, Example("oil output rises at hooli", topic=6)),
               AnalystExample(free, Example("Initech quarterly earnings beat", topic=13))]
    got = build(seed, analyst, 0.25)
    assert [e.text for e in got.train] == ["Fed holds rates"]
    assert [(e.text, e.topic) for e in got.eval_slices[HOLDOUT]] == [("oil output rises at hooli", 6)]
    assert got.eval_slices[SEED_DEV][0].topic == 5  # the dev split is the fixed gold set
    assert got.stats["analyst_in_eval"] == 1 and got.stats["dropped_eval_texts"] == 2


def test_analyst_rows_resolve_conflicts_per_task() -> None:
    def row(aid: str, task: str, label: int, by: str, minutes: int) -> dict:
        return {"article_id": aid, "task": task, "label": label, "labeled_by": by,
                "labeled_at": T0 + timedelta(minutes=minutes), "title": f"title {aid}", "text": "body",
                "label_text": ""}

    rows = [row("x", "topic", 6, "ann", 0), row("x", "topic", 6, "bob", 1), row("x", "topic", 4, "cat", 2),
            row("x", "sentiment", 1, "ann", 0),
            row("y", "sentiment", 0, "ann", 3), row("y", "sentiment", 2, "bob", 4)]
    got = {a.article_id: a.example for a in analyst_examples(rows)}
    assert (got["x"].topic, got["x"].sentiment, got["x"].text) == (6, 1, "title x\nbody")
    assert (got["y"].topic, got["y"].sentiment) == (IGNORE, 2)  # a tie: the most recent
