"""Engines and sessions. Cache the Engine (one per URL per process), never a Session:
query functions take the caller's Session, and the caller owns the transaction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from finpulse.errors import ConfigError
from finpulse.settings import DatabaseSettings

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _engine_for(url: str, echo: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # DB-API connection
    # WAL lets the dashboard read while the sink writes; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # No PRAGMA optimize (before 3.46 a full ANALYZE): the dashboard's queries are shaped for
    # the planner without statistics, and with them one search ran 90x slower
    # (bench/dashboard_queries.py --sqlite-optimize).
    cur.close()


def get_engine(db: DatabaseSettings) -> Engine:
    """The process's engine for ``db.url`` (cached)."""
    return _engine_for(db.url, db.echo)


def session_factory(db: DatabaseSettings) -> sessionmaker[Session]:
    return sessionmaker(get_engine(db), expire_on_commit=False)


@contextmanager
def transaction(db: DatabaseSettings) -> Iterator[Session]:
    """A session in one transaction, for a command: a database error becomes a ``ConfigError``
    naming the URL, which the CLI prints without a traceback."""
    try:
        with session_factory(db).begin() as session:
            yield session
    except SQLAlchemyError as exc:
        raise ConfigError(f"database {db.url} unavailable (run `finpulse db upgrade`?): {exc}") from exc


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def retry_while_unavailable(write: Callable[[], None], stop: threading.Event, what: str = "database") -> None:
    """Call ``write`` until it succeeds, backing off (0.5 s doubling to 30 s) while the database
    is unreachable or locked (``OperationalError``); once ``stop`` is set the error is raised.
    Any other error propagates at once: it is not the database's availability."""
    delay = 0.5
    while True:
        try:
            write()
            return
        except OperationalError as exc:
            if stop.is_set():
                raise
            log.warning("%s unavailable (%s); retrying in %.1fs", what, exc.orig, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30)
