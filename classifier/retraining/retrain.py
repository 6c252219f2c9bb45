"""``finpulse retrain``: from the labeled backlog to a better champion, safely.

1. build the training set (``classifier.retraining.dataset``: seed data + analyst labels, held-out slice);
2. train a challenger from the champion's weights or from the base encoder (progress bar);
3. evaluate champion and challenger on the same held-out set, under the same settings;
4. decide by the gate (``classifier.retraining.gate.decide``);
5. register the challenger with its report (``retrain_report.json`` and ``.md`` in its folder)
   and, when the gate says so, promote it in the same transaction, provided the champion is
   still the one it was compared with. Running workers poll the champion and hot-swap.
   In shadow mode (``--shadow`` or ``model.retrain_shadow``) it goes into shadow instead: it
   scores the live stream beside the champion (``finpulse shadow``) and is promoted after the
   shadow period by ``finpulse retrain --watch`` (``autoretrain.settle_shadow``), unless the
   champion changes first.

``retrain(settings, RetrainConfig(...)) -> RetrainResult`` is the function behind the command,
``finpulse retrain --watch`` and the automatic trigger. One retraining runs at a time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoTokenizer

from classifier import registry
from classifier.model.base_encoder import resolve_base
from classifier.model.network import MultiTaskClassifier
from classifier.model.textprep import TextPrep
from classifier.retraining.dataset import HOLDOUT, SEED_DEV, LabelSet, load_labelset
from classifier.retraining.gate import ALL, Decision, build_report, decide, in_shadow, render_markdown
from classifier.retraining.lock import retrain_lock
from classifier.serving.inference import InferenceEngine
from classifier.serving.tuning import tune_new_version
from classifier.training import train as trainer
from classifier.training.data import Dataset
from classifier.training.evaluate import evaluate_examples, summary
from classifier.training.train import TrainConfig
from finpulse.errors import ConfigError
from finpulse.settings import Settings
from store.queries import model_versions as q

log = logging.getLogger(__name__)
TRAIN_KEYS = ("max_length", "batch_size", "lr", "head_lr_mult", "layer_decay", "weight_decay",
              "warmup_ratio", "label_smoothing", "sentiment_weight", "dropout", "dev_fraction", "seed",
              "freeze_embeddings", "frozen_layers", "layers", "class_balance", "soft_labels", "soft_weight",
              "soft_on_labelled")


@dataclass(frozen=True)
class RetrainConfig:
    """Arguments of ``finpulse retrain``; None means: from the settings or the champion."""

    start: Literal["champion", "base"] = "champion"
    epochs: int = 2
    limit: int | None = None  # sample of seed training rows (analyst labels are all used)
    tolerance: float | None = None
    min_gain: float | None = None
    holdout_fraction: float | None = None
    data: str | None = None  # seed data; None: settings.model.seed_data
    lr: float | None = None  # None: the champion's recipe
    max_length: int | None = None
    dry_run: bool = False
    shadow: bool | None = None  # None: settings model.retrain_shadow
    by: str = "finpulse retrain"

    def check(self) -> None:
        """``ConfigError`` naming the first bad argument."""
        if self.start not in ("champion", "base"):
            raise ConfigError(f"--from must be 'champion' or 'base', got {self.start!r}")
        for name in ("epochs", "limit", "max_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        for name in ("tolerance", "min_gain", "holdout_fraction"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 1), got {value}")


@dataclass
class RetrainResult:
    version: str | None  # None on a dry run
    promoted: bool
    decision: Decision
    report: dict[str, Any]
    folder: Path | None = None
    markdown: str = field(default="", repr=False)
    shadowed: bool = False  # passed the gate and went into shadow instead of being promoted


def _train_config(settings: Settings, cfg: RetrainConfig, champion: registry.VersionInfo):
    """The champion's recipe (its training_args.json) with this run's overrides."""

    recipe = registry.read_meta(champion.folder).get("training_args", {})
    given = {k: recipe[k] for k in TRAIN_KEYS if k in recipe}
    # The champion's text preparation is its textprep.json (older versions have none and keep
    # links), not a recipe key: a retrain records, and from the base follows, what it really is.
    given["strip_urls"] = TextPrep.load(champion.folder).url_marker is not None
    overrides = {"epochs": cfg.epochs, "limit": cfg.limit, "lr": cfg.lr, "max_length": cfg.max_length,
                 "data": cfg.data or settings.model.seed_data, "base": settings.model.base_model}
    train_cfg = replace(TrainConfig(), **given, **{k: v for k, v in overrides.items() if v is not None})
    train_cfg.check()
    return train_cfg


def _start_model(settings: Settings, cfg: RetrainConfig, champion: registry.VersionInfo, train_cfg):
    """(model, tokenizer, base model manifest entry) to fine-tune. From the champion, the model
    keeps the champion's text preparation (its weights were trained on it); from the base, it
    takes the recipe's."""

    if cfg.start == "champion":
        base = registry.read_meta(champion.folder).get("manifest", {}).get("base_model", {})
        model = MultiTaskClassifier.from_folder(champion.folder)
        model.dropout.p = train_cfg.dropout
        return model, AutoTokenizer.from_pretrained(str(champion.folder)), dict(base)
    ref = resolve_base(settings.model.base_model)
    base = {"name": ref.name, "location": ref.location, "upstream": ref.upstream, "licence": ref.licence}
    return (trainer.new_model(ref.location, train_cfg), AutoTokenizer.from_pretrained(ref.location), base)


