"""``finpulse train``: fine-tune the multi-task model on the seed data, evaluate on the dev
split after each epoch, keep the best epoch, and register it as a new model version.

``train(settings, TrainConfig(...)) -> version`` is the function behind the command (tests and
``finpulse up`` call it directly); ``ensure_champion`` trains the default model only when the
registry has no champion.
"""

from __future__ import annotations

import logging
import math
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from functools import partial

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from classifier import registry
from classifier.label_maps import LABELS
from classifier.model.base_encoder import resolve_base
from classifier.model.lexical import LexicalConfig, LexicalModel
from classifier.model.network import MultiTaskClassifier, balanced_weights, task_loss
from classifier.model.textprep import DEFAULT_URL_MARKER, TextPrep
from classifier.serving.inference import InferenceEngine, Probabilities
from classifier.serving.precision import pick_device
from classifier.serving.tuning import tune_new_version
from classifier.training.data import Dataset, Example, load_seed
from classifier.training.distil import distil_loss, soft_targets
from classifier.training.evaluate import reports_from_probs, selection_score, summary
from classifier.training.frozen import cache_lower, forward_upper, freeze_lower
from finpulse.errors import ConfigError
from finpulse.settings import Settings

log = logging.getLogger(__name__)

CPU = torch.device("cpu")


