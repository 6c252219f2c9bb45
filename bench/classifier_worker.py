"""The whole worker, Kafka in and Kafka out: publish N articles to fresh topics, run
``finpulse classify``'s loop in this process, and print articles/s until the last one is out,
beside its engine's rate on the same texts and path measured in the same run (the engine
classifying all N at once: tokenize, then the network).

    .venv/bin/python bench/classifier_worker.py [--model VERSION_OR_DIR] [--n 2000]
        [--precision auto|fp32|int8] [--runtime auto|torch|onnxruntime] [--threads N]
        [--null-model] [--profile FILE]

``--null-model`` replaces the network and the lexical part by uniform probabilities, so what
is left is the worker's own cost: polling, decoding, tickers, building and producing the
results, committing. ``--profile FILE`` writes a cProfile of the worker's main thread.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


class NullEngine:
    """Uniform probabilities for every text: the worker without a model."""

    version, runtime, precision, device, parallel_batches = "null", "none", "none", "cpu", 1
    path_reason = "no model (--null-model)"

    def encode(self, texts, with_lexical=False):
        from classifier.serving.inference import Encoded

        return Encoded([[0]] * len(texts))

    def run(self, encoded):
        import numpy as np

        from classifier.serving.inference import Probabilities
        from finpulse.schemas import SENTIMENTS, TOPICS

        n, t, s = len(encoded), len(TOPICS), len(SENTIMENTS)
        return Probabilities(np.full((n, t), 1 / t, np.float32), np.full((n, s), 1 / s, np.float32))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--precision", default=None)
    parser.add_argument("--runtime", default=None)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--null-model", action="store_true",
                        help="uniform probabilities instead of a model: the Kafka side alone")
    parser.add_argument("--profile", help="write a cProfile of the worker's main thread here")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    from classifier_throughput import texts_for_bench  # bench/ is on sys.path (the script dir)
    from kafka import KafkaConsumer

    from classifier.serving.worker import run_worker
    from finpulse.kafka import make_producer
    from finpulse.schemas import Article, article_id_for_source
    from finpulse.settings import Settings, TopicNames
    from system import broker

    base = Settings.load()
    uid = uuid.uuid4().hex[:8]
    topics = TopicNames(raw=f"bench.raw.{uid}", classified=f"bench.classified.{uid}",
                        alerts=f"bench.alerts.{uid}", dlq=f"bench.dlq.{uid}")
    kafka = base.kafka.model_copy(update={"topics": topics, "group_prefix": f"bench-{uid}"})
    model = base.model.model_copy(update={k: v for k, v in {"precision": args.precision,
                                                             "runtime": args.runtime,
                                                             "threads": args.threads}.items() if v})
    settings = base.model_copy(update={"kafka": kafka, "model": model})
    broker.ensure_topics(kafka)
    now = datetime.now(UTC)
    producer = make_producer(kafka, client_id="bench")
    for i, text in enumerate(texts_for_bench(args.n)):  # the same texts as the engine's below
        a = Article(id=article_id_for_source("bench", str(i)), source="bench", title=text,
                    published=now, fetched=now)
        producer.send(topics.raw, key=a.id.encode(), value=a.encode())
    producer.flush()
    stop = threading.Event()
    texts = texts_for_bench(args.n)
    if args.null_model:
        engine, engine_rate = NullEngine(), None
    else:
        from classifier import registry

        engine = registry.load_engine(settings, registry.resolve(settings, args.model))
        engine.predict(texts[:64])  # warm-up, as the worker's first batch is not counted
        start = time.perf_counter()
        engine.predict(texts)
        engine_rate = len(texts) / (time.perf_counter() - start)
        print(f"engine {engine.version} ({engine.runtime}:{engine.precision}, {engine.parallel_batches} "
              f"sub-batch(es) at once; {engine.path_reason}): {engine_rate:.1f} texts/s", flush=True)

    def work() -> None:
        if not args.profile:
            run_worker(settings, stop, model=args.model, engine=engine)
            return
        import cProfile

        with cProfile.Profile() as prof:
            run_worker(settings, stop, model=args.model, engine=engine)
        prof.dump_stats(args.profile)

    worker = threading.Thread(target=work, daemon=True)
    reader = KafkaConsumer(topics.classified, bootstrap_servers=kafka.bootstrap_servers,
                           auto_offset_reset="earliest", group_id=None)
    worker.start()
    # The clock starts when the first batch comes out, so that batch is not counted: a batch's
    # predictions share one "classified_at" stamp (otherwise a larger batch would look faster
    # by the share of the run its first batch is).
    stamp = re.compile(rb'"classified_at":"([^"]+)"')
    seen, first, last, first_stamp, uncounted = 0, None, None, None, 0
    while seen < args.n:
        for records in reader.poll(timeout_ms=500).values():
            now_s = time.perf_counter()
            for record in records:
                found = stamp.search(record.value)
                first_stamp = first_stamp or (found and found.group(1))
                uncounted += bool(found and found.group(1) == first_stamp)
            first = first or now_s
            seen += len(records)
            last = now_s
    stop.set()
    worker.join(60)
    reader.close()
    rate = (args.n - uncounted) / (last - first) if last > first else float("nan")
    what = "no model (--null-model)" if args.null_model else (args.model or "the champion")
    print(f"worker ({what}): {args.n} articles, Kafka in -> Kafka out, {rate:.1f} articles/s "
          f"(from the first batch out to the last, that batch's {uncounted} not counted; "
          f"model load and start-up excluded)")
    if engine_rate:
        print(f"worker / engine: {rate / engine_rate:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
