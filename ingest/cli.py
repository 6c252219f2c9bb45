"""``finpulse ingest`` and ``finpulse sources check|status``: parse, build settings, call one
function.

Each handler imports the module that does its work when it is called: the crawler, the replay
and the status table pull in trafilatura, Kafka and SQLAlchemy (about a second), which
``finpulse --help`` and the other parts' commands should not wait for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finpulse.errors import ConfigError
from finpulse.lifecycle import stop_on_signals
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser(
        "ingest", help="crawl the sources onto news.raw (or replay a file, or run once to JSONL)"
    )
    ingest.add_argument("--sources", type=Path, default=None, help="sources file (default: settings)")
    ingest.add_argument("--once", action="store_true", help="fetch every source once and exit")
    ingest.add_argument("--output", type=Path, default=None,
                        help="with --once: write articles to this JSON-lines file, not Kafka")
    ingest.add_argument("--allow-private", action="store_true", default=None,
                        help="allow loopback and private addresses (also a setting)")
    ingest.add_argument("--replay", type=Path, default=None, metavar="FILE",
                        help="replay one CSV/JSONL file onto news.raw and exit")
    ingest.add_argument("--demo", action="store_true",
                        help="replay the seed data's texts onto news.raw, looping")
    ingest.add_argument("--rate", type=float, default=None, metavar="R",
                        help="replay: articles per second (default: ingest.demo_rate_per_s; 0: "
                        "as fast as possible)")
    ingest.add_argument("--limit", type=int, default=None, metavar="N", help="replay: at most N")
    ingest.add_argument("--loop", action="store_true", help="replay: start again at the end")
    ingest.add_argument("--speed", type=float, default=1.0,
                        help="replay with --timestamps shift: time runs this many times faster")
    ingest.add_argument("--timestamps", choices=("live", "shift"), default="live",
                        help="replay: 'live' stamps rows now; 'shift' keeps the file's spacing")
    ingest.set_defaults(handler=_ingest)

    sources = sub.add_parser("sources", help="the ingest sources")
    sources_sub = sources.add_subparsers(dest="action", required=True)
    check = sources_sub.add_parser("check", help="validate the sources file and reach each once")
    check.add_argument("--sources", type=Path, default=None)
    check.add_argument("--allow-private", action="store_true", default=None)
    check.set_defaults(handler=_sources_check)
    status = sources_sub.add_parser("status", help="per source: last success, counts, HTTP codes")
    status.set_defaults(handler=_sources_status)


def _settings_for(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with this command's --sources / --allow-private applied."""
    changes = {}
    if getattr(args, "sources", None) is not None:
        changes["sources_file"] = args.sources
    if getattr(args, "allow_private", None):
        changes["allow_private"] = True
    if not changes:
        return settings
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=changes)})


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    settings = _settings_for(args, settings)
    rate = settings.ingest.demo_rate_per_s if args.rate is None else (args.rate or None)
    if args.replay is not None:
        from ingest.replay import publish_replay

        count = publish_replay(
            settings, args.replay, rate_per_s=rate, limit=args.limit, loop=args.loop,
            stop=stop_on_signals(), speed=args.speed, timestamps=args.timestamps,
        )
        print(f"replayed {count} articles from {args.replay} to {settings.kafka.topics.raw}")
        return 0
    if args.demo:
        from ingest.demo import publish_demo

        count = publish_demo(settings, stop=stop_on_signals(), rate_per_s=rate, limit=args.limit)
        print(f"demo: {count} articles to {settings.kafka.topics.raw}")
        return 0
    if args.output is not None and not args.once:
        raise ConfigError("--output is only for --once (the continuous crawler publishes to Kafka)")
    if args.once:
        from ingest.run import run_once

        summary = run_once(settings, output=args.output)
        print(summary.line(), file=sys.stderr)
        return 0 if summary.sources_failed == 0 else 1
    from ingest.run import run_forever

    run_forever(settings, stop_on_signals())
    return 0


def _sources_check(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.check import check_sources

    return check_sources(_settings_for(args, settings))


def _sources_status(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.status import print_status

    return print_status(settings)
