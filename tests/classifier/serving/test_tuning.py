"""Choosing the inference path by measurement: ``finpulse models tune`` keeps the fastest
faithful path, refuses unfaithful and batch-dependent ones, records its choice per machine, and
``auto`` then serves it; a machine nobody tuned on gets the rule for its instruction set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier import registry
from classifier.serving.paths import TUNING_FILE, choose, rule, this_machine
from classifier.serving.tuning import Candidate, candidate_paths, registry_candidates, tune
from finpulse.machine import Machine, read_cpuinfo

AVX2 = Machine("cpu", "AVX2 CPU", frozenset({"avx2"}), 2)
AMX = Machine("cpu", "AMX CPU", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}), 2)
AVX512_BF16 = Machine("cpu", "AVX-512 CPU", frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}), 2)
GPU = Machine("cuda", "NVIDIA H100", frozenset(), 1)


@pytest.mark.unit
def test_the_rule_by_instruction_set() -> None:
    assert rule(AMX).path == "torch:bf16"
    assert rule(AVX512_BF16).path == "torch:bf16"
    assert rule(AVX2, onnx=True).path == "onnxruntime:fp32"
    assert rule(AVX2, onnx=False).path == "torch:fp32"
    assert rule(GPU).path == "torch:fp32"


@pytest.mark.unit
def test_candidates_are_the_paths_the_machine_supports() -> None:
    assert candidate_paths(AVX2, onnx=True) == ["torch:fp32", "torch:int8", "onnxruntime:fp32",
                                                "onnxruntime:int8"]
    assert "torch:bf16" in candidate_paths(AMX, onnx=False)  # bf16 only where the CPU has it
    assert candidate_paths(GPU) == ["torch:fp32", "torch:bf16", "torch:fp16"]


@pytest.mark.unit
def test_a_machine_is_its_cpu_model_flags_and_cores() -> None:
    text = "model name\t: Some CPU\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 other\n"
    model, flags = read_cpuinfo(text)
    assert model == "Some CPU" and flags == {"avx2", "avx512f", "avx512_bf16", "amx_bf16"}
    key = Machine("cpu", model, flags, 2).key
    assert key == "cpu|Some CPU|avx2+avx512f+avx512_bf16+amx_bf16|2 cores"
    assert key != Machine("cpu", model, flags, 16).key


class ConstantRunner:
    """Unfaithful and instant: every text is the first topic, bearish."""

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        topic = np.zeros((len(ids), 20), dtype=np.float32)
        topic[:, 0] = 1
        sentiment = np.zeros((len(ids), 3), dtype=np.float32)
        sentiment[:, 0] = 1
        return topic, sentiment


def batch_dependent(engine):
    """The real network's answers for a list of texts, but a text classified alone gets other
    labels: as accurate as fp32 on the dev split, yet its labels depend on its neighbours."""
    run = engine.run

    def run_flipping_single_texts(encoded):
        probs = run(encoded)
        if len(encoded) == 1:
            probs.topic, probs.sentiment = probs.topic[:, ::-1].copy(), probs.sentiment[:, ::-1].copy()
        return probs

    engine.run = run_flipping_single_texts
    return engine


def constant(engine):
    engine.runner = ConstantRunner()
    return engine


def _doctored(settings, info, doctor) -> callable:
    def load():
        return doctor(registry.load_engine(settings, info, runtime="torch", precision="fp32", device="cpu"))

    return load


@pytest.mark.integration
def test_tuning_keeps_the_fastest_faithful_path_records_it_and_auto_serves_it(
        model_settings, install_model) -> None:
    settings = model_settings()
    info = registry.resolve(settings, install_model(settings))
    candidates = [*registry_candidates(settings, info, ["torch:fp32", "onnxruntime:fp32"], "cpu"),
                  Candidate("made:unfaithful", _doctored(settings, info, constant)),
                  Candidate("made:batch-dependent", _doctored(settings, info, batch_dependent))]
    result = tune(settings, info, device="cpu", candidates=candidates, limit=300, timing_texts=200,
                  progress=False)
    trials = {t.path: t for t in result.trials}

    unfaithful = trials["made:unfaithful"]
    assert not unfaithful.faithful and "accuracy points" in unfaithful.note
    assert unfaithful.texts_per_s > trials["torch:fp32"].texts_per_s  # the fastest, and refused
    dependent = trials["made:batch-dependent"]
    assert dependent.delta_points == {"topic_accuracy": 0.0, "sentiment_accuracy": 0.0}
    assert not dependent.batch_independent and not dependent.faithful
    assert dependent.note == "labels depend on the batch"
    assert result.choice in {"torch:fp32", "onnxruntime:fp32"}
    faithful = [t for t in result.trials if t.faithful]
    assert result.choice == max(faithful, key=lambda t: t.texts_per_s).path

    record = json.loads((info.folder / TUNING_FILE).read_text())
    entry = record["machines"][this_machine("cpu").key]
    assert entry["choice"] == result.choice and len(entry["trials"]) == 4

    engine = registry.load_engine(settings, info, device="cpu")  # runtime and precision: auto
    assert f"{engine.runtime}:{engine.precision}" == result.choice
    assert engine.path_reason.startswith("measured fastest faithful path on this machine")


@pytest.mark.integration
def test_a_machine_nobody_tuned_on_gets_the_rule(model_settings, install_model) -> None:
    settings = model_settings()
    info = registry.resolve(settings, install_model(settings))
    other = {"format": "finpulse-tuning/1",
             "machines": {"cpu|Another CPU|avx2|64 cores": {"choice": "torch:int8"}}}
    (info.folder / TUNING_FILE).write_text(json.dumps(other))
    here = this_machine("cpu")
    chosen = choose(info.folder, here)
    assert chosen.path == rule(here).path and "not tuned" in chosen.reason
    engine = registry.load_engine(settings, info, device="cpu")
    assert f"{engine.runtime}:{engine.precision}" == rule(here).path

    (info.folder / TUNING_FILE).write_text("{not json")  # a damaged record: the rule serves
    assert choose(info.folder, here).path == rule(here).path


@pytest.mark.integration
def test_a_path_set_in_the_settings_is_served_as_set(model_settings, install_model) -> None:
    settings = model_settings(model={"runtime": "torch", "precision": "int8"})
    info = registry.resolve(settings, install_model(settings))
    engine = registry.load_engine(settings, info, device="cpu")
    assert (engine.runtime, engine.precision) == ("torch", "int8")
    assert engine.path_reason == "set in model.precision / model.runtime"
