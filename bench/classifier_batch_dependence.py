"""Do a text's labels depend on the other texts in its batch? For each path, classify N dev
texts in one call and then one at a time, and print the share of labels that agree.

fp32 should agree on every text; dynamic int8 quantisation scales activations per batch, so
some of its labels may change (this is why ``model.precision: auto`` is fp32; docs/experiments.md).

    .venv/bin/python bench/classifier_batch_dependence.py [--model VERSION_OR_DIR] [--n 800]
        [--paths onnxruntime:fp32,onnxruntime:int8] [--max-length 64]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model")
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--paths", default="onnxruntime:fp32,onnxruntime:int8")
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    import numpy as np

    from classifier import registry
    from classifier.training.data import load_seed
    from finpulse.settings import Settings

    settings = Settings.load()
    info = registry.resolve(settings, args.model)
    texts = [e.text for e in load_seed(settings.model.seed_data).dev[: args.n]]
    print(f"model {info.version}, {len(texts)} dev texts, max_length {args.max_length}")
    for path in args.paths.split(","):
        runtime, precision = path.split(":")
        engine = registry.load_engine(settings, info, runtime=runtime, precision=precision,
                                      device="cpu", max_length=args.max_length)
        together = engine.run(engine.encode(texts))
        alone = [engine.run(engine.encode([t])) for t in texts]
        topic = np.mean([a.topic[0].argmax() == b
                         for a, b in zip(alone, together.topic.argmax(1), strict=False)])
        sentiment = np.mean([a.sentiment[0].argmax() == b
                             for a, b in zip(alone, together.sentiment.argmax(1), strict=False)])
        print(f"{path:>16}: labels equal alone and batched: topic {topic:.2%}, sentiment {sentiment:.2%}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
