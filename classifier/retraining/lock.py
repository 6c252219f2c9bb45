"""One retraining at a time, across processes (CLI, ``--watch``, the dashboard's button).

On PostgreSQL the lock is a session-level advisory lock held on its own connection, so workers
on several machines sharing the database exclude each other; on SQLite (one machine) it is an
exclusive ``flock`` on ``<var_dir>/retrain.lock``. Both are released when the holder exits,
even by ``kill -9``.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from finpulse.errors import RetryableError
from finpulse.settings import Settings
from store.db import get_engine

ADVISORY_KEY = 0x46505254  # "FPRT": finpulse retrain


class RetrainBusy(RetryableError):
    """Another retraining holds the lock."""


@contextmanager
def _file_lock(settings: Settings) -> Iterator[None]:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    path = settings.var_dir / "retrain.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RetrainBusy(f"another retraining is running (lock file {path})") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(settings: Settings) -> Iterator[None]:
    with get_engine(settings.database).connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar_one()
        conn.commit()
        if not got:
            raise RetrainBusy("another retraining is running (PostgreSQL advisory lock held)")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()


def retrain_lock(settings: Settings):  # a context manager
    """Hold the retraining lock for the ``with`` block; ``RetrainBusy`` if it is taken."""

    if make_url(settings.database.url).get_backend_name() == "postgresql":
        return _advisory_lock(settings)
    return _file_lock(settings)
