"""Inference precision on the dev split: accuracy and macro-F1 per task, and texts/s, for each
CPU path (RUNTIME:PRECISION: torch:fp32, torch:int8, torch:bf16, onnxruntime:fp32,
onnxruntime:int8), side by side on the same model. A quantised path is acceptable when both
tasks stay within 0.5 accuracy points of torch fp32.

    .venv/bin/python bench/classifier_precision.py [--model VERSION_OR_DIR]
        [--paths torch:fp32,onnxruntime:fp32,onnxruntime:int8] [--threads N] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model")
    parser.add_argument("--paths", default="torch:fp32,onnxruntime:fp32,onnxruntime:int8")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="evaluate on the first N dev rows")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    import torch

    from classifier import registry
    from classifier.training.data import load_seed
    from classifier.training.evaluate import evaluate_examples, summary
    from finpulse.settings import Settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings.load()
    model_settings = settings.model.model_copy(update={"threads": args.threads})
    settings = settings.model_copy(update={"model": model_settings})
    info = registry.resolve(settings, args.model)
    meta = registry.read_meta(info.folder)
    targs = meta.get("training_args", {})
    dev = load_seed(targs.get("data") or settings.model.seed_data, seed=targs.get("seed", 13),
                    dev_fraction=targs.get("dev_fraction", 0.1)).dev[: args.limit]
    max_length = targs.get("max_length", settings.model.max_length)
    print(f"model {info.version}, dev rows {len(dev)}, max_length {max_length}, "
          f"threads {torch.get_num_threads()}")
    results = {}
    for path in args.paths.split(","):
        runtime, precision = path.split(":")
        engine = registry.load_engine(settings, info, runtime=runtime, precision=precision, device="cpu",
                                      max_length=max_length)
        start, cpu = time.perf_counter(), cpu_seconds()
        reports = evaluate_examples(engine, dev)
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        results[path] = summary(reports)
        print(f"{path:>16}: {json.dumps(results[path])}  {len(dev) / wall:.1f} texts/s wall, "
              f"{len(dev) / cpu:.1f} texts per CPU-second")
    ref = results.get("torch:fp32")
    for path, figures in results.items():
        if ref and path != "torch:fp32":
            deltas = {k: round(100 * (v - ref[k]), 2) for k, v in figures.items()}
            ok = all(abs(deltas[k]) <= 0.5 for k in deltas if k.endswith("accuracy"))
            print(f"{path} - torch:fp32 (points): {deltas}  within 0.5 accuracy points: {ok}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
