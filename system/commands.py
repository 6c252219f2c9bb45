"""The system's own subcommands: ``config show``, ``broker start|stop|status``, ``init`` and
``up``. Like every handler (``system/cli.py``), these import what they run when they are called:
the broker brings kafka-python, ``init`` and ``up`` bring the store and the classifier.
"""

from __future__ import annotations

import argparse

import yaml

from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="show the effective settings")
    config_sub = config.add_subparsers(dest="action", required=True)
    config_sub.add_parser("show", help="print the effective settings, secrets redacted").set_defaults(
        handler=_config_show
    )

    broker = sub.add_parser("broker", help="the local single-node Kafka broker (KRaft)")
    broker_sub = broker.add_subparsers(dest="action", required=True)
    broker_sub.add_parser("start", help="resolve, format and start; harmless if running").set_defaults(
        handler=_broker_start
    )
    broker_sub.add_parser("stop", help="stop the local broker").set_defaults(handler=_broker_stop)
    broker_sub.add_parser("status", help="is it up, and which topics").set_defaults(
        handler=_broker_status
    )

    init = sub.add_parser(
        "init", help="make the infrastructure ready: topics (or the local broker), migrations"
    )
    init.add_argument("--model", action="store_true",
                      help="also make sure a champion model exists (trains the default if none)")
    init.set_defaults(handler=_init)

    up = sub.add_parser("up", help="run the whole system on this machine")
    up.add_argument("--no-demo", action="store_true", help="do not replay the seed data")
    up.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    up.set_defaults(handler=_up)


def _config_show(args: argparse.Namespace, settings: Settings) -> int:
    print(yaml.safe_dump(settings.redacted(), sort_keys=False), end="")
    return 0


def _broker_start(args: argparse.Namespace, settings: Settings) -> int:
    from system import broker

    broker.start(settings.kafka)
    print(f"kafka broker up at {settings.kafka.bootstrap_servers}")
    return 0


def _broker_stop(args: argparse.Namespace, settings: Settings) -> int:
    from system import broker

    print("stopped" if broker.stop(settings.kafka) else "no local broker was running")
    return 0


def _broker_status(args: argparse.Namespace, settings: Settings) -> int:
    from system import broker

    st = broker.status(settings.kafka)
    print(f"{'up' if st.running else 'down'}: {st.bootstrap} ({st.detail})")
    if st.topics:
        print("topics: " + ", ".join(sorted(st.topics)))
    return 0 if st.running else 1


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from system.up import ensure_model, prepare_infrastructure

    prepare_infrastructure(settings)
    print(f"kafka topics ready at {settings.kafka.bootstrap_servers}; database migrated")
    if args.model:
        ensure_model(settings)
    return 0


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from system.up import run_up

    return run_up(settings, demo=not args.no_demo, dashboard=not args.no_dashboard)