@dataclass(frozen=True)
class TrainConfig:
    """Training arguments; the defaults are the best recipe found (docs/experiments.md)."""

    base: str | None = None  # None: settings.model.base_model
    data: str | None = None  # None: settings.model.seed_data
    # Three epochs with the lowest 3 layers frozen and cached fit the 15 minutes on 2 idle cores
    # now that links are one word piece, and beat two (docs/experiments.md, "E4").
    epochs: int = 3
    max_length: int = 64
    batch_size: int = 32
    lr: float = 3e-4  # 1e-4 < 2e-4 < 4e-4 on 9,000 rows x 1 epoch (docs/experiments.md)
    head_lr_mult: float = 1.0
    layer_decay: float = 1.0
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    label_smoothing: float = 0.1
    # Class weights prior^-class_balance in each task's loss (model.balanced_weights); 0: none.
    class_balance: float = 0.0
    sentiment_weight: float = 1.0
    dropout: float = 0.1
    freeze_embeddings: bool = True  # word embeddings only: ~25% faster steps on CPU
    # Freeze the embeddings and this many lowest layers, and cache their outputs once
    # (classifier.training.frozen): cheaper steps, so more epochs fit the budget. 0: train all layers.
    frozen_layers: int = 3
    # Keep only the base encoder's lowest N layers (None: all): a shallower student that
    # serves faster, at some cost in quality (docs/experiments.md, "E7").
    layers: int | None = None
    # The share of the n-gram part (classifier.model.lexical) in the probabilities; 0: encoder only.
    lexical_weight: float = 0.5
    # Replace every link with one word piece before the encoder reads a text (classifier.model.textprep):
    # a third fewer tokens on the seed data, so cheaper training and serving.
    strip_urls: bool = True
    # Soft targets from larger teachers (all-mpnet-base-v2) for the texts without a label of their
    # own (classifier.training.distil): soft-label files separated by commas, "packaged" (the shipped
    # ones, made for the default split) or None. The shipped sentiment teacher at weight 2 gave
    # sentiment +0.6 accuracy and +1.3 macro-F1 points, topic -0.65 accuracy (docs/experiments.md,
    # "E5"); a topic teacher cost topic macro-F1 and is not shipped ("E6").
    soft_labels: str | None = "packaged"
    soft_weight: float = 2.0
    # Soft targets on the texts that carry their own label too (classic distillation), not only
    # on those without one. Tried with a topic teacher, not adopted (docs/experiments.md, "E6").
    soft_on_labelled: bool = False
    seed: int = 13
    limit: int | None = None
    dev_fraction: float = 0.1
    promote: bool | None = None  # None: promote only when there is no champion yet
    notes: str = ""

    def check(self) -> None:
        for name in ("epochs", "max_length", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if self.frozen_layers < 0:
            raise ConfigError(f"--frozen-layers must be at least 0, got {self.frozen_layers}")
        if self.layers is not None and not self.frozen_layers < self.layers:
            raise ConfigError(f"--frozen-layers ({self.frozen_layers}) must be below --layers "
                              f"({self.layers}): at least one layer has to train")
        if not 0 < self.lr < 1:
            raise ConfigError(f"--lr must be in (0, 1), got {self.lr}")
        if not 0 <= self.class_balance <= 1:
            raise ConfigError(f"class_balance must be in [0, 1], got {self.class_balance}")
        if self.soft_weight < 0:
            raise ConfigError(f"--soft-weight must be at least 0, got {self.soft_weight}")
        if not 0 <= self.lexical_weight < 1:
            raise ConfigError(f"--lexical-weight must be in [0, 1), got {self.lexical_weight}")


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length examples (less padding, same randomness)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def _param_groups(model: MultiTaskClassifier, cfg: TrainConfig) -> list[dict]:
    """AdamW groups: layer-wise lr decay down the encoder, no weight decay on biases/norms."""
    layers = getattr(getattr(model.encoder, "encoder", None), "layer", [])
    n_layers = len(layers)
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith(("topic_head", "sentiment_head")):
            lr = cfg.lr * cfg.head_lr_mult
        elif ".layer." in name:
            depth = int(name.split(".layer.")[1].split(".")[0])
            lr = cfg.lr * cfg.layer_decay ** (n_layers - depth)
        else:
            lr = cfg.lr * cfg.layer_decay ** (n_layers + 1)
        decay = 0.0 if param.ndim == 1 else cfg.weight_decay
        groups.setdefault((lr, decay), []).append(param)
    return [{"params": p, "lr": lr, "weight_decay": wd} for (lr, wd), p in groups.items()]


def _schedule(optimizer: torch.optim.Optimizer, total: int, warmup: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _batch_inputs(ids: list[list[int]], idx: list[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded token ids and attention mask of the batch ``idx``."""
    width = max(len(ids[i]) for i in idx)
    input_ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for j, i in enumerate(idx):
        input_ids[j, : len(ids[i])] = torch.tensor(ids[i])
        mask[j, : len(ids[i])] = 1
    return input_ids, mask


def _batch_labels(examples: list[Example], idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(topic, sentiment) label ids of the batch ``idx`` (``IGNORE`` where missing)."""
    return (torch.tensor([examples[i].topic for i in idx]),
            torch.tensor([examples[i].sentiment for i in idx]))


def eval_engine(model, tokenizer, cfg: TrainConfig, device: torch.device = CPU,
                version: str = "dev") -> InferenceEngine:
    """An engine over the model being trained, batched for evaluating (or labelling) in bulk."""
    return InferenceEngine(model, tokenizer, version=version, max_length=cfg.max_length,
                  max_batch_tokens=8192, max_batch_size=128, device=str(device))


def _evaluate(model: MultiTaskClassifier, tokenizer, dev: list[Example], cfg: TrainConfig,
              device: torch.device = CPU) -> dict:
    """Dev reports of the model as it will run (with its lexical part, if any), plus, when it
    has one, ``encoder_only`` and ``lexical_only`` summaries (the ablation docs/experiments.md keeps)."""
    engine = eval_engine(model, tokenizer, cfg, device)
    start = time.perf_counter()
    encoded = engine.encode([e.text for e in dev])
    lexical, engine.lexical = engine.lexical, None
    encoder_probs = engine.run(encoded)
    engine.lexical = lexical
    lex = lexical.predict_proba(encoded.texts) if lexical is not None else None  # once, for both uses
    reports = reports_from_probs(engine._mix(encoder_probs, lex), dev)
    reports["texts_per_s"] = len(dev) / max(1e-9, time.perf_counter() - start)
    if lex is not None:
        reports["encoder_only"] = summary(reports_from_probs(encoder_probs, dev))
        reports["lexical_only"] = summary(reports_from_probs(
            Probabilities(lex["topic"], lex["sentiment"]), dev))
    model.train()
    return reports


def fit_lexical(data: Dataset, cfg: TrainConfig) -> LexicalModel | None:
    """The n-gram part fitted on ``data.train`` (None when ``cfg.lexical_weight`` is 0)."""
    if cfg.lexical_weight <= 0:
        return None
    labels = {"topic": [e.topic for e in data.train], "sentiment": [e.sentiment for e in data.train]}
    return LexicalModel.fit([e.text for e in data.train], labels,
                            LexicalConfig(weight=cfg.lexical_weight, seed=cfg.seed))


def new_model(location: str, cfg: TrainConfig) -> MultiTaskClassifier:
    """A fresh model on the base encoder at ``location``, with the recipe's dropout and text
    preparation."""
    model = MultiTaskClassifier.from_base(location, dropout=cfg.dropout)
    if cfg.layers is not None:
        model.keep_lower_layers(cfg.layers)
    model.textprep = textprep_for(cfg)
    return model


def textprep_for(cfg: TrainConfig) -> TextPrep:
    return TextPrep(url_marker=DEFAULT_URL_MARKER if cfg.strip_urls else None)


def training_device(settings: Settings) -> torch.device:
    """Where ``finpulse train`` and ``finpulse retrain`` run: ``model.device`` resolved."""
    return torch.device(pick_device(settings.model.device))


def fit(model, tokenizer, data: Dataset, cfg: TrainConfig, progress: bool,
         device: torch.device = CPU, lexical: LexicalModel | None = None) -> dict:
    """The training loop; leaves the best epoch's weights in ``model`` and returns metrics.

    ``lexical``: an n-gram part already fitted on ``data.train`` (the recipe sweep fits it
    once for all its runs); by default it is fitted here."""

    model.lexical = lexical if lexical is not None else fit_lexical(data, cfg)
    soft, distillation = soft_targets(cfg.soft_labels, data.train, data.dev, labelled=cfg.soft_on_labelled)
    if cfg.freeze_embeddings:  # here, so that retraining follows the recipe as training does
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    model.to(device)
    ids = tokenizer([model.textprep(e.text) for e in data.train], truncation=True,
                    max_length=cfg.max_length)["input_ids"]
    cached = None
    if cfg.frozen_layers:
        freeze_lower(model, cfg.frozen_layers)
        t0 = time.perf_counter()
        cached = cache_lower(model, ids, cfg.frozen_layers, device, progress=progress)
        log.info("cached the lowest %d layers' output for %d texts in %.1fs",
                 cfg.frozen_layers, len(ids), time.perf_counter() - t0)
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(ids) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW(_param_groups(model, cfg))
    scheduler = _schedule(optimizer, total, int(total * cfg.warmup_ratio))
    weights = {"topic": 1.0, "sentiment": cfg.sentiment_weight}
    class_weights = {task: balanced_weights([getattr(e, task) for e in data.train], len(LABELS[task]),
                                            cfg.class_balance).to(device) if cfg.class_balance else None
                     for task in ("topic", "sentiment")}
    # bf16 autocast trains on CUDA; on this CPU bf16 was many times slower (docs/experiments.md).
    autocast = (partial(torch.autocast, "cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else nullcontext)
    history, best, best_state, losses = [], None, None, []
    bar = tqdm(total=total, unit="step", desc="training", disable=not progress, dynamic_ncols=True)
    started = time.perf_counter()
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        epoch_losses = []
        for idx in length_grouped_batches([len(x) for x in ids], cfg.batch_size, rng):
            topic, sentiment = (t.to(device) for t in _batch_labels(data.train, idx))
            with autocast():
                if cached is not None:
                    t_logits, s_logits = forward_upper(model, [cached[i] for i in idx], cfg.frozen_layers)
                else:
                    inputs = _batch_inputs(ids, idx, tokenizer.pad_token_id or 0)
                    input_ids, mask = (t.to(device) for t in inputs)
                    t_logits, s_logits = model(input_ids, mask)
            loss = (weights["topic"] * task_loss(t_logits, topic, cfg.label_smoothing, class_weights["topic"])
                    + weights["sentiment"] * task_loss(s_logits, sentiment, cfg.label_smoothing,
                                                       class_weights["sentiment"]))
            for task, logits in (("topic", t_logits), ("sentiment", s_logits)):
                if task in soft and (kd := distil_loss(logits, soft[task][idx].to(device))) is not None:
                    loss = loss + cfg.soft_weight * kd
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            epoch_losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{sum(epoch_losses[-50:]) / len(epoch_losses[-50:]):.3f}")
        reports = _evaluate(model, tokenizer, data.dev, cfg, device)
        score = selection_score(reports)
        history.append({"epoch": epoch, "train_loss": sum(epoch_losses) / len(epoch_losses),
                        "dev": summary(reports), "score": round(score, 4),
                        **{k: reports[k] for k in ("encoder_only", "lexical_only") if k in reports},
                        "seconds": round(time.perf_counter() - started, 1)})
        losses.extend(epoch_losses)
        bar.write(f"epoch {epoch}: loss {history[-1]['train_loss']:.4f} dev {summary(reports)}"
                  + (f" (encoder alone {reports['encoder_only']})" if "encoder_only" in reports else ""))
        if best is None or score > best[0]:
            best = (score, epoch, reports)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    bar.close()
    model.to(CPU)
    model.load_state_dict(best_state)
    score, epoch, reports = best
    return {"dev": reports, "summary": summary(reports), "best_epoch": epoch, "history": history,
            "train_seconds": round(time.perf_counter() - started, 1),
            "loss_curve": _curve(losses), "steps": total, "device": device.type,
            "distillation": distillation}


def _curve(losses: list[float], points: int = 10) -> list[float]:
    """The training loss averaged over ``points`` equal stretches of training."""
    size = max(1, math.ceil(len(losses) / points))
    return [round(sum(c) / len(c), 4) for c in (losses[i:i + size] for i in range(0, len(losses), size))]


def train(settings: Settings, cfg: TrainConfig | None = None, *, progress: bool = True) -> str:
    """Train, register and return the new version (promoted per ``cfg.promote``)."""

    cfg = cfg or TrainConfig()
    cfg = replace(cfg, base=cfg.base or settings.model.base_model,
                  data=cfg.data or settings.model.seed_data)
    cfg.check()
    if settings.model.threads:
        torch.set_num_threads(settings.model.threads)
    set_seed(cfg.seed)
    base = resolve_base(cfg.base)
    data = load_seed(cfg.data, seed=cfg.seed, dev_fraction=cfg.dev_fraction, limit=cfg.limit)
    tokenizer = AutoTokenizer.from_pretrained(base.location)
    model = new_model(base.location, cfg)
    device = training_device(settings)
    log.info("training on %d examples (dev %d) from %s, base %s, on %s", len(data.train), len(data.dev),
             cfg.data, base.name, device)
    metrics = fit(model, tokenizer, data, cfg, progress, device)
    version = registry.new_version_id()
    manifest = {"base_model": {"name": base.name, "location": base.location,
                               "upstream": base.upstream, "licence": base.licence},
                "data": data.manifest(seed=cfg.seed, dev_fraction=cfg.dev_fraction, limit=cfg.limit)}
    if metrics.get("distillation"):
        manifest["distillation"] = metrics["distillation"]
    folder = registry.write_version(settings.model.registry_dir, version, model=model,
                                    tokenizer=tokenizer, training_args=asdict(cfg),
                                    metrics=metrics, manifest=manifest)
    tune_new_version(settings, version, folder, dev=data.dev, progress=progress)  # the split in hand
    row_metrics = {**metrics["summary"], "best_epoch": metrics["best_epoch"],
                   "train_seconds": metrics["train_seconds"], "train_rows": len(data.train)}
    promoted = registry.register(settings, version, folder, base_model=base.upstream,
                                 metrics=row_metrics, promote=cfg.promote)
    print(f"registered {version}{' (champion)' if promoted else ''}: best epoch "
          f"{metrics['best_epoch']} dev {metrics['summary']} in {metrics['train_seconds']:.0f}s")
    return version


def ensure_champion(settings: Settings, progress: bool = True, config: TrainConfig | None = None) -> str:
    """The champion version, training a model (the default recipe unless ``config`` is given,
    e.g. a tiny one in tests) from the seed data if the registry has none."""
    current = registry.champion_version(settings)
    if current is not None:
        return current
    log.info("no champion model yet: training one from %s", settings.model.seed_data)
    return train(settings, replace(config or TrainConfig(), promote=True), progress=progress)
