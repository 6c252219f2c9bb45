"""One encoder, two heads: a single forward pass yields topic and sentiment logits.

The sentence is pooled by the attention-masked mean of the last hidden states (how MiniLM
sentence encoders were trained), then each head is a dropout + linear layer. A label of
``IGNORE`` (-100) contributes no loss, so an example may carry one task's label or both.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel
from transformers.utils import logging as hf_logging

from classifier.label_maps import IGNORE, LABELS
from classifier.model.lexical import LexicalModel
from classifier.model.textprep import TextPrep
from finpulse.errors import ConfigError

WEIGHTS_FILE = "model.safetensors"


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class MultiTaskClassifier(nn.Module):
    """A transformers encoder with a topic head and a sentiment head."""

    def __init__(self, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        # The optional n-gram part (classifier.model.lexical), mixed in by the InferenceEngine; not a module:
        # it has no torch weights and is fitted apart from the encoder.
        self.lexical = None
        # What the encoder reads (classifier.model.textprep): applied by the InferenceEngine and in training.
        self.textprep = TextPrep()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.topic_head = nn.Linear(hidden_size, len(LABELS["topic"]))
        self.sentiment_head = nn.Linear(hidden_size, len(LABELS["sentiment"]))

    @classmethod
    def from_base(cls, location: str, dropout: float = 0.1) -> MultiTaskClassifier:
        """A fresh model on a pretrained encoder (a local folder or a hub name)."""

        hf_logging.set_verbosity_error()  # the unused pooler's "unexpected keys" report
        hf_logging.disable_progress_bar()
        encoder = AutoModel.from_pretrained(location, add_pooling_layer=False)
        return cls(encoder, encoder.config.hidden_size, dropout)

    def transformer_layers(self, option: str) -> nn.ModuleList:
        """The encoder's stack of transformer layers, for ``option`` (the setting that needs
        it, named in the error): only a BERT-style encoder (embeddings, then ``encoder.layer``)
        has one that can be cut or frozen."""
        layers = getattr(getattr(self.encoder, "encoder", None), "layer", None)
        if layers is None or not hasattr(self.encoder, "embeddings"):
            name = type(self.encoder).__name__
            raise ConfigError(f"{option} needs a BERT-style encoder; {name} is not one")
        return layers

    def keep_lower_layers(self, n: int) -> None:
        """Keep only the lowest ``n`` transformer layers of a BERT-style encoder: a shallower,
        cheaper student (a network's cost per text is proportional to its depth). The config
        says so too, so a saved version loads with the same depth."""
        layers = self.transformer_layers("layers")
        if not 1 <= n <= len(layers):
            raise ConfigError(f"layers must be between 1 and {len(layers)} for this "
                              f"{len(layers)}-layer encoder, got {n}")
        self.encoder.encoder.layer = nn.ModuleList(list(layers)[:n])
        self.encoder.config.num_hidden_layers = n

    @classmethod
    def from_folder(cls, folder: Path) -> MultiTaskClassifier:
        """Load a registered version (config.json + model.safetensors); no hub access."""

        config = AutoConfig.from_pretrained(str(folder))
        encoder = AutoModel.from_config(config, add_pooling_layer=False)
        model = cls(encoder, config.hidden_size)
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        model.lexical = LexicalModel.load(folder)
        model.textprep = TextPrep.load(folder)
        return model.eval()

    def save(self, folder: Path) -> None:
        self.encoder.config.save_pretrained(str(folder))
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        self.textprep.save(folder)
        if self.lexical is not None:
            self.lexical.save(folder)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        pooled = self.dropout(mean_pool(out.last_hidden_state, attention_mask))
        return self.topic_head(pooled), self.sentiment_head(pooled)


def task_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0,
              class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over the examples that carry this task's label (0 when none do),
    each example weighted by its class's weight when ``class_weights`` is given."""
    if not bool((labels != IGNORE).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, weight=class_weights, ignore_index=IGNORE,
                           label_smoothing=label_smoothing)


def balanced_weights(labels: list[int], n_classes: int, power: float) -> torch.Tensor:
    """Class weights ``prior ** -power`` (0: all 1; 1: fully balanced), scaled so that an
    average training example keeps weight 1. A class absent from ``labels`` gets the largest
    weight present (it is never used in the loss anyway)."""
    counts = torch.bincount(torch.tensor([y for y in labels if y != IGNORE], dtype=torch.long),
                            minlength=n_classes).double()
    prior = counts / counts.sum().clamp(min=1)
    weights = torch.where(prior > 0, prior.clamp(min=1e-12) ** -power, torch.zeros_like(prior))
    weights = weights / (prior * weights).sum().clamp(min=1e-12)
    weights = torch.where(prior > 0, weights, weights.max())
    return weights.float()
