"""Process lifecycle for long-running parts: logging set-up and a stop flag that SIGINT and
SIGTERM raise, so loops finish their current batch and exit cleanly."""

from __future__ import annotations

import logging
import signal
import threading


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # kafka-python is chatty at INFO about every (re)connection.
    # Libraries that narrate every connection and start-up step at INFO.
    for noisy in ("kafka", "alembic.runtime", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # kafka-python warns whenever a poll took >100 ms, which a busy 2-core machine always does.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)


def stop_on_signals() -> threading.Event:
    """An Event set on SIGINT/SIGTERM (call from the main thread)."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    return stop
