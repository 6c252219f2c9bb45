"""The neighbour part: the vote of a text's nearest training texts, built after training from
the kept weights, saved with the version, and mixed in by the engine on both runtimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.labels import IGNORE, LABELS
from classifier.neighbours import NeighbourConfig, Neighbours

N_TOPICS = len(LABELS["topic"])


def _memory(config: NeighbourConfig | None = None) -> tuple[Neighbours, np.ndarray]:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(40, 8)).astype(np.float32)
    topics = [i % 4 for i in range(40)]
    topics[5] = IGNORE  # a text with a sentiment label only: no topic vote
    return Neighbours.build(embeddings, {"topic": topics}, config or NeighbourConfig(k=3)), embeddings


@pytest.mark.unit
def test_a_training_text_s_own_label_wins_its_vote() -> None:
    memory, embeddings = _memory()
    assert len(memory.labels["topic"]) == 39  # the unlabelled text is left out
    vote = memory.proba(embeddings * 2.5, "topic")  # length does not matter: cosine similarity
    assert vote.shape == (40, N_TOPICS) and np.allclose(vote.sum(1), 1.0, atol=1e-5)
    own = [i for i in range(40) if i != 5]
    assert (vote[own].argmax(1) == [i % 4 for i in own]).all()
    assert (vote[own].max(1) > 0.5).all()


@pytest.mark.unit
def test_the_vote_weighs_closer_texts_more() -> None:
    keys = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]], dtype=np.float32)
    memory = Neighbours.build(keys, {"topic": [1, 2, 2]}, NeighbourConfig(k=3, temperature=0.05))
    vote = memory.proba(np.array([[1.0, 0.05]], dtype=np.float32), "topic")[0]
    # similarities ~1.0, ~0.83, ~0.64: the nearest outweighs the two others together
    assert vote[1] > 0.9 and vote[1] + vote[2] == pytest.approx(1.0, abs=1e-5)
    wide = Neighbours.build(keys, {"topic": [1, 2, 2]}, NeighbourConfig(k=3, temperature=10.0))
    assert wide.proba(np.array([[1.0, 0.05]], dtype=np.float32), "topic")[0][2] > 0.6  # ~a plain count


@pytest.mark.unit
def test_k_larger_than_the_memory_and_a_task_it_does_not_hold() -> None:
    keys = np.eye(3, dtype=np.float32)
    memory = Neighbours.build(keys, {"topic": [0, 1, 2]}, NeighbourConfig(k=50, weight=0.4))
    vote = memory.proba(keys, "topic")
    assert (vote.argmax(1) == [0, 1, 2]).all()
    sentiment = np.full((3, 3), 1 / 3, dtype=np.float32)
    assert memory.mix(sentiment, keys, "sentiment") is sentiment  # it votes on topic only
    topic = np.full((3, N_TOPICS), 1 / N_TOPICS, dtype=np.float32)
    mixed = memory.mix(topic, keys, "topic")
    assert np.allclose(mixed, 0.6 * topic + 0.4 * vote)


@pytest.mark.unit
def test_saved_and_loaded_it_votes_the_same(tmp_path: Path) -> None:
    memory, embeddings = _memory(NeighbourConfig(k=4, temperature=0.1, weight=0.2))
    memory.save(tmp_path)
    loaded = Neighbours.load(tmp_path)
    assert loaded is not None and loaded.config == memory.config
    assert np.array_equal(loaded.proba(embeddings, "topic"), memory.proba(embeddings, "topic"))
    assert Neighbours.load(tmp_path / "elsewhere") is None


@pytest.mark.slow
def test_the_tiny_version_has_a_neighbour_part_that_matches_its_training_rows(tiny_run) -> None:  # noqa: ANN001
    from transformers import AutoTokenizer

    from classifier import registry
    from classifier.data import load_seed
    from classifier.engine import Engine
    from classifier.model import MultiTaskClassifier
    from classifier.train import TrainConfig

    folder = tiny_run.folder
    meta = registry.read_meta(folder)
    args = meta["training_args"]
    model = MultiTaskClassifier.from_folder(folder)
    assert model.neighbours is not None and model.neighbours.weight == TrainConfig().neighbour_weight
    data = load_seed(args["data"], seed=args["seed"], dev_fraction=args["dev_fraction"], limit=args["limit"])
    labelled = [e for e in data.train if e.topic != IGNORE]
    assert list(model.neighbours.labels["topic"]) == [e.topic for e in labelled]
    # Each training text's pooled embedding is closest to its own row in the memory (a twin,
    # the same headline with another link, ties with it; keys are float16).
    engine = Engine(model, AutoTokenizer.from_pretrained(str(folder)), version="t", max_length=32)
    _, _, pooled = engine.run_parts(engine.encode([e.text for e in labelled]))
    sims = (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)) @ model.neighbours.keys["topic"].T
    own = sims[np.arange(len(labelled)), np.arange(len(labelled))]
    assert (own >= sims.max(1) - 2e-3).all()
    assert (own > 0.99).all() and np.median(sims) < 0.9
    dev = meta["metrics"]["dev"]
    assert "without_neighbours" in dev and "topic_accuracy" in dev["without_neighbours"]
