"""``finpulse up``: the whole system on one machine, with its embedded defaults.

Starts the local broker unless an external one is configured, migrates the database, starts
the sink, ingest (with the demo replay) and the dashboard, makes sure a champion model exists
(training the default one on first run, with progress), then starts the classifier, the alert
engine, the retraining watch and the shadow scorer (idle until a challenger is in shadow).
Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import logging
import sys
from finpulse import broker
from finpulse.lifecycle import stop_on_signals
from finpulse.settings import Settings
from finpulse.supervisor import Supervisor

log = logging.getLogger(__name__)


def part(*args: str) -> list[str]:
    return [sys.executable, "-m", "finpulse", *args]


def prepare_infrastructure(settings: Settings) -> None:
    """Broker up (or reachable) with topics, database migrated."""
    from store.migrate import upgrade

    kafka = settings.kafka
    if broker.is_reachable(kafka.bootstrap_servers):
        broker.ensure_topics(kafka)
    elif kafka.manage_local_broker:
        print(f"starting the local Kafka broker on {kafka.bootstrap_servers} …", flush=True)
        broker.start(kafka)
    else:
        from finpulse.errors import ConfigError

        raise ConfigError(
            f"Kafka at {kafka.bootstrap_servers} is not reachable and manage_local_broker is "
            "false: start that cluster or set FINPULSE_KAFKA__MANAGE_LOCAL_BROKER=true"
        )
    upgrade(settings.database)


def run_up(settings: Settings, *, demo: bool = True, dashboard: bool = True) -> int:
    stop = stop_on_signals()
    prepare_infrastructure(settings)
    sup = Supervisor()
    try:
        sup.add("sink", part("sink"))
        if dashboard:
            sup.add("dashboard", part("dashboard"))
            print(f"dashboard: http://{settings.dashboard.host}:{settings.dashboard.port}", flush=True)
        ensure_model(settings)
        if stop.is_set():
            return 130
        sup.add("classify", part("classify"))
        sup.add("alerts", part("alerts"))
        sup.add("retrain", part("retrain", "--watch"))
        sup.add("shadow", part("shadow"))
        sup.add("ingest", part("ingest"))
        if demo:
            sup.add("demo", part("ingest", "--demo"))
        print("finpulse is up; Ctrl-C stops everything", flush=True)
        sup.watch(stop)
    finally:
        print("stopping …", flush=True)
        sup.stop_all()
    return 0


def ensure_model(settings: Settings) -> str:
    from classifier.train import ensure_champion

    print("checking for a champion model (first run trains the default model from the seed "
          "data: on 2 CPU cores this takes several minutes; progress below) …", flush=True)
    version = ensure_champion(settings)
    print(f"champion model: {version}", flush=True)
    return version
