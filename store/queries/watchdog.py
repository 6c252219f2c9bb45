"""What the watchdog (``alerts/watchdog.py``) reads and writes: part restarts, when each source
last delivered, and the watchdog's own open alerts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import tables as m

# The watchdog's checks (alerts/watchdog.py), each an alert rule of its own, and what each
# means to a reader of the Pipeline health page.
HEARTBEAT = "finpulse-watchdog"
CRASH_LOOP = "finpulse-crash-loop"
STALLED = "finpulse-consumer-stalled"
SILENT = "finpulse-source-silent"
CHECKS = {
    HEARTBEAT: "Heartbeat",
    CRASH_LOOP: "Crash loops",
    STALLED: "Stalled consumer groups",
    SILENT: "Silent sources",
}


def record_restart(session: Session, *, part: str, host: str, exit_code: int | None,
                   at: datetime) -> None:
    session.add(m.PartRestart(part=part[:64], host=host[:200], exit_code=exit_code, at=at))


def restarts_since(session: Session, since: datetime) -> list[dict[str, Any]]:
    """Per part: restarts since ``since``, the last one's time and exit code."""
    r = m.PartRestart
    counts = (select(r.part, func.count().label("n"), func.max(r.at).label("last"))
              .where(r.at >= since).group_by(r.part).order_by(r.part))
    out = []
    for row in session.execute(counts):
        code = session.scalar(select(r.exit_code).where(r.part == row.part, r.at == row.last).limit(1))
        out.append({"part": row.part, "n": row.n, "last": row.last, "exit_code": code})
    return out


def recent_sources(session: Session, since: datetime) -> list[str]:
    """Sources with articles published since ``since`` (read from the hourly rollups)."""
    ru = m.Rollup
    stmt = (select(ru.key).where(ru.grain == "hour", ru.dim == "source", ru.bucket >= since)
            .distinct().order_by(ru.key))
    return list(session.scalars(stmt))


def arrivals(session: Session, source: str, *, limit: int) -> list[datetime]:
    """When the source's newest ``limit`` articles were stored, newest first."""
    a = m.Article
    stmt = select(a.stored_at).where(a.source == source).order_by(a.stored_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def open_alerts(session: Session, rules: Iterable[str]) -> list[m.Alert]:
    """The alerts of ``rules`` that are pending or firing."""
    stmt = select(m.Alert).where(m.Alert.rule.in_(list(rules)),
                                 m.Alert.state.in_(("pending", "firing")))
    return list(session.scalars(stmt.order_by(m.Alert.rule, m.Alert.key)))


def watchdog_status(session: Session) -> list[dict[str, Any]]:
    """The watchdog's open alerts (and the heartbeat's), newest update first."""
    return [{"rule": a.rule, "key": a.key, "state": a.state, "severity": a.severity,
             "reason": (a.labels or {}).get("reason", ""), "since": a.started_at,
             "updated": a.updated_at} for a in open_alerts(session, CHECKS)]
