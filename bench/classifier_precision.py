"""Inference precision on the dev split: accuracy and macro-F1 per task, and texts/s, for each
CPU path (fp32, int8 dynamic quantisation, bf16 autocast), side by side on the same model.
A quantised path is acceptable when both tasks stay within 0.5 accuracy points of fp32.

    .venv/bin/python bench/classifier_precision.py [--model VERSION_OR_DIR] [--precisions fp32,int8]
        [--threads N] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--precisions", default="fp32,int8")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="evaluate on the first N dev rows")
    args = parser.parse_args()

    import torch

    from classifier import registry
    from classifier.data import load_seed
    from classifier.evaluate import evaluate_examples, summary
    from finpulse.settings import Settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings.load()
    info = registry.resolve(settings, args.model)
    meta = registry.read_meta(info.folder)
    targs = meta.get("training_args", {})
    dev = load_seed(targs.get("data") or settings.model.seed_data, seed=targs.get("seed", 13),
                    dev_fraction=targs.get("dev_fraction", 0.1)).dev[: args.limit]
    max_length = targs.get("max_length", settings.model.max_length)
    print(f"model {info.version}, dev rows {len(dev)}, max_length {max_length}, threads {torch.get_num_threads()}")
    results = {}
    for precision in args.precisions.split(","):
        engine = registry.load_engine(settings, info, precision=precision, device="cpu", max_length=max_length)
        start, cpu = time.perf_counter(), cpu_seconds()
        reports = evaluate_examples(engine, dev)
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        results[precision] = summary(reports)
        print(f"{precision:>5}: {json.dumps(results[precision])}  {len(dev) / wall:.1f} texts/s wall, "
              f"{len(dev) / cpu:.1f} texts per CPU-second")
    if "fp32" in results:
        for precision, figures in results.items():
            if precision != "fp32":
                deltas = {k: round(100 * (v - results["fp32"][k]), 2) for k, v in figures.items()}
                ok = all(abs(deltas[k]) <= 0.5 for k in deltas if k.endswith("accuracy"))
                print(f"{precision} - fp32 (points): {deltas}  within 0.5 accuracy points: {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
