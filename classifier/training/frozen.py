"""A frozen, cached bottom of the encoder, for cheaper training steps.

With ``TrainConfig.frozen_layers = k``, the embeddings and the lowest ``k`` transformer layers
are frozen; their output for every training text is computed once (in eval mode, so without
dropout) and kept, and each training step runs only the layers above. On 2 CPU cores this
halves the cost of a step with k = 3 of MiniLM's 6 layers (docs/experiments.md), which buys
a second epoch inside the training budget.

Only training uses this: inference runs the whole model as usual, and gives the same outputs
as ``forward_upper`` on the cached states (tests/classifier/training/test_frozen.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm.auto import tqdm

from classifier.model.network import MultiTaskClassifier, mean_pool
from finpulse.errors import ConfigError


def _layers(model: MultiTaskClassifier) -> torch.nn.ModuleList:
    return model.transformer_layers("frozen_layers")


def freeze_lower(model: MultiTaskClassifier, k: int) -> None:
    """Stop gradients into the embeddings and the lowest ``k`` layers."""
    layers = _layers(model)
    if not 0 < k < len(layers):
        raise ConfigError(f"frozen_layers must be between 1 and {len(layers) - 1} for this "
                          f"{len(layers)}-layer encoder, got {k}")
    for module in (model.encoder.embeddings, *layers[:k]):
        for p in module.parameters():
            p.requires_grad_(False)


def _mask_4d(model: MultiTaskClassifier, hidden: torch.Tensor, mask: torch.Tensor):
    """The attention mask in the form the encoder's layers take (as the model builds it)."""
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=model.encoder.config, inputs_embeds=hidden, attention_mask=mask)


def _run_layers(layers: Sequence[torch.nn.Module], hidden: torch.Tensor, mask_4d) -> torch.Tensor:
    for layer in layers:
        out = layer(hidden, mask_4d)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


@torch.no_grad()
def cache_lower(model: MultiTaskClassifier, ids: Sequence[Sequence[int]], k: int,
                device: torch.device, batch_size: int = 128, progress: bool = False) -> list[torch.Tensor]:
    """The output of the embeddings and the lowest ``k`` layers for each text (``ids`` are
    unpadded token ids), one ``[tokens, hidden]`` tensor per text, on ``device``. With
    ``progress``, a bar with rate and ETA (it takes 1-2 minutes on 2 CPU cores)."""

    layers = _layers(model)
    was_training = model.training
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[torch.Tensor | None] = [None] * len(ids)
    bar = tqdm(total=len(ids), unit="text", desc=f"caching {k} frozen layers", disable=not progress,
               dynamic_ncols=True)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        input_ids = pad_sequence([torch.tensor(ids[i]) for i in batch], batch_first=True).to(device)
        mask = (pad_sequence([torch.ones(len(ids[i]), dtype=torch.long) for i in batch], batch_first=True)
                .to(device))
        hidden = model.encoder.embeddings(input_ids=input_ids)
        hidden = _run_layers(layers[:k], hidden, _mask_4d(model, hidden, mask))
        for j, i in enumerate(batch):
            out[i] = hidden[j, : len(ids[i])].clone()
        bar.update(len(batch))
    bar.close()
    model.train(was_training)
    return out  # type: ignore[return-value]


def forward_upper(model: MultiTaskClassifier, cached: Sequence[torch.Tensor], k: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(topic, sentiment) logits from cached lower states: the layers above ``k``, pooling
    and heads, exactly as ``model.forward`` runs them."""
    hidden = pad_sequence(list(cached), batch_first=True)
    mask = pad_sequence([torch.ones(len(c), dtype=torch.long, device=hidden.device) for c in cached],
                        batch_first=True)
    hidden = _run_layers(_layers(model)[k:], hidden, _mask_4d(model, hidden, mask))
    pooled = model.dropout(mean_pool(hidden, mask))
    return model.topic_head(pooled), model.sentiment_head(pooled)
