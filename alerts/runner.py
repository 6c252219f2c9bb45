"""Running the alerts worker: the faust app on its own event loop plus the webhook dispatcher
thread, until a ``threading.Event`` is set. Works in the main thread (``finpulse alerts``), in
another thread or in a subprocess."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import faust
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from alerts.app import build_app
from alerts.dispatcher import Dispatcher, start_dispatcher
from alerts.pipeline import Recorder
from alerts.rulefile import load_rules
from alerts.rules import RuleSet
from alerts.watchdog import Watchdog, start_watchdog
from finpulse.errors import ConfigError, PermanentError, RetryableError
from finpulse.lag import consumer_lag
from finpulse.probe import is_reachable
from finpulse.settings import Settings
from store.db import get_engine, session_factory

log = logging.getLogger(__name__)


class _EmbeddedWorker(faust.Worker):
    """A faust worker that leaves signals and the working directory to its host."""

    def install_signal_handlers(self) -> None:  # the host's stop event rules
        pass

    def change_workdir(self, path: Any) -> None:
        pass


def preflight(settings: Settings) -> None:
    """Fail early, with a message, when the database or the broker is not there."""
    try:
        has_tables = inspect(get_engine(settings.database)).has_table("webhook_deliveries")
    except SQLAlchemyError as exc:
        raise RetryableError(f"database {settings.database.url!r} is unavailable: {exc}") from exc
    if not has_tables:
        raise ConfigError(
            f"database {settings.database.url!r} has no alerts tables: run `finpulse db upgrade`"
        )
    if not is_reachable(settings.kafka.bootstrap_servers, timeout_s=5):
        raise RetryableError(f"Kafka at {settings.kafka.bootstrap_servers} is not reachable")


def load_live_rules(settings: Settings) -> RuleSet:
    return load_rules(settings.alerts.rules_file,
                      receivers=[r.name for r in settings.alerts.receivers])


def run_alerts(settings: Settings, stop: threading.Event, *, rules: RuleSet | None = None,
               ready: threading.Event | None = None) -> None:
    """Detect, record and deliver alerts until ``stop`` is set. ``ready`` is set once the
    worker has joined its group and recovered its tables."""
    rules = rules or load_live_rules(settings)
    preflight(settings)
    sessions = session_factory(settings.database)
    dispatch_stop = threading.Event()
    dispatcher = Dispatcher(sessions, settings.alerts, poll_s=settings.alerts.dispatch_poll_s)
    threads = [start_dispatcher(dispatcher, dispatch_stop)]
    if settings.alerts.watchdog.enabled:
        watchdog = Watchdog(settings.alerts.watchdog, sessions, Recorder(sessions, settings.alerts),
                            read_lag=lambda: consumer_lag(settings.kafka))
        threads.append(start_watchdog(watchdog, dispatch_stop))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        app = build_app(settings, rules, Recorder(sessions, settings.alerts))
        worker = _EmbeddedWorker(app, loop=loop, override_logging=False, quiet=True,
                                 loglevel=settings.log_level)
        _watch(loop, worker, app, stop, ready)
        log.info("alerts worker starting: %d rule(s), group %s", len(rules.rules), app.conf.id)
        try:
            worker.execute_from_commandline()
        except SystemExit:
            pass
        except Exception as exc:  # faust re-raises whatever crashed it
            raise PermanentError(f"alerts worker crashed: {type(exc).__name__}: {exc}") from exc
    finally:
        dispatch_stop.set()
        for thread in threads:
            thread.join(timeout=30)
        log.info("alerts worker stopped")


def _watch(loop: asyncio.AbstractEventLoop, worker: faust.Worker, app: faust.App,
           stop: threading.Event, ready: threading.Event | None) -> None:
    async def watcher() -> None:
        announced = False
        while not stop.is_set():
            if not announced and _is_ready(app):
                log.info("alerts worker ready: partitions assigned, tables recovered")
                announced = True
                if ready is not None:
                    ready.set()
            await asyncio.sleep(0.2)
        await worker.stop()

    loop.create_task(watcher())


def _is_ready(app: faust.App) -> bool:
    try:
        return (
            bool(app.consumer.assignment())
            and app.rebalancing is False
            and app.tables.recovery.in_recovery is False
        )
    except Exception:  # noqa: BLE001 - not started yet
        return False
