"""The automatic trigger: retrain once enough new labels have arrived, one run at a time.

"Enough" is ``settings.dashboard.retrain_after_labels`` labels saved since the newest model
version was registered (the number the labeling page's progress bar shows; a challenger that
was not promoted is registered too, so each attempt restarts the count). The check runs every
``settings.model.retrain_poll_s``; after a failed run it waits ``retrain_retry_s``. The
retraining lock (``classifier.retraining.lock``) keeps it from overlapping a manual retrain.

The same loop ends shadow periods (``settle_shadow``): a challenger put in shadow to be
promoted (``finpulse retrain --shadow``) is promoted once it has been in shadow
``model.shadow_min_minutes`` AND the shadow scorer has scored ``model.shadow_min_articles``
articles beside the champion it was compared with. A change of champion before then ends the
shadow without promotion (``store.queries.model_versions``).

``run_autoretrain(settings, stop)`` blocks (``finpulse retrain --watch``);
``start_autoretrain(settings, stop)`` runs it in a daemon thread (for ``finpulse up``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from classifier import registry
from classifier.retraining.lock import RetrainBusy
from classifier.retraining.retrain import RetrainConfig, RetrainResult, retrain
from finpulse.errors import ConfigError
from finpulse.settings import Settings
from store.db import session_factory
from store.queries import model_versions as q
from store.queries.labels import retraining_progress
from store.queries.shadow import shadow_status

log = logging.getLogger(__name__)

Retrain = Callable[..., RetrainResult]


def progress(settings: Settings) -> dict[str, Any]:
    """Labels since the newest version, against the configured number."""

    with session_factory(settings.database).begin() as session:
        return retraining_progress(session, every=settings.dashboard.retrain_after_labels)


def check_once(settings: Settings, cfg: RetrainConfig, retrain_fn: Retrain = retrain) -> RetrainResult | None:
    """Retrain when due; None when not due or when another retraining holds the lock."""
    due = progress(settings)
    if due["labels"] < due["every"]:
        return None
    log.info("%d new labels (every %d): retraining", due["labels"], due["every"])
    try:
        return retrain_fn(settings, cfg, progress=False)
    except RetrainBusy as exc:
        log.info("automatic retrain skipped: %s", exc)
        return None


def settle_shadow(settings: Settings, now: datetime | None = None) -> str | None:
    """Promote the challenger in shadow if its shadow period is over; returns it, or None."""

    m = settings.model

    def promote_if_due(session) -> dict | None:
        q.lock(session)  # a shadow stopped or a champion changed meanwhile is seen below
        status = shadow_status(session, min_minutes=m.shadow_min_minutes,
                               min_articles=m.shadow_min_articles, now=now or datetime.now(UTC))
        if status is None or not status["due"]:
            return None
        q.promote(session, status["version"], by="finpulse shadow period")
        return status

    status = registry.in_transaction(settings, promote_if_due)
    if status is None:
        return None
    log.info("shadow period over (%.0f min, %d articles): promoted %s", status["minutes"],
             status["scored"], status["version"])
    return status["version"]


def _settle_quietly(settings: Settings) -> None:
    try:
        settle_shadow(settings)
    except Exception:  # a background job: log, try again next poll
        log.exception("could not check the shadow period")


def run_autoretrain(settings: Settings, stop: threading.Event, *, cfg: RetrainConfig | None = None,
                    retrain_fn: Retrain = retrain, poll_s: float | None = None) -> int:
    """Check every ``poll_s`` (labels and the shadow period) until ``stop`` is set; returns how
    many retrainings ran."""
    cfg = cfg or RetrainConfig(by="finpulse auto-retrain")
    if cfg.dry_run:
        raise ConfigError("--watch cannot be combined with --dry-run (a dry run registers no "
                          "version, so the label count would never restart)")
    poll_s = settings.model.retrain_poll_s if poll_s is None else poll_s
    runs, resume_at = 0, 0.0
    while not stop.is_set():
        _settle_quietly(settings)
        if time.monotonic() >= resume_at:
            try:
                result = check_once(settings, cfg, retrain_fn)
                if result is not None:
                    runs += 1
                    log.info("automatic retrain: %s %s", result.version, "promoted" if result.promoted
                             else "in shadow" if result.shadowed else "not promoted")
            except Exception:  # a background job: log, back off, keep watching
                log.exception("automatic retrain failed; next try in %.0f s", settings.model.retrain_retry_s)
                resume_at = time.monotonic() + settings.model.retrain_retry_s
        stop.wait(poll_s)
    return runs


def start_autoretrain(settings: Settings, stop: threading.Event, **kwargs: Any) -> threading.Thread:
    """``run_autoretrain`` in a daemon thread (stops when ``stop`` is set)."""
    thread = threading.Thread(target=run_autoretrain, args=(settings, stop), kwargs=kwargs,
                              name="auto-retrain", daemon=True)
    thread.start()
    return thread
