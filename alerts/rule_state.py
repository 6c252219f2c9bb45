"""The rule engine's state, over three mutable mappings: bucket aggregates keyed
``"<fingerprint>|<bucket start>"``, alert states keyed by fingerprint, and the articles
already counted, keyed ``"<fingerprint>|<article id>"``. The live worker passes faust tables
(changelog-backed, so a restarted worker recovers all three); the backtest and the unit tests
pass plain dicts. Same code, same answers.

Counted articles are remembered only while they could still be counted: an article published
before a rule's window plus the allowed lateness is refused as late anyway. So the memory of
a replay is bounded by the rate times that span, and a bucket is a few counters, written in
constant size however many articles it holds (it used to carry every article id, for the
rule's whole horizon: the alerts worker grew by a quarter in ten minutes at 100 articles/s,
and rewrote ever larger buckets to its changelog on every article)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from alerts.aggregate import Contribution, Counts, add, bucket_of
from alerts.detectors import baseline_anchor, baseline_values, current_window, observe
from alerts.lifecycle import AlertState, step
from alerts.metrics import evidence_rank
from alerts.pipeline import Change
from alerts.rules import Rule, RuleSet

log = logging.getLogger(__name__)
Store = MutableMapping[Any, Any]


class RuleEngine:
    def __init__(self, rules: RuleSet, buckets: Store, states: Store, *, lateness_s: float,
                 counted: Store | None = None) -> None:
        self.rules = {r.name: r for r in rules.rules}
        self.buckets, self.states, self.lateness_s = buckets, states, lateness_s
        self.counted: Store = counted if counted is not None else {}
        self.late = 0
        # Baselines change only when the window moves or the key gets an article: cache them
        # (in memory; rebuilt from the tables after a restart).
        self._versions: dict[str, int] = {}
        self._baselines: dict[str, tuple[float, int, list[float]]] = {}

    def ingest(self, c: Contribution, now: float, partition: int = 0) -> bool:
        """Count one contribution into its bucket; False if too late, unknown or a replay.
        Articles dated in the future count as published now."""
        rule = self.rules.get(c.rule)
        if rule is None:
            return False
        published = min(c.published, now)
        if published < now - rule.window - self.lateness_s:
            self.late += 1
            log.debug("late article %s for %s (published %.0fs ago)", c.evidence["article_id"],
                      c.rule, now - published)
            return False
        mark = f"{c.fingerprint}|{c.evidence['article_id']}"
        if mark in self.counted:  # a replay: it counts once
            return False
        key = f"{c.fingerprint}|{bucket_of(published, rule.bucket_s)}"
        counts = Counts.from_json(self.buckets.get(key))
        add(counts, c, evidence_rank(rule.metric))
        self.buckets[key] = counts.to_json()
        self.counted[mark] = published
        if published < baseline_anchor(rule, current_window(rule, now)[0]):  # a late one
            self._versions[c.fingerprint] = self._versions.get(c.fingerprint, 0) + 1
        raw = self.states.get(c.fingerprint)
        if raw is None:
            st = AlertState(rule=c.rule, key=c.key, fingerprint=c.fingerprint, partition=partition,
                            first_seen=published)
            self.states[c.fingerprint] = st.to_json()
        elif raw.get("first_seen") is None or published < raw["first_seen"]:
            self.states[c.fingerprint] = {**raw, "first_seen": published}
        return True

    def evaluate(self, fp: str, now: float) -> list[Change]:
        """Run one alert's rule at ``now``; store its new state; return its changes."""
        raw = self.states.get(fp)
        if raw is None:
            return []
        st = AlertState.from_json(raw)
        rule = self.rules.get(st.rule)
        if rule is None:
            return []

        def lookup(start: int) -> Counts | None:
            return self._bucket(fp, start)

        obs = observe(rule, lookup, now, known_since=st.first_seen,
                      history=lambda start: self._baseline(rule, fp, lookup, start, st.first_seen))
        new, transitions = step(rule, st, obs, now)
        if new != st:
            self.states[fp] = new.to_json()
        return [Change(rule, st.key, fp, obs, t) for t in transitions]

    def evaluate_all(self, now: float, partition: int | None = None) -> list[Change]:
        """Evaluate every alert (of one partition), quiet ones included: windows close on
        time whether or not new articles arrive."""
        changes: list[Change] = []
        for fp in self._fingerprints(partition):
            changes.extend(self.evaluate(fp, now))
        return changes

    def expire(self, now: float, partition: int | None = None) -> int:
        """Forget buckets older than their rule's horizon, articles too old to be counted
        again, and idle inactive alerts."""
        self._forget_counted(now, partition)
        dropped = 0
        live: set[str] = set()
        for key in list(self.buckets.keys()):
            fp, _, start = str(key).rpartition("|")
            st = self.states.get(fp)
            rule = self.rules.get(st["rule"]) if st else None
            if st is not None and partition is not None and st.get("partition") != partition:
                live.add(fp)
                continue
            if rule is None or float(start) + rule.bucket_s < now - rule.horizon_s - self.lateness_s:
                del self.buckets[key]
                dropped += 1
            else:
                live.add(fp)
        for fp in self._fingerprints(partition):
            if fp not in live and self.states[fp]["state"] == "inactive":
                del self.states[fp]
                self._baselines.pop(fp, None)
                self._versions.pop(fp, None)
        return dropped

    def _forget_counted(self, now: float, partition: int | None) -> None:
        for mark, published in list(self.counted.items()):
            fp = str(mark).rpartition("|")[0]
            st = self.states.get(fp)
            if st is not None and partition is not None and st.get("partition") != partition:
                continue
            rule = self.rules.get(st["rule"]) if st else None
            if rule is None or published < now - rule.window - self.lateness_s:
                del self.counted[mark]

    def _baseline(self, rule: Rule, fp: str, lookup: Any, start: float, since: float | None) -> list[float]:
        version, anchor = self._versions.get(fp, 0), baseline_anchor(rule, start)
        cached = self._baselines.get(fp)
        if cached is not None and cached[0] == anchor and cached[1] == version:
            return cached[2]
        values = baseline_values(rule, lookup, start, since)
        self._baselines[fp] = (anchor, version, values)
        return values

    def _fingerprints(self, partition: int | None) -> list[str]:
        return [fp for fp, st in list(self.states.items())
                if st is not None and (partition is None or st.get("partition") == partition)]

    def _bucket(self, fp: str, start: int) -> Counts | None:
        raw = self.buckets.get(f"{fp}|{start}")
        return Counts.from_json(raw) if raw else None
