"""finpulse watching itself: a dead-man's switch that alerts through the same receivers.

Four checks, each an alert rule of its own with the usual lifecycle, silences and delivery:

- ``finpulse-watchdog``: a heartbeat that always fires and is re-sent every
  ``heartbeat_every_s``. A receiver that stops hearing it knows finpulse itself went quiet
  (the idea of Alertmanager's Watchdog).
- ``finpulse-crash-loop``: a part restarted more than ``crash_loop_restarts`` times within
  ``crash_loop_window_s`` (restarts recorded by ``finpulse up``'s supervisor).
- ``finpulse-consumer-stalled``: a consumer group that committed nothing for
  ``stalled_after_s`` while its lag grew.
- ``finpulse-source-silent``: a source with nothing new for longer than its usual gap.

The checks are pure functions of what was read; ``Watchdog`` does the reading and records the
transitions with the alerts ``Recorder``. It runs as a thread of ``finpulse alerts`` and needs
only the database to alert: a check that cannot read (the broker is down) is skipped, logged,
and tried again on the next pass.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerts.detectors import Observation
from alerts.durations import format_duration
from alerts.lifecycle import AlertState, step
from alerts.pipeline import Change, Recorder
from alerts.rules import Detector, Rule, fingerprint
from finpulse.lag import Lag
from finpulse.settings import WatchdogSettings
from store.queries import watchdog as q
from store.queries.watchdog import CRASH_LOOP, HEARTBEAT, SILENT, STALLED

log = logging.getLogger(__name__)

LagReader = Callable[[], list[Lag]]


@dataclass(frozen=True)
class Finding:
    """One check that holds now, for one key (a part, a group, a source)."""

    rule: str
    key: str
    value: float
    reason: str


def watchdog_rules(cfg: WatchdogSettings) -> dict[str, Rule]:
    """The four checks as alert rules: the condition holds while the check's score is 1."""
    def rule(name: str, scope: str, severity: str, repeat_s: float, description: str) -> Rule:
        return Rule(name=name, scope=scope, metric="count", window=max(1.0, cfg.check_every_s),
                    detector=Detector(type="threshold", above=0.5), repeat_interval=repeat_s,
                    severity=severity, labels={"component": "finpulse", "check": name},
                    description=description)

    return {r.name: r for r in (
        rule(HEARTBEAT, "overall", "info", cfg.heartbeat_every_s,
             "Always fires while finpulse runs; its absence means finpulse is down."),
        rule(CRASH_LOOP, "overall", "critical", 3600.0,
             "A part keeps exiting and being restarted."),
        rule(STALLED, "overall", "critical", 3600.0,
             "A consumer group commits nothing while its lag grows."),
        rule(SILENT, "source", "warning", 6 * 3600.0,
             "A source delivered nothing new for much longer than usual."),
    )}


def heartbeat() -> Finding:
    return Finding(HEARTBEAT, "finpulse", 1.0,
                   "finpulse is running: this alert always fires; when it stops arriving, "
                   "finpulse itself is down")


def crash_loops(restarts: Iterable[dict], cfg: WatchdogSettings) -> list[Finding]:
    """Parts restarted more than ``crash_loop_restarts`` times in the window."""
    window = format_duration(cfg.crash_loop_window_s)
    return [Finding(CRASH_LOOP, r["part"], float(r["n"]),
                    f"{r['part']} was restarted {r['n']} times in the last {window} "
                    f"(last exit code {r['exit_code']})")
            for r in restarts if r["n"] > cfg.crash_loop_restarts]


@dataclass
class _Progress:
    committed: int  # sum of the group's committed offsets
    since: float  # when ``committed`` last changed
    end_then: int  # sum of the end offsets at that moment


@dataclass
class LagTracker:
    """Remembers, per consumer group, when its committed offsets last moved."""

    groups: dict[str, _Progress] = field(default_factory=dict)
    ends: dict[str, int] = field(default_factory=dict)  # end offsets at the last observation

    def observe(self, lags: Iterable[Lag], now: float) -> None:
        committed: dict[str, int] = {}
        ends: dict[str, int] = {}
        for lag in lags:
            committed[lag.group] = committed.get(lag.group, 0) + (lag.committed or 0)
            ends[lag.group] = ends.get(lag.group, 0) + lag.end
        for group, done in committed.items():
            seen = self.groups.get(group)
            if seen is None or seen.committed != done:
                self.groups[group] = _Progress(done, now, ends[group])
        self.ends = ends

    def stalled(self, now: float, after_s: float) -> list[Finding]:
        """Groups that committed nothing for ``after_s`` while their end offsets grew."""
        out = []
        for group, p in sorted(self.groups.items()):
            end = self.ends.get(group)
            if end is None or now - p.since < after_s or end <= p.end_then:
                continue
            lag = end - p.committed
            out.append(Finding(STALLED, group, float(lag),
                               f"consumer group {group} committed nothing for "
                               f"{format_duration(now - p.since)} while its lag grew from "
                               f"{p.end_then - p.committed:,} to {lag:,} records"))
        return out


def usual_gap(arrivals: list[datetime], min_gaps: int) -> float | None:
    """The 90th percentile of the gaps between deliveries (``arrivals`` newest first), in
    seconds. Articles stored within a second of each other came in one delivery (a feed poll,
    a sink batch) and count once. None until there are ``min_gaps`` gaps."""
    times = sorted({math.floor(t.timestamp()) for t in arrivals})
    deliveries = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > 1]
    gaps = sorted(b - a for a, b in zip(deliveries, deliveries[1:], strict=False))
    if len(gaps) < min_gaps:
        return None
    return float(gaps[min(len(gaps) - 1, math.ceil(0.9 * len(gaps)) - 1)])


