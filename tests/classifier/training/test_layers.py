"""A shallower student (``TrainConfig.layers``): the lowest layers of the base encoder, saved and
loaded at that depth, computing what those layers computed inside the whole encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.model.network import MultiTaskClassifier, mean_pool
from classifier.training.train import TrainConfig
from finpulse.errors import ConfigError


@pytest.fixture
def small_model() -> MultiTaskClassifier:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)
    return MultiTaskClassifier(BertModel(config, add_pooling_layer=False), config.hidden_size).eval()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 120, (3, 11), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    return ids, mask


@torch.no_grad()
def test_the_kept_layers_compute_what_they_computed_inside_the_whole_encoder(
        small_model: MultiTaskClassifier, tmp_path: Path) -> None:
    ids, mask = _batch()
    hidden = small_model.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    pooled = mean_pool(hidden[2], mask)  # hidden_states[0] is the embeddings' output
    expected = (small_model.topic_head(pooled), small_model.sentiment_head(pooled))
    whole = small_model(ids, mask)

    small_model.keep_lower_layers(2)
    assert len(small_model.encoder.encoder.layer) == 2
    shallow = small_model(ids, mask)
    for got, want, other in zip(shallow, expected, whole, strict=False):
        torch.testing.assert_close(got, want)
        assert not torch.allclose(got, other, atol=1e-3)  # the dropped layers did change the output

    small_model.save(tmp_path)
    loaded = MultiTaskClassifier.from_folder(tmp_path)
    assert loaded.encoder.config.num_hidden_layers == 2 and len(loaded.encoder.encoder.layer) == 2
    for got, want in zip(loaded(ids, mask), shallow, strict=False):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("n", [0, 5])
def test_layers_out_of_range_is_a_config_error(small_model: MultiTaskClassifier, n: int) -> None:
    with pytest.raises(ConfigError, match=f"between 1 and 4 for this 4-layer encoder, got {n}"):
        small_model.keep_lower_layers(n)


def test_a_recipe_that_would_freeze_every_kept_layer_is_refused() -> None:
    TrainConfig(layers=3, frozen_layers=2).check()
    with pytest.raises(ConfigError, match=r"--frozen-layers \(3\) must be below --layers \(3\)"):
        TrainConfig(layers=3, frozen_layers=3).check()


@pytest.mark.slow
def test_a_shallow_version_runs_on_onnx_runtime_and_int8_quantises_every_layer(
        tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    import numpy as np
    from transformers import AutoTokenizer

    from classifier.serving.inference import InferenceEngine
    from classifier.serving.onnx_runtime import OrtRunner, encoder_depth, ensure_onnx

    folder = tmp_path / "shallow"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("onnx"))  # not the 6-layer export
    model = MultiTaskClassifier.from_folder(folder)
    model.keep_lower_layers(3)
    model.save(folder)
    assert encoder_depth(folder) == 3

    model = MultiTaskClassifier.from_folder(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    texts = ["Apple beats earnings estimates", "Oil slumps as stockpiles grow", "Fed holds rates"]
    torch_engine = InferenceEngine(model, tokenizer, version="s", max_length=32)
    by_torch = torch_engine.run(torch_engine.encode(texts))
    fp32 = ensure_onnx(folder, "fp32", model)
    ort_engine = InferenceEngine(model, tokenizer, version="s", max_length=32, runtime="onnxruntime",
                        runner=OrtRunner(fp32, threads=1))
    by_ort = ort_engine.run(ort_engine.encode(texts))
    np.testing.assert_allclose(by_ort.topic, by_torch.topic, atol=1e-4)
    np.testing.assert_allclose(by_ort.sentiment, by_torch.sentiment, atol=1e-4)

    int8 = ensure_onnx(folder, "int8", model)
    assert int8.name == "model.int8-fp32lower0.onnx"  # a 3-layer student quantises all its layers
    import onnx

    graph = onnx.load(str(int8), load_external_data=False).graph
    fp32_matmuls = [n.name for n in graph.node if n.op_type == "MatMul" and "/layer." in n.name
                    and "/attention/self/MatMul" not in n.name]  # activation x activation: never quantised
    assert not fp32_matmuls, fp32_matmuls


@pytest.mark.slow
def test_finpulse_train_layers_registers_a_shallow_version_with_half_its_layers_frozen(
        model_settings, tmp_path: Path) -> None:
    from classifier import registry
    from tests.classifier.test_cli import finpulse
    from tests.conftest import write_settings_file

    settings = model_settings()
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")
    done = finpulse(config, "train", "--layers", "2", "--limit", "48", "--epochs", "1", "--max-length", "16",
                    "--batch-size", "16", "--soft-labels", "none")
    assert done.returncode == 0, done.stderr
    from classifier.serving.onnx_runtime import encoder_depth

    info = registry.resolve(settings)
    meta = registry.read_meta(info.folder)
    assert meta["training_args"]["layers"] == 2 and meta["training_args"]["frozen_layers"] == 1
    assert encoder_depth(info.folder) == 2
    [pred] = registry.load_engine(settings, info).predict(["Oil jumps"])
    assert pred.model_version == info.version

    refused = finpulse(config, "train", "--layers", "2", "--frozen-layers", "2", "--limit", "48")
    assert refused.returncode != 0 and "--frozen-layers (2) must be below --layers (2)" in refused.stderr


def test_cutting_or_freezing_layers_needs_a_bert_style_encoder() -> None:
    from classifier.training.frozen import freeze_lower

    model = MultiTaskClassifier(torch.nn.Linear(8, 8), 8)  # no embeddings, no encoder.layer
    with pytest.raises(ConfigError, match="layers needs a BERT-style encoder; Linear is not one"):
        model.keep_lower_layers(1)
    with pytest.raises(ConfigError, match="frozen_layers needs a BERT-style encoder; Linear is not one"):
        freeze_lower(model, 1)
