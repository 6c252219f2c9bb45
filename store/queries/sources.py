"""Per-source ingest status (table ``source_status``): written by the crawler after each poll,
read by ``finpulse sources status`` and the dashboard. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import tables as m
from store.upsert import upsert

STATUS_COLUMNS = ("name", "type", "last_attempt", "last_success", "found", "new", "duplicate",
                  "failed", "http_status", "last_error", "not_article", "last_not_article")


def save_source_status(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or overwrite one row per source (counters are cumulative totals, not deltas)."""
    clean = [{c: row.get(c) for c in STATUS_COLUMNS} for row in rows]
    for row in clean:
        row["http_status"] = dict(row["http_status"] or {})
        for counter in ("found", "new", "duplicate", "failed", "not_article"):
            row[counter] = int(row[counter] or 0)
    upsert(session, m.SourceStatus.__table__, clean, keys=["name"])


def list_source_status(session: Session) -> list[dict[str, Any]]:
    """Every source's status, by name."""
    rows = session.execute(select(m.SourceStatus).order_by(m.SourceStatus.name)).scalars()
    return [{c: getattr(r, c) for c in STATUS_COLUMNS} for r in rows]
