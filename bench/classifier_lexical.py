"""The lexical part's cost per text, side by side in one run on the same texts and model:

  (a) the plain scikit-learn way: ``HashingVectorizer`` for words and characters, then the
      sublinear TF-IDF through scipy's ``multiply`` and ``normalize``, per task, and
  (b) ``LexicalModel.predict_proba``: characters through ``CachedCharNgrams`` (each word
      hashed once) and the TF-IDF on the CSR arrays directly,

first on a cold cache (a fresh model: every word is new), then on new texts after the cache
has seen ``--warm`` other texts, as in a worker that has run for a while. Each rate is the best
of ``--repeat`` runs (a fresh model each time): this machine's speed varies from run to run.
Checks that both ways give the same probabilities, then prints the rates and their ratio. Usage:

    .venv/bin/python bench/classifier_lexical.py [--model VERSION_OR_DIR] [--n 2000] [--warm 6000]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def plain_proba(model, texts: list[str]) -> dict:  # a LexicalModel
    """The scikit-learn way with the model's own vectorizers and weights: every character
    n-gram of every text analysed and hashed, the TF-IDF through scipy."""
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.preprocessing import normalize

    # The model's word vectorizer, and the plain one behind its character cache.
    counts = hstack([model._words.transform(texts), model._chars.vectorizer.transform(texts)]).tocsr()
    out = {}
    for task in ("topic", "sentiment"):
        x = counts.astype(np.float32, copy=True)
        x.data = 1.0 + np.log(x.data)
        x = normalize(x.multiply(model.idf[task]).tocsr(), norm="l2", copy=False)
        out[task] = model.proba(x, task)  # the same scoring as (b): only the features differ
    return out


def rate(fn, texts: list[str], batch: int = 64) -> tuple[float, dict]:
    import numpy as np

    start = time.perf_counter()
    parts = [fn(texts[i:i + batch]) for i in range(0, len(texts), batch)]
    elapsed = time.perf_counter() - start
    return len(texts) / elapsed, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="version or folder (default: the champion)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--warm", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    import numpy as np

    from classifier import registry
    from classifier.model.lexical import LexicalModel
    from classifier.training.data import load_seed
    from finpulse.settings import Settings

    settings = Settings.load()
    info = registry.resolve(settings, args.model)
    data = load_seed(settings.model.seed_data)
    pool = [e.text for e in data.dev + data.train]
    texts, warm = pool[: args.n], pool[args.n: args.n + args.warm]
    probe = LexicalModel.load(info.folder)
    if probe is None:
        print(f"model {info.version} has no lexical part")
        return 1
    print(f"model {info.version}, {len(texts)} texts, batches of 64, cache warmed on {len(warm)} other texts")

    plain_proba(probe, ["warm up the code paths"])

    def best(run):  # run() -> (rate, probabilities)
        results = [run() for _ in range(args.repeat)]
        return max(r[0] for r in results), results[-1][1]

    def cold_run():
        model = LexicalModel.load(info.folder)
        model.predict_proba(["warm up the code paths"])
        return rate(model.predict_proba, texts)

    def warm_run():
        model = LexicalModel.load(info.folder)
        rate(model.predict_proba, warm)
        cached.append(len(model._chars))
        return rate(model.predict_proba, texts)

    cached: list[int] = []
    plain, expected = best(lambda: rate(lambda b: plain_proba(probe, b), texts))
    cold, got_cold = best(cold_run)
    warmed, got_warm = best(warm_run)
    for got in (got_cold, got_warm):
        for task in expected:
            diff = float(np.abs(got[task] - expected[task]).max())
            if diff > 1e-5:
                print(f"MISMATCH: {task} probabilities differ by {diff:.2e}")
                return 1
    print(f"(a) scikit-learn vectorizers, scipy TF-IDF: {plain:8.0f} texts/s ({1e3 / plain:.3f} ms/text)")
    print(f"(b) finpulse, cold cache:                   {cold:8.0f} texts/s ({1e3 / cold:.3f} ms/text)"
          f"   ratio {cold / plain:4.1f}x")
    print(f"(b) finpulse, warm cache ({cached[-1]} words):    {warmed:8.0f} texts/s "
          f"({1e3 / warmed:.3f} ms/text)   ratio {warmed / plain:4.1f}x")
    print("same probabilities (within 1e-5) on every text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
