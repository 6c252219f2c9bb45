"""``finpulse up``: the whole system on one machine, with its embedded defaults.

Starts the local broker unless an external one is configured, migrates the database, starts
the sink, ingest (with the demo replay), the dashboard and the read API, makes sure a champion model exists
(training the default one on first run, with progress), then starts the classifier, the alert
engine, the retraining watch and the shadow scorer (idle until a challenger is in shadow).
Ctrl-C (or SIGTERM, SIGHUP) stops everything cleanly, and the broker if it was started here;
the parts and that broker also end when ``finpulse up`` is killed outright.
"""

from __future__ import annotations

import logging
import socket
import sys

from finpulse.errors import ConfigError
from finpulse.lifecycle import stop_on_signals
from finpulse.schemas import utcnow
from finpulse.settings import Settings
from store.db import session_factory
from store.migrate import upgrade
from store.queries.watchdog import record_restart
from system import broker
from system.supervisor import Supervisor, say

log = logging.getLogger(__name__)


def part(*args: str) -> list[str]:
    return [sys.executable, "-m", "system", *args]


def prepare_infrastructure(settings: Settings, *, tie_broker: bool = False) -> bool:
    """Broker up (or reachable) with topics, database migrated. Returns whether the local
    broker was started here; with ``tie_broker`` it ends when this process ends."""
    kafka = settings.kafka
    started = False
    if broker.is_reachable(kafka.bootstrap_servers):
        broker.ensure_topics(kafka)
    elif kafka.manage_local_broker:
        say(f"starting the local Kafka broker on {kafka.bootstrap_servers} …")
        broker.start(kafka, tie_to_parent=tie_broker)
        started = True
    else:
        raise ConfigError(
            f"Kafka at {kafka.bootstrap_servers} is not reachable and manage_local_broker is "
            "false: start that cluster or set FINPULSE_KAFKA__MANAGE_LOCAL_BROKER=true"
        )
    upgrade(settings.database)
    return started


def restart_recorder(settings: Settings):  # supervisor.OnRestart
    """Record each restart in the database, where the watchdog counts crash loops."""
    sessions, host = session_factory(settings.database), socket.gethostname()

    def record(part: str, exit_code: int | None, _restart: int) -> None:
        with sessions.begin() as s:
            record_restart(s, part=part, host=host, exit_code=exit_code, at=utcnow())

    return record


def run_up(settings: Settings, *, demo: bool = True, dashboard: bool = True) -> int:
    stop = stop_on_signals()
    started_broker = prepare_infrastructure(settings, tie_broker=True)
    sup = Supervisor(on_restart=restart_recorder(settings))
    try:
        sup.add("sink", part("sink"))
        if dashboard:
            sup.add("dashboard", part("dashboard"))
            say(f"dashboard: http://{settings.dashboard.host}:{settings.dashboard.port}")
        sup.add("api", part("api"))
        say(f"read API: http://{settings.api.host}:{settings.api.port}/v1/docs "
            "(keys: `finpulse api keys create`)")
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
        say("finpulse is up; Ctrl-C stops everything")
        sup.watch(stop)
    finally:
        say("stopping …")
        sup.stop_all()
        if started_broker:
            broker.stop(settings.kafka)
    return 0


def ensure_model(settings: Settings) -> str:
    # Imported here: training brings torch (seconds to import), which `finpulse init` without
    # --model never needs.
    from classifier.training.train import ensure_champion

    say("checking for a champion model (first run trains the default model from the seed "
        "data: on 2 CPU cores this takes several minutes; progress below) …")
    version = ensure_champion(settings)
    say(f"champion model: {version}")
    return version
