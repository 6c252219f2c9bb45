"""Per-source status in the database (``source_status``) and ``finpulse sources status``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from finpulse.errors import ConfigError
from finpulse.schemas import utcnow
from finpulse.settings import DatabaseSettings, Settings
from ingest.stats import SourceStats
from store.db import session_factory
from store.queries.sources import list_source_status, save_source_status

log = logging.getLogger(__name__)


def to_row(st: SourceStats) -> dict:
    return {
        "name": st.name, "type": st.type, "last_attempt": st.last_attempt,
        "last_success": st.last_success, "found": st.found, "new": st.new,
        "duplicate": st.duplicate, "failed": st.failed, "http_status": dict(st.http_status),
        "last_error": st.last_error, "not_article": st.not_article,
        "last_not_article": st.last_not_article,
    }


def from_row(row: dict) -> SourceStats:
    return SourceStats(
        name=row["name"], type=row["type"], found=row["found"] or 0, new=row["new"] or 0,
        duplicate=row["duplicate"] or 0, failed=row["failed"] or 0,
        http_status=Counter(row["http_status"] or {}), last_attempt=row["last_attempt"],
        last_success=row["last_success"], last_error=row["last_error"],
        not_article=row.get("not_article") or 0, last_not_article=row.get("last_not_article"),
    )


def load_status(db: DatabaseSettings) -> list[SourceStats]:
    with session_factory(db).begin() as session:
        return [from_row(r) for r in list_source_status(session)]


def save_status(db: DatabaseSettings, stats: Iterable[SourceStats]) -> None:
    with session_factory(db).begin() as session:
        save_source_status(session, [to_row(s) for s in stats])


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def format_table(stats: list[SourceStats], now: datetime) -> str:
    header = ("source", "type", "last success", "found", "new", "dup", "failed", "not article", "http",
              "last error (or latest page refused as not an article)")
    rows = [header]
    for st in stats:
        http = " ".join(f"{k}:{v}" for k, v in sorted(st.http_status.items()))
        rows.append((st.name, st.type, _ago(st.last_success, now), str(st.found), str(st.new),
                     str(st.duplicate), str(st.failed), str(st.not_article), http or "-",
                     (st.last_error or st.last_not_article or "")[:80]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in rows
    )


def print_status(settings: Settings) -> int:
    try:
        stats = load_status(settings.database)
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot read source status from {settings.database.url} "
                          f"(run `finpulse db upgrade`?): {exc}") from exc
    if not stats:
        print("no source has been polled yet (is `finpulse ingest` running?)")
        return 0
    print(format_table(stats, utcnow()))
    return 0
