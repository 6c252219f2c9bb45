"""ONNX Runtime: the exported network gives torch's probabilities, batched or not; the export
is cached in the version folder; settings pick the runtime or say precisely why they can't."""

from __future__ import annotations

import gc
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from classifier.model.network import MultiTaskClassifier
from classifier.serving.inference import InferenceEngine
from classifier.serving.onnx_runtime import OrtRunner, encoder_depth, ensure_onnx, file_name
from classifier.serving.paths import rule, this_machine
from classifier.serving.precision import intra_op_threads, pick_parallel_batches, pick_runtime
from finpulse.errors import ConfigError
from tests.support import wait_until

pytestmark = pytest.mark.slow

TEXTS = [
    "Apple beats earnings estimates, shares jump", "Fed signals two more hikes this year",
    "Oil slumps as OPEC output rises", "$TSLA downgraded to sell at Goldman", "short",
    "The bank named a new chief financial officer today " * 6, "IPO priced above range",
]


@pytest.fixture(scope="module")
def version_copy(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ort") / tiny_model.name
    shutil.copytree(tiny_model, target, ignore=shutil.ignore_patterns("onnx"))
    return target


def _engines(folder: Path, precision: str = "fp32", version: str = "t",
             **kw) -> tuple[InferenceEngine, InferenceEngine]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = MultiTaskClassifier.from_folder(folder)
    torch_engine = InferenceEngine(model, tokenizer, version=version, max_length=32, **kw)
    runner = OrtRunner(ensure_onnx(folder, precision, model), threads=1)
    assert not model.training  # exporting must leave the torch model in eval mode (dropout off)
    ort_engine = InferenceEngine(model, tokenizer, version=version, max_length=32, precision=precision,
                        runtime="onnxruntime", runner=runner, **kw)
    return torch_engine, ort_engine


def test_onnx_fp32_matches_torch_fp32_batched_and_alone(version_copy: Path) -> None:
    torch_engine, ort_engine = _engines(version_copy, max_batch_tokens=96, max_batch_size=3)
    expected = torch_engine.run(torch_engine.encode(TEXTS))
    got = ort_engine.run(ort_engine.encode(TEXTS))
    assert np.abs(got.topic - expected.topic).max() < 1e-4
    assert np.abs(got.sentiment - expected.sentiment).max() < 1e-4
    assert (got.topic.argmax(1) == expected.topic.argmax(1)).all()
    for i, text in enumerate(TEXTS):
        alone = ort_engine.run(ort_engine.encode([text]))
        assert alone.sentiment[0] == pytest.approx(got.sentiment[i], abs=1e-4)
    preds = ort_engine.predict(TEXTS)
    assert [p.topic_id for p in preds] == list(expected.topic.argmax(1))


def test_the_export_is_cached_and_int8_gives_distributions(version_copy: Path) -> None:
    first = ensure_onnx(version_copy, "fp32")
    assert first == version_copy / "onnx" / "model.fp32.onnx"
    mtime = first.stat().st_mtime_ns
    assert ensure_onnx(version_copy, "fp32").stat().st_mtime_ns == mtime  # not exported again
    import logging

    level = logging.getLogger().level
    _, int8 = _engines(version_copy, "int8")
    assert logging.getLogger().level == level  # quantising left the process's logging alone
    assert encoder_depth(version_copy) == 6  # MiniLM: int8 keeps the lowest two layers in fp32
    int8_file = version_copy / "onnx" / file_name("int8", 6)
    assert int8_file.name == "model.int8-fp32lower2.onnx"
    assert int8_file.stat().st_size < first.stat().st_size / 2
    probs = int8.run(int8.encode(TEXTS))
    assert np.allclose(probs.topic.sum(1), 1, atol=1e-3) and np.allclose(probs.sentiment.sum(1), 1, atol=1e-3)
    with pytest.raises(ValueError, match="precision"):
        ensure_onnx(version_copy, "bf16")


def test_a_version_folder_it_cannot_write_to_exports_elsewhere(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "v-unwritable"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("onnx"))
    (folder / "onnx").write_text("not a folder")  # mkdir fails, as in a read-only registry
    path = ensure_onnx(folder, "fp32")
    assert not path.is_relative_to(folder) and path.is_file() and path.parent.name == folder.name


def test_sub_batches_run_at_once_give_the_same_probabilities(version_copy: Path) -> None:
    _, one = _engines(version_copy, max_batch_tokens=64, max_batch_size=2)
    _, three = _engines(version_copy, max_batch_tokens=64, max_batch_size=2, parallel_batches=3)
    texts = TEXTS * 5  # 18 sub-batches of up to 2 texts, finished in any order
    expected, got = one.run(one.encode(texts)), three.run(three.encode(texts))
    assert three._pool is not None and one._pool is None
    assert np.abs(got.topic - expected.topic).max() < 1e-6
    assert np.abs(got.sentiment - expected.sentiment).max() < 1e-6
    lone = three.run(three.encode(TEXTS[:1]))  # one sub-batch: no thread hand-off needed
    assert np.abs(lone.topic[0] - expected.topic[0]).max() < 1e-6


def test_a_dropped_engine_s_threads_end(version_copy: Path) -> None:
    # A hot swap drops the old engine: its sub-batch threads must not outlive it.
    def pool_threads() -> int:
        return sum(t.name.startswith("engine-dropped_") for t in threading.enumerate())

    engines = _engines(version_copy, version="dropped", max_batch_tokens=64, max_batch_size=2,
                       parallel_batches=2)
    engines[1].run(engines[1].encode(TEXTS))  # the torch engine is never run: its pool starts no thread
    assert pool_threads() == 2
    del engines
    gc.collect()
    wait_until(lambda: pool_threads() == 0, timeout_s=10, what="the dropped engine's threads to end")


def test_pick_parallel_batches_and_their_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("classifier.serving.precision.available_cpus", lambda: 2)
    assert pick_parallel_batches(0, "onnxruntime", "cpu") == 2
    assert pick_parallel_batches(0, "torch", "cpu") == 2
    assert pick_parallel_batches(0, "torch", "cuda") == 1
    assert pick_parallel_batches(3, "torch", "cpu") == 3  # a setting is taken as given
    assert intra_op_threads(0, 2) == 1 and intra_op_threads(0, 1) == 0  # 0: the runtime decides
    assert intra_op_threads(8, 2) == 4 and intra_op_threads(1, 2) == 1
    monkeypatch.setattr("classifier.serving.precision.available_cpus", lambda: 1)
    assert pick_parallel_batches(0, "onnxruntime", "cpu") == 1


def test_pick_runtime() -> None:
    assert pick_runtime("auto", "cpu", "fp32") == "onnxruntime"
    assert pick_runtime("auto", "cpu", "int8") == "onnxruntime"
    assert pick_runtime("auto", "cpu", "bf16") == "torch"
    assert pick_runtime("auto", "cuda", "bf16") == "torch"
    assert pick_runtime("torch", "cpu", "fp32") == "torch"
    with pytest.raises(ConfigError, match="CPU only"):
        pick_runtime("onnxruntime", "cuda", "fp16")
    with pytest.raises(ConfigError, match="bf16"):
        pick_runtime("onnxruntime", "cpu", "bf16")


def test_load_engine_follows_the_runtime_setting(tiny_run) -> None:
    from classifier import registry

    info = registry.resolve(tiny_run.settings)
    auto = registry.load_engine(tiny_run.settings, info, device="cpu")
    expected = rule(this_machine("cpu"))  # the tiny model is not tuned: the rule serves it
    assert (auto.runtime, auto.precision) == (expected.runtime, expected.precision)
    assert auto.parallel_batches == pick_parallel_batches(0, auto.runtime, "cpu")
    ort = registry.load_engine(tiny_run.settings, info, runtime="onnxruntime", precision="fp32")
    assert ort.runtime == "onnxruntime" and len(ort.predict(TEXTS)) == len(TEXTS)
    engine = registry.load_engine(tiny_run.settings, info, runtime="torch")
    assert engine.runtime == "torch" and len(engine.predict(TEXTS)) == len(TEXTS)
