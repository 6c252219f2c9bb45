"""Hot swap: a background thread polls the registry for a new champion (or shadow version),
loads it, and hands the ready engine to the worker, which switches between two batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ChampionWatcher(threading.Thread):
    """Polls ``current()`` every ``every_s``; when it names a version other than the one
    running, ``load(version)`` builds its engine off the hot path and parks it for ``take()``."""

    def __init__(self, current: Callable[[], str | None], load: Callable[[str], object],
                 running: str, every_s: float, stop: threading.Event) -> None:
        super().__init__(name="champion-watcher", daemon=True)
        self._current, self._load, self._every_s, self._stop = current, load, every_s, stop
        self._target = running  # the version running or parked
        self._ready: object | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                version = self._current()
                if version and version != self._target:
                    log.info("champion changed to %s: loading it in the background", version)
                    engine = self._load(version)
                    with self._lock:
                        self._ready, self._target = engine, version
            except Exception:  # keep serving the current model; retry next poll
                log.exception("could not check or load the champion model; keeping the current one")

    def take(self) -> object | None:
        """The newly loaded engine, once (None when there is none)."""
        with self._lock:
            ready, self._ready = self._ready, None
            return ready


class ShadowWatcher(threading.Thread):
    """Follows a version that may be absent (the registry's shadow version): ``check()`` polls
    ``current()``; when it differs from the one running or parked, ``load(version)`` builds its
    engine off the hot path (None when there is no version any more) and parks the change."""

    def __init__(self, current: Callable[[], str | None], load: Callable[[str], object],
                 every_s: float, stop: threading.Event) -> None:
        super().__init__(name="shadow-watcher", daemon=True)
        self._current, self._load, self._every_s, self._stop = current, load, every_s, stop
        self._target: str | None = None
        self._ready: tuple[object | None] | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        version = self._current()
        if version == self._target:
            return
        log.info("shadow version changed to %s", version or "none")
        engine = self._load(version) if version else None
        with self._lock:
            self._ready, self._target = (engine,), version

    def run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.check()
            except Exception:  # keep the current state; retry next poll
                log.exception("could not check or load the shadow model; keeping the current state")

    def take(self) -> tuple[object | None] | None:
        """The change, once: ``(engine,)`` (``(None,)``: shadowing ended), or None if none."""
        with self._lock:
            ready, self._ready = self._ready, None
            return ready
