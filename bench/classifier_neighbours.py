"""Would a nearest-neighbour vote help this model? Measured on the dev split, held out.

Each dev text's k nearest training texts (cosine similarity of the version's pooled encoder
embeddings) vote for their labels, each with weight exp(similarity / temperature), and the vote
is mixed into the version's served probabilities (encoder and lexical part) with a share w.
For each task this prints the dev figures as served, at the fixed settings k 10, temperature
0.05, w 0.3, and the best settings on the whole dev split (chosen on what it measures, so
flattering). Then the honest figure: 20 random halves of the dev split, the settings chosen
on one half, the change against "as served" measured on the other.

docs/experiments.md, "E10", has the figures for three models: noise across them, so finpulse
does not serve such a vote (the implementation is in the commit "Neighbour part", reverted).

    .venv/bin/python bench/classifier_neighbours.py [--model VERSION_OR_DIR] [--threads N]

It embeds the 23,877 training texts once: 1-3 minutes on 2 CPU cores for the 6-layer model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe

KS = (5, 10, 20, 40)
TEMPERATURES = (0.02, 0.05, 0.1)
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
FIXED = (10, 0.05, 0.3)
AS_SERVED = (0, 0.0, 0.0)  # w 0: no vote, whatever k and T


def pooled_embeddings(engine, model, texts: list[str]):
    """[n, hidden] mean-pooled encoder outputs, in input order, as the heads read them."""
    import numpy as np
    import torch

    from classifier.model.network import mean_pool
    from classifier.serving.inference import plan_batches

    encoded = engine.encode(texts)
    out = np.zeros((len(texts), model.encoder.config.hidden_size), np.float32)
    with torch.inference_mode():
        for batch in plan_batches([len(x) for x in encoded.ids], 8192, 128):
            ids, mask = (torch.from_numpy(a) for a in engine._padded([encoded.ids[i] for i in batch]))
            hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            out[batch] = mean_pool(hidden, mask).numpy()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def votes(sims, targets, k: int, temperature: float):
    import numpy as np

    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top_sims = np.take_along_axis(sims, top, 1)
    w = np.exp((top_sims - top_sims.max(1, keepdims=True)) / temperature)
    return (w[:, :, None] * targets[top]).sum(1) / w.sum(1, keepdims=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="version or folder (default: the champion)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--halves", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    import numpy as np
    import torch
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import AutoTokenizer

    from classifier import registry
    from classifier.label_maps import IGNORE, LABELS
    from classifier.model.network import MultiTaskClassifier
    from classifier.serving.inference import InferenceEngine
    from classifier.training.data import load_seed
    from finpulse.settings import Settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings.load()
    info = registry.resolve(settings, args.model)
    meta = registry.read_meta(info.folder).get("training_args", {})
    data = load_seed(meta.get("data") or settings.model.seed_data, seed=meta.get("seed", 13),
                     dev_fraction=meta.get("dev_fraction", 0.1))
    model = MultiTaskClassifier.from_folder(info.folder)
    engine = InferenceEngine(model, AutoTokenizer.from_pretrained(str(info.folder)), version=info.version,
                    max_length=meta.get("max_length", settings.model.max_length), max_batch_size=128)
    start = time.perf_counter()
    train_keys = pooled_embeddings(engine, model, [e.text for e in data.train])
    dev_keys = pooled_embeddings(engine, model, [e.text for e in data.dev])
    served = engine.run(engine.encode([e.text for e in data.dev]))
    print(f"model {info.version}: {len(data.train)} training and {len(data.dev)} dev texts embedded "
          f"and classified in {time.perf_counter() - start:.0f}s")

    for task in ("topic", "sentiment"):
        y_train = np.array([getattr(e, task) for e in data.train])
        y_dev = np.array([getattr(e, task) for e in data.dev])
        memory, rows = y_train != IGNORE, y_dev != IGNORE
        targets = np.eye(len(LABELS[task]), dtype=np.float32)[y_train[memory]]
        sims = dev_keys[rows] @ train_keys[memory].T
        probs, truth = getattr(served, task)[rows], y_dev[rows]
        labels = {AS_SERVED: probs.argmax(1)}  # first, so that a tie goes to "as served"
        for k in KS:
            for temperature in TEMPERATURES:
                vote = votes(sims, targets, k, temperature)
                for w in WEIGHTS:
                    labels[(k, temperature, w)] = ((1 - w) * probs + w * vote).argmax(1)

        def score(setting, sel, truth=truth, labels=labels):  # this task's, bound now
            return (accuracy_score(truth[sel], labels[setting][sel]),
                    f1_score(truth[sel], labels[setting][sel], average="macro"))

        every = np.arange(len(truth))
        best = max(labels, key=lambda s: sum(score(s, every)))
        print(f"\n{task}: {len(truth)} dev texts, {int(memory.sum())} training texts in the memory "
              f"(accuracy / macro-F1)")
        for name, setting in (("as served", AS_SERVED), ("fixed k 10, T 0.05, w 0.3", FIXED),
                              (f"best on all of dev (k {best[0]}, T {best[1]}, w {best[2]})", best)):
            accuracy, macro_f1 = score(setting, every)
            print(f"  {name:<42} {accuracy:.4f} / {macro_f1:.4f}")
        rng = np.random.default_rng(0)
        changes = []
        for _ in range(args.halves):
            order = rng.permutation(len(truth))
            pick, held = order[: len(truth) // 2], order[len(truth) // 2:]
            chosen = max(labels, key=lambda s: sum(score(s, pick)))
            changes.append(np.subtract(score(chosen, held), score(AS_SERVED, held)) * 100)
        changes = np.array(changes)
        print(f"  held out, mean of {args.halves} halves: accuracy {changes[:, 0].mean():+.2f}, "
              f"macro-F1 {changes[:, 1].mean():+.2f} points (macro-F1 from {changes[:, 1].min():+.2f} "
              f"to {changes[:, 1].max():+.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
