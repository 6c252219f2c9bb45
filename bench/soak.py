"""Sustained load through the whole pipeline: publish articles at a steady rate for a while,
with ``finpulse classify``, ``finpulse sink`` and ``finpulse alerts`` running as their own
processes under the supervisor (as ``finpulse up`` runs them), then print the end-to-end latency
(published to news.raw -> row in the database) and each part's memory at the start and at the end.

    .venv/bin/python bench/soak.py [--rate 100] [--minutes 10] [--model VERSION_OR_DIR]
        [--database-url URL] [--warmup-s 30]

It uses the configured Kafka (finpulse.yaml / FINPULSE_* variables) with topics and consumer
groups of its own, a fresh SQLite database in a temporary folder unless --database-url names
another (an empty PostgreSQL database, say), and the champion model of the configured
registry unless --model names one. Latency is the row's ``stored_at`` minus the time the
article was handed to the producer (its ``fetched`` stamp), on one clock. Memory is each
part's resident set (with its children), sampled after the warm-up and at the end; growth over
10 % is flagged. Goals: p99 under 2 s and no part growing by more than 10 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTS = ("classify", "sink", "alerts")
HEADLINES = ["{c} beats estimates, shares jump", "{c} cuts guidance as demand slows",
             "Analysts upgrade {c} to buy", "{c} raises dividend by 5%", "{c} shares slide after CEO exit",
             "Fed holds rates steady; {c} rallies", "{c} prices bond offering", "{c} to buy rival for $2bn"]
COMPANIES = ["Apple", "Exxon", "JPMorgan", "Tesla", "Pfizer", "Boeing", "Nvidia", "Walmart"]


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children, in KiB (0 once it is gone)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in _children(int(k))]


def publish(settings, rate: float, seconds: float, stop: threading.Event) -> int:
    from finpulse.kafka import make_producer
    from finpulse.schemas import Article, article_id_for_source
    from ingest.tickers import find_tickers, load_watchlist

    producer = make_producer(settings.kafka, client_id="soak")
    watchlist = load_watchlist(settings.ingest.watchlist_file)  # tickers as ingest finds them
    run = uuid.uuid4().hex[:8]
    start, sent = time.monotonic(), 0
    try:
        while not stop.is_set() and time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * rate) + 1
            while sent < due:
                now = datetime.now(UTC)
                c = COMPANIES[sent % len(COMPANIES)]
                title = HEADLINES[(sent // len(COMPANIES)) % len(HEADLINES)].format(c=c) + f" ({sent})"
                a = Article(id=article_id_for_source("soak", f"{run}-{sent}"), source="soak", title=title,
                            published=now, fetched=now, tickers=find_tickers(title, watchlist))
                producer.send(settings.kafka.topics.raw, key=a.id.encode(), value=a.encode())
                sent += 1
            producer.flush()
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
    finally:
        producer.flush()
        producer.close()
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0, help="articles per second")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model", help="a version of the configured registry or a model folder")
    parser.add_argument("--database-url", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--warmup-s", type=float, default=30.0, help="before the first memory sample")
    args = parser.parse_args()

    import yaml
    from sqlalchemy import select

    from bench.machine import describe
    from classifier import registry
    from finpulse.settings import Settings, TopicNames
    from store import tables as m
    from store.db import session_factory
    from store.migrate import upgrade
    from system import broker
    from system.supervisor import Supervisor

    base = Settings.load()
    info = registry.resolve(base, args.model)
    tmp = Path(tempfile.mkdtemp(prefix="finpulse-soak-"))
    uid = uuid.uuid4().hex[:8]
    rules = tmp / "rules.yaml"
    rules.write_text((Path(__file__).resolve().parent.parent / "config" / "rules.yaml").read_text())
    database_url = args.database_url or f"sqlite:///{tmp / 'soak.db'}"
    settings = base.model_copy(update={
        "var_dir": tmp,
        "database": base.database.model_copy(update={"url": database_url}),
        "model": base.model.model_copy(update={"registry_dir": tmp / "models"}),
        "kafka": base.kafka.model_copy(update={
            "group_prefix": f"soak-{uid}", "manage_local_broker": False,
            "topics": TopicNames(raw=f"soak.raw.{uid}", classified=f"soak.classified.{uid}",
                                 alerts=f"soak.alerts.{uid}", dlq=f"soak.dlq.{uid}")}),
        "alerts": base.alerts.model_copy(update={"rules_file": rules, "receivers": []}),
    })
    broker.ensure_topics(settings.kafka)
    upgrade(settings.database)
    registry.register(settings, info.version, info.folder, base_model="soak", metrics={}, promote=True)
    config = tmp / "finpulse.yaml"
    config.write_text(yaml.safe_dump(settings.revealed(), sort_keys=False))

    print(f"machine: {describe()}")
    print(f"model {info.version}; {args.rate:g} articles/s for {args.minutes:g} min; logs in {tmp}")
    # Under the supervisor, as `finpulse up` runs them: a part that exits is started again,
    # and the restarts are reported with the figures.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env["FINPULSE_CONFIG"] = str(config)
    sup = Supervisor(max_backoff_s=5.0)
    for name in PARTS:
        sup.add(name, [sys.executable, "-m", "system", name], env=env)
    procs = {c.name: c for c in sup.children}
    watch_stop = threading.Event()
    threading.Thread(target=sup.watch, args=(watch_stop,), daemon=True).start()
    stop = threading.Event()
    seconds = args.minutes * 60
    sent_box: dict[str, int] = {}

    def run_publisher() -> None:
        sent_box.update(n=publish(settings, args.rate, seconds, stop))

    publisher = threading.Thread(target=run_publisher)
    try:
        time.sleep(20)  # the parts load and join their groups before the clock starts
        publisher.start()
        time.sleep(min(args.warmup_s, seconds))
        first = {name: rss_kib(c.proc.pid) for name, c in procs.items()}
        publisher.join()
        sessions = session_factory(settings.database)
        deadline = time.monotonic() + 300
        sent = sent_box.get("n", 0)
        while time.monotonic() < deadline:
            with sessions() as s:
                stored = s.query(m.Article).count()
            if stored >= sent:
                break
            time.sleep(1)
        last = {name: rss_kib(c.proc.pid) for name, c in procs.items()}
        with sessions() as s:
            rows = s.execute(select(m.Article.fetched, m.Article.stored_at)).all()
    finally:
        stop.set()
        watch_stop.set()
        sup.stop_all(timeout_s=30)
    lat = sorted((stored - fetched).total_seconds() * 1000 for fetched, stored in rows)
    if not lat:
        print("no article reached the database: see the logs")
        return 1
    q = statistics.quantiles(lat, n=100)
    print(f"published {sent}, stored {len(lat)} ({len(lat) / max(1, sent):.1%})")
    print(f"end-to-end latency ms: p50 {q[49]:.0f}  p95 {q[94]:.0f}  p99 {q[98]:.0f}  max {lat[-1]:.0f}"
          f"  (goal: p99 < 2000) -> {'met' if q[98] < 2000 else 'NOT met'}")
    print("restarts: " + ", ".join(f"{c.name} {c.restarts}" for c in sup.children)
          + " (a restart resets that part's memory figures)")
    for name in PARTS:
        growth = (last[name] - first[name]) / max(1, first[name])
        print(f"{name:<9} RSS {first[name] / 1024:7.1f} MiB after warm-up -> {last[name] / 1024:7.1f} MiB"
              f" at the end ({growth:+.1%}{', over 10 %' if growth > 0.10 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
