"""Classifier throughput, side by side in one run on the same texts and the same model:

  (a) the naive way: a ``transformers`` pipeline called once per text (the encoder through
      ``pipeline("feature-extraction")``, then our pooling and heads), and
  (b) the finpulse engine: tokenize once, sort by length, token-budget batches, for each
      RUNTIME:PRECISION path given (torch:fp32, torch:int8, torch:bf16, onnxruntime:fp32,
      onnxruntime:int8). The engine also runs the version's lexical part, when it has one.

Prints both rates and their ratio. Usage:

    .venv/bin/python bench/classifier_throughput.py [--model VERSION_OR_DIR] [--n 2000]
        [--paths torch:fp32,onnxruntime:fp32,onnxruntime:int8] [--threads N] [--naive-n N]
        [--device cpu|cuda]

On a GPU: ``--device cuda --paths torch:fp32,torch:bf16,torch:fp16``.

``--naive-n`` times the naive way on the first N texts only (it is slow) and reports its rate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def texts_for_bench(n: int) -> list[str]:
    from classifier.training.data import load_seed
    from finpulse.settings import Settings

    data = load_seed(Settings.load().model.seed_data)
    texts = [e.text for e in data.dev + data.train]
    return texts[:n]


def naive_rate(folder: Path, texts: list[str], max_length: int, device: str = "cpu") -> float:
    import numpy as np
    import torch
    from transformers import AutoTokenizer, pipeline

    from classifier.model.network import MultiTaskClassifier

    model = MultiTaskClassifier.from_folder(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    pipe = pipeline("feature-extraction", model=model.encoder, tokenizer=tokenizer, device=device,
                    tokenizer_kwargs={"truncation": True, "max_length": max_length})
    heads = [(h.weight.detach().numpy(), h.bias.detach().numpy())
             for h in (model.topic_head, model.sentiment_head)]
    start = time.perf_counter()
    with torch.inference_mode():
        for text in texts:
            # The version's own text preparation (links to one word piece) is part of the model.
            hidden = np.asarray(pipe(model.textprep(text))[0])  # [tokens, hidden]
            pooled = hidden.mean(0)
            for w, b in heads:
                (w @ pooled + b).argmax()
    return len(texts) / (time.perf_counter() - start)


def engine_rate(settings, info, texts: list[str], path: str, device: str = "cpu") -> tuple[float, int]:
    """Texts/s of the engine on ``path`` (RUNTIME:PRECISION), and how many sub-batches it ran
    at once (``model.parallel_batches``)."""
    from classifier.registry import load_engine

    runtime, precision = path.split(":")
    engine = load_engine(settings, info, runtime=runtime, precision=precision, device=device)
    engine.predict(texts[:64])  # warm-up
    start = time.perf_counter()
    engine.predict(texts)
    return len(texts) / (time.perf_counter() - start), engine.parallel_batches


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="version or folder (default: the champion)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--naive-n", type=int, default=None)
    parser.add_argument("--paths", default="torch:fp32,onnxruntime:fp32,onnxruntime:int8")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (paths torch:fp32|fp16|bf16)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    import torch

    from classifier import registry
    from finpulse.settings import Settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings.load()
    model_settings = settings.model.model_copy(update={"threads": args.threads})
    settings = settings.model_copy(update={"model": model_settings})
    info = registry.resolve(settings, args.model)
    texts = texts_for_bench(args.n)
    print(f"model {info.version}, {len(texts)} texts, max_length {settings.model.max_length}, "
          f"device {args.device}, torch threads {torch.get_num_threads()}")
    naive_texts = texts[: args.naive_n] if args.naive_n else texts
    naive = naive_rate(info.folder, naive_texts, settings.model.max_length, args.device)
    print(f"(a) transformers pipeline, one text at a time: {naive:8.1f} texts/s "
          f"({len(naive_texts)} texts)")
    for path in args.paths.split(","):
        rate, parallel = engine_rate(settings, info, texts, path, args.device)
        print(f"(b) finpulse engine, {path:>16}: {rate:8.1f} texts/s   ratio {rate / naive:5.1f}x   "
              f"({parallel} sub-batch(es) at once)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
