"""Soft labels from a teacher: the file, the leak guard, which rows get targets, and the loss."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from classifier.label_maps import IGNORE
from classifier.training.data import Example
from classifier.training.distil import (
    PACKAGED,
    SoftLabels,
    distil_loss,
    packaged_files,
    soft_targets,
    text_key,
)
from finpulse.errors import ConfigError

TAUGHT = Example("Stocks slump as yields jump https://t.co/AbC123", sentiment=0)
UNLABELLED = Example("Fed minutes due at 2pm https://t.co/xyz", topic=7)
OTHER = Example("Copper rallies on China stimulus", topic=3)


def _labels(tmp_path: Path) -> Path:
    soft = SoftLabels(teacher={"base": {"name": "teacher"}}, taught_on=frozenset({text_key(TAUGHT.text)}),
                      probs={"sentiment": {text_key(UNLABELLED.text): [0.1, 0.2, 0.7],
                                           text_key(TAUGHT.text): [0.8, 0.1, 0.1]}})
    return soft.save(tmp_path / "soft.json.gz")


def test_a_file_round_trips_and_the_same_labels_give_the_same_bytes(tmp_path: Path) -> None:
    path = _labels(tmp_path)
    again = SoftLabels.load(path)
    assert again.probs == {"sentiment": {text_key(UNLABELLED.text): [0.1, 0.2, 0.7],
                                         text_key(TAUGHT.text): [0.8, 0.1, 0.1]}}
    assert again.taught_on == {text_key(TAUGHT.text)}
    first = path.read_bytes()
    again.save(path)
    assert path.read_bytes() == first and again.sha256 == SoftLabels.load(path).sha256


def test_targets_go_to_unlabelled_texts_and_their_twins_only(tmp_path: Path) -> None:
    soft = SoftLabels.load(_labels(tmp_path))
    twin = Example("FED MINUTES due at 2pm https://t.co/other", topic=7)  # another link, capitals
    got = soft.targets([UNLABELLED, TAUGHT, OTHER, twin], "sentiment")
    assert got[0].tolist() == pytest.approx([0.1, 0.2, 0.7])
    assert torch.isnan(got[1]).all(), "a text with its own sentiment label keeps the hard label"
    assert torch.isnan(got[2]).all(), "a text the teacher did not label gets nothing"
    assert got[3].tolist() == pytest.approx([0.1, 0.2, 0.7])
    labelled = soft.targets([UNLABELLED, TAUGHT, OTHER], "sentiment", labelled=True)
    assert labelled[1].tolist() == pytest.approx([0.8, 0.1, 0.1]) and torch.isnan(labelled[2]).all()


def test_a_teacher_that_saw_a_dev_text_is_refused_by_path_and_skipped_when_packaged(tmp_path: Path) -> None:
    path = _labels(tmp_path)
    with pytest.raises(ConfigError, match=r"soft\.json\.gz.*trained on 1 of the 2 dev texts"):
        soft_targets(str(path), [UNLABELLED], [TAUGHT, OTHER])
    targets, record = soft_targets(str(path), [UNLABELLED, OTHER], [Example("unseen", sentiment=2)])
    [file] = record["files"]
    assert file["texts_with_targets"] == {"sentiment": 1} and file["sha256"] and set(targets) == {"sentiment"}
    assert targets["sentiment"].shape == (2, 3)
    assert soft_targets(None, [UNLABELLED], []) == ({}, {})
    assert soft_targets("none", [UNLABELLED], []) == ({}, {})


@pytest.mark.skipif(not PACKAGED.is_file(), reason="no packaged soft labels")
def test_the_packaged_files_serve_their_split_and_are_skipped_on_another(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from classifier.training.data import load_seed
    from finpulse.settings import ModelSettings

    seed_data = ModelSettings().seed_data
    same = load_seed(seed_data, seed=13, dev_fraction=0.1)
    targets, record = soft_targets("packaged", same.train, same.dev)
    assert len(record["files"]) == len(packaged_files()) and "skipped" not in record
    for task, got in targets.items():  # every text without its own label for the task has a target
        unlabelled = sum(getattr(e, task) == IGNORE for e in same.train)
        assert int(torch.isfinite(got).all(-1).sum()) == unlabelled > 0
    assert "sentiment" in targets
    other = load_seed(seed_data, seed=7, dev_fraction=0.1)  # its dev holds texts the teachers trained on
    targets, record = soft_targets("packaged", other.train, other.dev)
    assert targets == {} and len(record["skipped"]) == len(packaged_files())
    assert all("the teacher trained on" in m for m in record["skipped"])
    assert "training without them" in caplog.text


def test_topic_and_sentiment_files_combine_and_two_files_for_one_task_are_refused(tmp_path: Path) -> None:
    topic_labels = SoftLabels(teacher={"task": "topic"}, taught_on=frozenset({text_key(UNLABELLED.text)}),
                              probs={"topic": {text_key(TAUGHT.text): [0.05] * 20}})
    topics = topic_labels.save(tmp_path / "topic.json.gz")
    sentiment = _labels(tmp_path)
    train = [UNLABELLED, TAUGHT, OTHER]
    targets, record = soft_targets(f"{sentiment},{topics}", train, [Example("unseen", sentiment=2)])
    assert set(targets) == {"topic", "sentiment"}
    assert targets["topic"][1].tolist() == pytest.approx([0.05] * 20), "the sentiment-only text gets a topic"
    assert torch.isnan(targets["topic"][0]).all() and torch.isnan(targets["topic"][2]).all()
    assert [f["texts_with_targets"] for f in record["files"]] == [{"sentiment": 1}, {"topic": 1}]
    with pytest.raises(ConfigError, match=r"soft\.json\.gz: sentiment targets come from .*soft\.json\.gz"):
        soft_targets(f"{sentiment},{sentiment}", train, [])


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"not gzip", "not a gzipped JSON file"),
    (gzip.compress(b'{"format": "other"}'), "format is 'other'"),
    (gzip.compress(b'{"format": "finpulse-soft-labels/1", "sentiment": {"k": [1, 0]}}'),
     "sentiment entry 'k' is not 3"),
    (gzip.compress(b'{"format": "finpulse-soft-labels/1", "topic": {"k": [1, 0, 0]}}'),
     "topic entry 'k' is not 20"),
    (gzip.compress(b'{"format": "finpulse-soft-labels/1", "teacher": {}}'), "holds no probabilities"),
])
def test_a_bad_file_is_refused_with_its_name_and_the_reason(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.json.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"bad\.json\.gz.*{message}"):
        SoftLabels.load(path)


def test_the_loss_is_cross_entropy_against_the_teacher_on_rows_without_a_hard_label(tmp_path: Path) -> None:
    soft_labels = SoftLabels.load(_labels(tmp_path))
    batch = [UNLABELLED, OTHER, TAUGHT]  # row 1 has no target, row 2 has its own label
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]], requires_grad=True)
    soft = soft_labels.targets(batch, "sentiment")
    loss = distil_loss(logits, soft)
    expected = -(soft[0] * torch.log_softmax(logits[0], -1)).sum()
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    assert (logits.grad[1].abs().sum() == 0 and logits.grad[2].abs().sum() == 0
            and logits.grad[0].abs().sum() > 0)
    assert distil_loss(logits, soft_labels.targets([OTHER, TAUGHT, TAUGHT], "sentiment")) is None
    # classic distillation: labelled rows count too
    everywhere = soft_labels.targets(batch, "sentiment", labelled=True)
    expected = -(everywhere[[0, 2]] * torch.log_softmax(logits[[0, 2]], -1)).sum(-1).mean()
    assert distil_loss(logits, everywhere).item() == pytest.approx(expected.item())


@pytest.mark.slow
def test_a_teacher_run_writes_labels_a_student_trains_on(tmp_path: Path, model_settings) -> None:
    """``finpulse teacher`` on a small sample (the packaged MiniLM stands in for a larger
    encoder), then ``finpulse train --soft-labels`` on the same split records the distillation."""
    from classifier import registry
    from classifier.training.data import load_seed
    from classifier.training.train import TrainConfig, train
    from tests.classifier.test_cli import finpulse
    from tests.conftest import write_settings_file

    settings = model_settings()
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")
    out = tmp_path / "teacher.json.gz"
    done = finpulse(config, "teacher", "--base", settings.model.base_model, "--out", str(out),
                    "--limit", "160", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    soft = SoftLabels.load(out)
    sample = load_seed(settings.model.seed_data, seed=13, dev_fraction=0.1, limit=160)
    assert soft.taught_on == {text_key(e.text) for e in sample.train if e.sentiment != IGNORE}
    assert (set(soft.probs) == {"sentiment"}
            and set(soft.probs["sentiment"]) == {text_key(e.text) for e in sample.train})
    assert all(sum(p) == pytest.approx(1, abs=1e-3) for p in soft.probs["sentiment"].values())
    assert set(soft.teacher["dev"]) == {"sentiment_accuracy", "sentiment_macro_f1"}
    topic_out = tmp_path / "topic-teacher.json.gz"
    done = finpulse(config, "teacher", "--task", "topic", "--base", settings.model.base_model,
                    "--out", str(topic_out), "--limit", "160", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    topics = SoftLabels.load(topic_out)
    assert topics.taught_on == {text_key(e.text) for e in sample.train if e.topic != IGNORE}
    assert set(topics.probs) == {"topic"} and all(len(p) == 20 for p in topics.probs["topic"].values())
    assert (set(topics.teacher["dev"]) == {"topic_accuracy", "topic_macro_f1"}
            and topics.teacher["task"] == "topic")

    version = train(settings, TrainConfig(limit=160, epochs=1, max_length=32, batch_size=16,
                                          soft_labels=f"{out},{topic_out}"), progress=False)
    manifest = registry.read_meta(settings.model.registry_dir / version)["manifest"]
    files = manifest["distillation"]["files"]
    assert [f["sha256"] for f in files] == [soft.sha256, topics.sha256]
    assert files[0]["texts_with_targets"] == {"sentiment": sum(e.sentiment == IGNORE for e in sample.train)}
    assert files[1]["texts_with_targets"] == {"topic": sum(e.topic == IGNORE for e in sample.train)}
    assert all(n > 0 for f in files for n in f["texts_with_targets"].values())
