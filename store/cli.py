"""``finpulse db upgrade|current`` and ``finpulse sink``.

Each handler imports the module that does its work when it is called: the migrations pull in
Alembic and the sink Kafka and SQLAlchemy (about half a second each), which ``finpulse --help``
and the other parts' commands should not wait for.
"""

from __future__ import annotations

import argparse

from finpulse.lifecycle import stop_on_signals
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="the database schema")
    db_sub = db.add_subparsers(dest="action", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the newest").set_defaults(handler=_upgrade)
    db_sub.add_parser("current", help="print the schema revision").set_defaults(handler=_current)
    sub.add_parser("sink", help="write news.classified to the database").set_defaults(handler=_sink)


def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from store.migrate import current, upgrade

    upgrade(settings.database)
    print(f"database at revision {current(settings.database)}")
    return 0


def _current(args: argparse.Namespace, settings: Settings) -> int:
    from store.migrate import current

    print(current(settings.database) or "empty (run `finpulse db upgrade`)")
    return 0


def _sink(args: argparse.Namespace, settings: Settings) -> int:
    from store.sink import run_sink

    run_sink(settings, stop_on_signals())
    return 0
