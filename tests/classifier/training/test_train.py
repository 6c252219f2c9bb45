"""Training a tiny model registers a well-formed version whose loss went down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier import registry
from classifier.training.distil import packaged_files
from finpulse.schemas import SENTIMENTS, TOPICS, Prediction

pytestmark = pytest.mark.slow


def test_tiny_training_registers_a_champion_with_a_complete_folder(tiny_run) -> None:
    settings, version = tiny_run.settings, tiny_run.version

    assert registry.champion_version(settings) == version  # first version: champion
    folder = settings.model.registry_dir / version
    for name in ("model.safetensors", "config.json", "tokenizer.json", "labels.json",
                 "training_args.json", "metrics.json", "manifest.json", "lexical.safetensors",
                 "lexical.json", "textprep.json"):
        assert (folder / name).is_file(), name
    meta = registry.read_meta(folder)
    assert meta["labels"]["topic"]["19"] == TOPICS[19]
    assert meta["training_args"]["limit"] == 160
    assert meta["manifest"]["base_model"]["licence"] == "apache-2.0"
    assert {f["task"] for f in meta["manifest"]["data"]["files"]} == {"topic", "sentiment"}
    # The default recipe distils from the shipped soft labels: each teacher's task, on every
    # training text without a label of its own for that task.
    files = {Path(f["path"]).name: f for f in meta["manifest"]["distillation"]["files"]}
    assert set(files) == {p.name for p in packaged_files()} >= {"mpnet-sentiment.json.gz"}
    rows = meta["manifest"]["data"]["train"]
    for record in files.values():
        assert len(record["sha256"]) == 64
        for task, n in record["texts_with_targets"].items():
            assert n == rows["rows"] - rows[task] > 0, (task, record)
    history = meta["metrics"]["history"]
    assert len(history) == 2 and meta["metrics"]["best_epoch"] in (1, 2)
    curve = meta["metrics"]["loss_curve"]
    assert curve[-1] < curve[0], f"loss did not go down: {curve}"
    assert history[1]["train_loss"] < history[0]["train_loss"]
    # The ablation: the encoder alone and the n-gram part alone, on the same dev rows.
    assert set(history[0]["encoder_only"]) == set(history[0]["dev"]) == set(history[0]["lexical_only"])

    engine = registry.load_engine(settings, registry.resolve(settings))
    preds = engine.predict(["Apple beats earnings estimates", "Oil prices slump", "x" * 5000])
    for pred in preds:
        assert isinstance(pred, Prediction) and pred.model_version == version
        assert len(pred.topic_probs) == len(TOPICS) and len(pred.sentiment_probs) == len(SENTIMENTS)
        assert sum(pred.topic_probs) == pytest.approx(1, abs=1e-3)
        assert pred.sentiment_score == pytest.approx(
            pred.sentiment_probs[1] - pred.sentiment_probs[0], abs=1e-4)
        assert pred.topic == TOPICS[pred.topic_id]


def test_a_second_version_is_a_candidate_until_promoted(model_settings, install_model) -> None:
    settings = model_settings()
    install_model(settings, "v-one", promote=None)
    install_model(settings, "v-two", promote=None)
    assert registry.champion_version(settings) == "v-one"
    registry.promote(settings, "v-two")
    assert registry.champion_version(settings) == "v-two"
    assert registry.rollback(settings) == ("v-two", "v-one")
    shown = registry.show(settings, "v-one")
    assert shown["is_champion"] and json.loads(json.dumps(shown, default=str))
    assert Path(shown["path"]).is_dir()


def test_ensure_champion_keeps_an_existing_champion(model_settings, install_model) -> None:
    from classifier.training.train import TrainConfig, ensure_champion

    settings = model_settings()
    version = install_model(settings, "already-there")
    # a config that would fail fast if training were attempted
    assert ensure_champion(settings, progress=False, config=TrainConfig(data="/nonexistent")) == version