def _engine(model, tokenizer, version: str, max_length: int):
    return InferenceEngine(model.eval(), tokenizer, version=version, max_length=max_length,
                  max_batch_tokens=8192, max_batch_size=128)


def evaluate_slices(engine, labelset: LabelSet) -> dict[str, dict]:
    """``{slice: {task: report}}`` over each non-empty slice and ``all``."""

    slices = {k: v for k, v in labelset.eval_slices.items() if v}
    out = {name: evaluate_examples(engine, part) for name, part in slices.items()}
    out[ALL] = evaluate_examples(engine, labelset.eval_all)
    return out


def _fit(settings: Settings, model, tokenizer, labelset: LabelSet, sources, train_cfg,
         progress: bool) -> dict:
    """Fine-tune (on the settings' device); the best epoch is chosen on the seed dev split
    (the analyst hold-out is kept for the decision alone)."""

    trainer.set_seed(train_cfg.seed)
    selection = labelset.eval_slices[SEED_DEV] or labelset.eval_all
    return trainer.fit(model, tokenizer, Dataset(labelset.train, selection, sources), train_cfg, progress,
                        trainer.training_device(settings))


def _gate(settings: Settings, cfg: RetrainConfig, before: dict, after: dict) -> Decision:
    m = settings.model
    return decide(before, after,
                  tolerance=m.retrain_tolerance if cfg.tolerance is None else cfg.tolerance,
                  min_gain=m.retrain_min_gain if cfg.min_gain is None else cfg.min_gain)


def _register(settings: Settings, version: str, folder: Path, *, base_model: str, metrics: dict,
              decision: Decision, compared_with: str, by: str, shadow: bool) -> str:
    """Register the challenger; if the gate agreed and the champion is unchanged, promote it
    (or, with ``shadow``, put it in shadow to be promoted after the shadow period). Returns
    'promoted', 'shadow' or 'kept'."""

    note = "; ".join(in_shadow(decision.reasons) if shadow else decision.reasons)

    def register(session) -> str:
        current = q.champion_version(session)
        passed = decision.promote and current == compared_with
        text = note
        if decision.promote and not passed:
            text += f"; not promoted: the champion changed to {current} during retraining"
        elif passed and shadow:
            text += "; in shadow: promoted after the shadow period unless the champion changes"
        q.register_version(session, version=version, path=str(folder.resolve()),
                           base_model=base_model, metrics=metrics, notes=f"retrain: {text}")
        if passed and shadow:
            q.start_shadow(session, version, by=by, promote_after=True)
            return "shadow"
        if passed:
            q.promote(session, version, by=by)
            return "promoted"
        return "kept"

    return registry.in_transaction(settings, register)


def _write_reports(folder: Path, report: dict, markdown: str) -> None:
    (folder / "retrain_report.json").write_text(json.dumps(report, indent=2, default=str) + "\n",
                                                encoding="utf-8")
    (folder / "retrain_report.md").write_text(markdown, encoding="utf-8")


def retrain(settings: Settings, cfg: RetrainConfig | None = None, *, progress: bool = True,
            echo: bool = True) -> RetrainResult:
    """Run one retraining (under the retraining lock); see the module docstring."""
    cfg = cfg or RetrainConfig()
    cfg.check()
    with retrain_lock(settings):
        return _retrain(settings, cfg, progress, echo)


@dataclass
class _Challenge:
    """A trained challenger and both models' held-out figures."""

    champion: registry.VersionInfo
    train_cfg: Any
    labelset: LabelSet
    manifest: dict[str, Any]
    model: Any
    tokenizer: Any
    metrics: dict[str, Any]
    version: str
    before: dict[str, dict]
    after: dict[str, dict]