def silent_source(source: str, arrivals: list[datetime], now: float,
                  cfg: WatchdogSettings) -> Finding | None:
    if not arrivals:
        return None
    gap = usual_gap(arrivals, cfg.silence_min_gaps)
    if gap is None:
        return None
    limit = max(cfg.silence_min_s, cfg.silence_factor * gap)
    quiet = now - max(arrivals).timestamp()
    if quiet <= limit:
        return None
    return Finding(SILENT, source, quiet,
                   f"no new article from {source} for {format_duration(quiet)} (its usual gap "
                   f"is {format_duration(gap)}; the limit is {format_duration(limit)})")


class Watchdog:
    """Runs the checks every ``check_every_s`` and records what changed."""

    def __init__(self, cfg: WatchdogSettings, sessions: sessionmaker[Session], recorder: Recorder,
                 read_lag: LagReader | None = None, clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.sessions, self.recorder = cfg, sessions, recorder
        self.read_lag, self.clock = read_lag, clock
        self.rules = watchdog_rules(cfg)
        self.states: dict[tuple[str, str], AlertState] = {}
        self.lag = LagTracker()
        self.restored = False

    def restore(self) -> None:
        """Carry on the open alerts of an earlier run (same ids, no second 'firing')."""
        with self.sessions() as s:
            for a in q.open_alerts(s, self.rules):
                rule = self.rules[a.rule]
                fired = a.fired_at.timestamp() if a.fired_at else None
                notified = a.updated_at.timestamp()
                # Each repeat came at least repeat_interval after the one before, so this is
                # at least the last sequence number used: the next one is new.
                seq = (int((notified - fired) // rule.repeat_interval)
                       if fired is not None and rule.repeat_interval else 0)
                self.states[(a.rule, a.key)] = AlertState(
                    rule=a.rule, key=a.key, fingerprint=a.fingerprint, state=a.state,
                    alert_id=a.id, active_since=a.started_at.timestamp(), fired_at=fired,
                    last_notified=notified if fired is not None else None, notify_seq=seq)
        self.restored = True

    def findings(self, now: float) -> list[Finding]:
        found = [heartbeat()]
        for check in (self._crash_loops, self._stalled, self._silent_sources):
            try:
                found += check(now)
            except Exception as exc:  # noqa: BLE001 - one check that cannot read must not stop the others
                log.warning("watchdog check %s could not run: %s: %s", check.__name__.strip("_"),
                            type(exc).__name__, exc)
        return found

    def _crash_loops(self, now: float) -> list[Finding]:
        since = datetime.fromtimestamp(now - self.cfg.crash_loop_window_s, UTC)
        with self.sessions() as s:
            return crash_loops(q.restarts_since(s, since), self.cfg)

    def _stalled(self, now: float) -> list[Finding]:
        if self.read_lag is None:
            return []
        self.lag.observe(self.read_lag(), now)
        return self.lag.stalled(now, self.cfg.stalled_after_s)

    def _silent_sources(self, now: float) -> list[Finding]:
        cfg = self.cfg
        since = datetime.fromtimestamp(now - cfg.silence_lookback_s, UTC)
        found = []
        with self.sessions() as s:
            for source in q.recent_sources(s, since - timedelta(hours=1)):
                hit = silent_source(source, q.arrivals(s, source, limit=50), now, cfg)
                if hit is not None:
                    found.append(hit)
        return found

    def evaluate(self) -> list[Change]:
        """One pass: run the checks, step every alert, record the changes. The new states are
        kept only once recorded, so a pass that could not record is simply done again."""
        if not self.restored:
            self.restore()
        now = self.clock()
        found = {(f.rule, f.key): f for f in self.findings(now)}
        keys = set(found) | {k for k, st in self.states.items() if st.state != "inactive"}
        states, changes = dict(self.states), []
        for name, key in sorted(keys):
            rule, f = self.rules[name], found.get((name, key))
            st = states.get((name, key)) or AlertState(
                rule=name, key=key, fingerprint=fingerprint(name, rule.scope, key))
            obs = Observation(value=f.value if f else 0.0, score=1.0 if f else 0.0, baseline=None,
                              window_start=now - rule.window, window_end=now, counts={}, count=1)
            states[(name, key)], transitions = step(rule, st, obs, now)
            told = rule.model_copy(update={"labels": {**rule.labels,
                                                      "reason": f.reason if f else "cleared"}})
            changes += [Change(told, key, st.fingerprint, obs, t) for t in transitions]
        if changes:
            self.recorder.record(changes)
        self.states = {k: v for k, v in states.items() if v.state != "inactive"}
        return changes

    def run(self, stop: threading.Event) -> None:
        log.info("watchdog: checking every %s (heartbeat every %s)",
                 format_duration(self.cfg.check_every_s), format_duration(self.cfg.heartbeat_every_s))
        while not stop.is_set():
            try:
                self.evaluate()
            except Exception:  # the database is away: try again next pass
                log.exception("watchdog pass failed; retrying in %s", format_duration(self.cfg.check_every_s))
            stop.wait(self.cfg.check_every_s)


def start_watchdog(watchdog: Watchdog, stop: threading.Event) -> threading.Thread:
    t = threading.Thread(target=watchdog.run, args=(stop,), name="finpulse-watchdog", daemon=True)
    t.start()
    return t
