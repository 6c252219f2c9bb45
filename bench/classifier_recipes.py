"""Compare training recipes on the dev split, one run each, in one process.

Each recipe is a set of ``TrainConfig`` fields over the default recipe; every run starts from
the same base encoder and seed, and shares one fitted lexical part (it does not depend on the
recipe). Prints a JSON line per recipe (dev summary of the model and of the encoder alone, per
epoch, and the wall time) and writes them to ``--out``. Nothing is registered.

    .venv/bin/python bench/classifier_recipes.py --recipes '[{"epochs": 2, "frozen_layers": 3}]'
        [--device auto|cpu|cuda] [--limit N] [--deadline-s S] [--out FILE]

``--recipes`` is a JSON list (or a file holding one). ``--deadline-s`` starts no new recipe
after that many seconds (for a machine lent for a fixed time). On 2 CPU cores a recipe takes
10-15 minutes per epoch of the full data; on a GPU, seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def _recipes(text: str) -> list[dict]:
    path = Path(text)
    recipes = json.loads(path.read_text(encoding="utf-8") if path.is_file() else text)
    if not isinstance(recipes, list) or not all(isinstance(r, dict) for r in recipes):
        raise SystemExit("--recipes must be a JSON list of objects (TrainConfig fields)")
    return recipes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipes", required=True)
    parser.add_argument("--device", default=None, help="default: the settings' model.device")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--deadline-s", type=float, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    import torch
    from transformers import AutoTokenizer

    from classifier.model.base_encoder import resolve_base
    from classifier.serving.precision import pick_device
    from classifier.training import train as trainer
    from classifier.training.data import load_seed
    from finpulse.settings import Settings

    started = time.perf_counter()
    settings = Settings.load()
    if settings.model.threads:
        torch.set_num_threads(settings.model.threads)
    device = torch.device(pick_device(args.device or settings.model.device))
    base_cfg = replace(trainer.TrainConfig(), base=settings.model.base_model, data=settings.model.seed_data,
                       limit=args.limit)
    recipes = [replace(base_cfg, **r) for r in _recipes(args.recipes)]
    for cfg in recipes:
        cfg.check()
    base = resolve_base(base_cfg.base)
    data = load_seed(base_cfg.data, seed=base_cfg.seed, dev_fraction=base_cfg.dev_fraction, limit=args.limit)
    tokenizer = AutoTokenizer.from_pretrained(base.location)
    t0 = time.perf_counter()
    lexical = trainer.fit_lexical(data, replace(base_cfg, lexical_weight=0.5))  # weight set per recipe
    print(f"device {device}, {len(data.train)} train / {len(data.dev)} dev rows, base {base.name}; "
          f"lexical part fitted in {time.perf_counter() - t0:.1f}s", flush=True)
    out = args.out.open("a", encoding="utf-8") if args.out else None
    for cfg in recipes:
        given = {k: v for k, v in asdict(cfg).items() if v != getattr(base_cfg, k)}
        if args.deadline_s and time.perf_counter() - started > args.deadline_s:
            print(f"deadline reached: skipping {given}", flush=True)
            continue
        trainer.set_seed(cfg.seed)
        model = trainer.new_model(base.location, cfg)
        lexical_part = lexical.with_weight(cfg.lexical_weight) if cfg.lexical_weight > 0 else None
        metrics = trainer.fit(model, tokenizer, data, cfg, False, device, lexical=lexical_part)
        line = {"recipe": given, "best_epoch": metrics["best_epoch"], "dev": metrics["summary"],
                "train_seconds": metrics["train_seconds"],
                "epochs": [{"epoch": h["epoch"], "loss": round(h["train_loss"], 4), "dev": h["dev"],
                            "encoder_only": h.get("encoder_only"), "seconds": h["seconds"]}
                           for h in metrics["history"]]}
        print(json.dumps(line), flush=True)
        if out:
            out.write(json.dumps(line) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