def _challenge(settings: Settings, cfg: RetrainConfig, progress: bool) -> _Challenge:
    """Build the data, score the champion, train and score the challenger."""

    if settings.model.threads:

        torch.set_num_threads(settings.model.threads)
    champion = registry.resolve(settings)  # ModelNotFound when there is none
    train_cfg = _train_config(settings, cfg, champion)
    labelset, dataset = load_labelset(settings, data=train_cfg.data, seed=train_cfg.seed,
                                      dev_fraction=train_cfg.dev_fraction, limit=cfg.limit,
                                      holdout_fraction=cfg.holdout_fraction)
    if not labelset.train:
        raise ConfigError("the training set is empty (no seed rows and no analyst labels)")
    log.info("retraining from %s: %s", cfg.start, labelset.stats)
    before = evaluate_slices(_engine(MultiTaskClassifier.from_folder(champion.folder),
                                     AutoTokenizer.from_pretrained(str(champion.folder)),
                                     champion.version, train_cfg.max_length), labelset)
    model, tokenizer, base = _start_model(settings, cfg, champion, train_cfg)
    metrics = _fit(settings, model, tokenizer, labelset, dataset.sources, train_cfg, progress)
    version = registry.new_version_id()
    after = evaluate_slices(_engine(model, tokenizer, version, train_cfg.max_length), labelset)
    manifest = {"base_model": base,
                "started_from": "base" if cfg.start == "base" else f"champion {champion.version}",
                "data": {**dataset.manifest(seed=train_cfg.seed, dev_fraction=train_cfg.dev_fraction,
                                            limit=cfg.limit), "labelset": labelset.stats}}
    return _Challenge(champion, train_cfg, labelset, manifest, model, tokenizer, metrics, version,
                      before, after)


def _publish(settings: Settings, cfg: RetrainConfig, ch: _Challenge, decision: Decision) -> tuple[Path, str]:
    """Write the version folder, register it, and promote it (or shadow it) when the gate agreed."""

    folder = registry.write_version(
        settings.model.registry_dir, ch.version, model=ch.model, tokenizer=ch.tokenizer,
        training_args={**asdict(ch.train_cfg), "retrain": asdict(cfg)},
        metrics={**ch.metrics, "held_out": ch.after, "champion_held_out": ch.before},
        manifest=ch.manifest)
    if decision.promote:  # only a version that may serve is worth tuning
        tune_new_version(settings, ch.version, folder, progress=False)
    row_metrics = {**summary(ch.after[ALL]), "best_epoch": ch.metrics["best_epoch"],
                   "train_seconds": ch.metrics["train_seconds"], "train_rows": len(ch.labelset.train)}
    outcome = _register(settings, ch.version, folder,
                        base_model=ch.manifest["base_model"].get("upstream", ""),
                        metrics=row_metrics, decision=decision, compared_with=ch.champion.version,
                        by=cfg.by, shadow=_shadow(settings, cfg))
    return folder, outcome


def _shadow(settings: Settings, cfg: RetrainConfig) -> bool:
    return settings.model.retrain_shadow if cfg.shadow is None else cfg.shadow


def _retrain(settings: Settings, cfg: RetrainConfig, progress: bool, echo: bool) -> RetrainResult:
    ch = _challenge(settings, cfg, progress)
    decision = _gate(settings, cfg, ch.before, ch.after)
    training = {"start": ch.manifest["started_from"], "epochs": ch.train_cfg.epochs,
                "best_epoch": ch.metrics["best_epoch"], "train_seconds": ch.metrics["train_seconds"],
                "max_length": ch.train_cfg.max_length}
    report = build_report(champion_version=ch.champion.version, challenger_version=ch.version,
                          champion=ch.before, challenger=ch.after, decision=decision,
                          labelset_stats=ch.labelset.stats, training=training)
    folder, outcome = None, "kept"
    if cfg.dry_run:
        report["decision"]["dry_run"] = True
    else:
        folder, outcome = _publish(settings, cfg, ch, decision)
    promoted = outcome == "promoted"
    report["decision"]["promoted"] = promoted
    if outcome == "shadow":
        m = settings.model
        report["decision"]["shadow"] = {"min_minutes": m.shadow_min_minutes,
                                        "min_articles": m.shadow_min_articles}
        report["decision"]["reasons"] = in_shadow(decision.reasons)
    markdown = render_markdown(report)
    if cfg.dry_run:
        markdown += "\nDry run: nothing was registered or promoted.\n"
    else:
        _write_reports(folder, report, markdown)
    if echo:
        print(markdown)
    return RetrainResult(None if cfg.dry_run else ch.version, promoted, decision, report, folder, markdown,
                         shadowed=outcome == "shadow")


__all__ = ["HOLDOUT", "SEED_DEV", "RetrainConfig", "RetrainResult", "evaluate_slices", "retrain"]
