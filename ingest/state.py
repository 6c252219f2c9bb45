"""The crawler's own persistent state: a SQLite file in ``ingest.state_dir``.

What was published (by article id and by the URLs that led to it), HTTP validators for
conditional GETs, and the MinHash signatures of recent articles for near-duplicate detection.
Survives restarts, so nothing is published twice. Single-threaded use (the crawler's loop).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.fetch import Validators

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, source TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen_urls (url TEXT PRIMARY KEY, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT);
CREATE TABLE IF NOT EXISTS signatures (id TEXT PRIMARY KEY, sig BLOB NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS signatures_at ON signatures (at);
"""


class CrawlState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.db.commit()

    @classmethod
    def in_dir(cls, state_dir: Path) -> CrawlState:
        return cls(state_dir / "crawl-state.sqlite3")

    def close(self) -> None:
        self.db.close()

    def seen_id(self, article_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM seen WHERE id = ?", (article_id,)).fetchone() is not None

    def seen_url(self, url: str) -> bool:
        return self.db.execute("SELECT 1 FROM seen_urls WHERE url = ?", (url,)).fetchone() is not None

    def mark_seen(self, items: Iterable[tuple[str, str, list[str]]]) -> None:
        """Record ``(article id, source, urls that led to it)`` once publishing is durable."""
        now = time.time()
        with self.db:
            for article_id, source, urls in items:
                self.db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (article_id, source, now))
                self.db.executemany(
                    "INSERT OR IGNORE INTO seen_urls VALUES (?, ?)", [(u, article_id) for u in urls]
                )

    def validators(self, url: str) -> Validators | None:
        row = self.db.execute(
            "SELECT etag, last_modified FROM validators WHERE url = ?", (url,)
        ).fetchone()
        return Validators(*row) if row else None

    def save_validators(self, url: str, validators: Validators) -> None:
        if not (validators.etag or validators.last_modified):
            return
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO validators VALUES (?, ?, ?)",
                (url, validators.etag, validators.last_modified),
            )

    def save_signatures(self, items: Iterable[tuple[str, bytes]]) -> None:
        now = time.time()
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO signatures VALUES (?, ?, ?)", [(i, s, now) for i, s in items]
            )

    def recent_signatures(self, max_age_s: float) -> Iterator[tuple[str, bytes]]:
        """Signatures younger than ``max_age_s``, oldest first; older ones are deleted."""
        cutoff = time.time() - max_age_s
        with self.db:
            self.db.execute("DELETE FROM signatures WHERE at < ?", (cutoff,))
        yield from self.db.execute("SELECT id, sig FROM signatures ORDER BY at")
