"""Batched inference gives the labels of one-at-a-time inference; batches obey the budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.model.network import MultiTaskClassifier
from classifier.serving.inference import InferenceEngine, Probabilities, plan_batches, to_predictions
from finpulse.schemas import TOPICS


@pytest.mark.unit
def test_plan_batches_respects_size_and_token_budget() -> None:
    lengths = [5, 30, 12, 30, 7, 1, 22, 9, 30, 3]
    batches = plan_batches(lengths, max_batch_tokens=64, max_batch_size=3)
    assert sorted(i for b in batches for i in b) == list(range(10))
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 64
    firsts = [lengths[b[0]] for b in batches]
    assert firsts == sorted(firsts, reverse=True)  # longest first
    assert plan_batches([100], 10, 4) == [[0]]  # a single long text still runs


@pytest.mark.unit
def test_plan_batches_groups_similar_lengths_to_limit_padding() -> None:
    lengths = [10] * 8 + [64] * 8 + [40] * 8
    batches = plan_batches(lengths, max_batch_tokens=100_000, max_batch_size=64)
    assert [sorted({lengths[i] for i in b}) for b in batches] == [[64], [40], [10]]
    # a small batch is not split: its fixed cost outweighs the padding
    assert len(plan_batches([64, 10, 10, 10], max_batch_tokens=100_000, max_batch_size=64)) == 1


def _engine(folder: Path, **kw) -> InferenceEngine:
    from transformers import AutoTokenizer

    model = MultiTaskClassifier.from_folder(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return InferenceEngine(model, tokenizer, version="t", max_length=32, **kw)


TEXTS = [
    "Apple beats earnings estimates, shares jump", "Fed signals two more hikes this year",
    "Oil slumps as OPEC output rises", "$TSLA downgraded to sell at Goldman",
    "Dividend raised 10%", "short", "The bank named a new chief financial officer today " * 6,
    "Gold hits a record high as the dollar weakens", "IPO priced above range", "Markets wrap",
]


@pytest.mark.slow
def test_batched_fp32_engine_matches_one_at_a_time(tiny_model: Path) -> None:
    batched = _engine(tiny_model, max_batch_tokens=96, max_batch_size=4)
    together = batched.run(batched.encode(TEXTS))
    for i, text in enumerate(TEXTS):
        alone = batched.run(batched.encode([text]))
        assert int(alone.topic[0].argmax()) == int(together.topic[i].argmax())
        assert int(alone.sentiment[0].argmax()) == int(together.sentiment[i].argmax())
        assert alone.topic[0] == pytest.approx(together.topic[i], abs=1e-4)
    # and with no batching limits at all (one padded batch)
    whole = _engine(tiny_model, max_batch_tokens=100_000, max_batch_size=1000)
    assert (whole.run(whole.encode(TEXTS)).topic.argmax(1) == together.topic.argmax(1)).all()


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_torch_sub_batches_run_at_once_give_the_same_labels(tiny_model: Path, precision: str) -> None:
    # Several sub-batches of one batch run on their own threads at once (model.parallel_batches).
    one = _engine(tiny_model, precision=precision, max_batch_tokens=64, max_batch_size=2)
    two = _engine(tiny_model, precision=precision, max_batch_tokens=64, max_batch_size=2, parallel_batches=2)
    texts = TEXTS * 3  # many sub-batches of up to 2 texts, finished in any order
    expected, got = one.run(one.encode(texts)), two.run(two.encode(texts))
    assert two._pool is not None and one._pool is None
    assert (got.topic.argmax(1) == expected.topic.argmax(1)).all()
    assert (got.sentiment.argmax(1) == expected.sentiment.argmax(1)).all()
    assert np.abs(got.sentiment - expected.sentiment).max() < 1e-5


def test_long_text_is_truncated_not_rejected(tiny_model: Path) -> None:
    engine = _engine(tiny_model)
    encoded = engine.encode(["word " * 200_000])
    assert len(encoded.ids[0]) == 32
    assert len(engine.predict(["word " * 200_000])) == 1


@pytest.mark.slow
def test_int8_and_bf16_paths_give_valid_probabilities(tiny_model: Path) -> None:
    for precision in ("int8", "bf16"):
        probs = _engine(tiny_model, precision=precision).run(_engine(tiny_model).encode(TEXTS))
        assert torch.allclose(torch.tensor(probs.topic.sum(1)), torch.ones(len(TEXTS)), atol=1e-3)


@pytest.mark.slow
def test_the_encoder_reads_links_as_one_word_piece_and_the_lexical_part_reads_raw_text(
    tiny_model: Path,
) -> None:
    engine = _engine(tiny_model)
    assert engine.textprep.url_marker == "http"  # the default recipe's preparation, reloaded
    raw = "Fed holds rates https://t.co/W2mMm5MIVH"
    encoded = engine.encode([raw])
    assert encoded.ids == engine.encode(["Fed holds rates http"]).ids
    assert encoded.texts == [raw]
    unprepared = _engine(tiny_model)
    unprepared.textprep = type(engine.textprep)()  # as a version trained before text preparation
    assert len(unprepared.encode([raw]).ids[0]) > len(encoded.ids[0]) + 5


@pytest.mark.unit
def test_predictions_follow_each_row_of_probabilities() -> None:
    topic = np.full((2, len(TOPICS)), 0.01, dtype=np.float32)
    topic[0, 3], topic[1, 17] = 0.81, 0.8123456789
    sentiment = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]], dtype=np.float32)
    first, second = to_predictions(Probabilities(topic, sentiment), "v1", [12.5, 0.0])
    assert (first.topic, first.topic_id, first.sentiment) == (TOPICS[3], 3, "bearish")
    assert (second.topic, second.topic_id, second.sentiment) == (TOPICS[17], 17, "bullish")
    assert first.sentiment_score == pytest.approx(0.2 - 0.7, abs=1e-6)
    assert second.sentiment_score == pytest.approx(0.9 - 0.05, abs=1e-6)
    assert second.topic_confidence == pytest.approx(0.8123457, abs=1e-6)
    assert second.topic_probs[17] == 0.812346  # rounded to 6 places for the wire
    assert first.sentiment_probs == [0.7, 0.2, 0.1]
    assert (first.latency_ms, second.latency_ms, first.model_version) == (12.5, 0.0, "v1")
    assert first.classified_at == second.classified_at
