"""``finpulse alerts`` (run the worker), ``alerts check-rules``, ``alerts test-webhook``,
``alerts redeliver``, ``alerts backtest`` and ``alerts silence``.

Each handler imports the module that does its work when it is called: the worker pulls in
faust and Kafka, the commands httpx and SQLAlchemy (about a second together), which
``finpulse --help`` and the other parts' commands should not wait for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finpulse.lifecycle import stop_on_signals
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    alerts = sub.add_parser("alerts", help="spike alerts: run the worker, or a subcommand")
    alerts.set_defaults(handler=_run)
    a = alerts.add_subparsers(dest="action", metavar="ACTION")
    a.add_parser("run", help="run the alerts worker (the default)").set_defaults(handler=_run)

    check = a.add_parser("check-rules", help="validate a rules file")
    check.add_argument("file", nargs="?", type=Path, help="default: settings alerts.rules_file")
    check.set_defaults(handler=_check_rules)

    test = a.add_parser("test-webhook", help="send a sample alert through the delivery path")
    test.add_argument("--url", required=True)
    test.add_argument("--secret", default=None, help="whsec_… secret to sign with")
    test.add_argument("--format", default="finpulse", choices=["finpulse", "slack", "alertmanager"])
    test.add_argument("--timeout", type=float, default=5.0, help="seconds per attempt")
    test.set_defaults(handler=_test_webhook)

    redeliver = a.add_parser("redeliver", help="resend an alert's webhooks")
    redeliver.add_argument("alert_id")
    redeliver.add_argument("--all", action="store_true", help="also those already delivered")
    redeliver.set_defaults(handler=_redeliver)

    bt = a.add_parser("backtest", help="replay stored history through rules")
    bt.add_argument("--rules", required=True, type=Path)
    bt.add_argument("--since", default=None, help="ISO time or a duration ago (e.g. 7d)")
    bt.add_argument("--until", default=None, help="ISO time")
    bt.set_defaults(handler=_backtest)

    sil = a.add_parser("silence", help="silence a rule and/or scope key for a while")
    sil.add_argument("--rule", default=None, help="default: every rule")
    sil.add_argument("--key", default=None, help="default: every scope key")
    sil.add_argument("--for", dest="duration", required=True, help="e.g. 2h")
    sil.add_argument("--reason", default="")
    sil.add_argument("--by", default="cli")
    sil.set_defaults(handler=_silence)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.runner import run_alerts

    run_alerts(settings, stop_on_signals())
    return 0


def _check_rules(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.commands import check_rules

    return check_rules(args.file or settings.alerts.rules_file, settings)


def _test_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.commands import test_webhook

    return test_webhook(settings, url=args.url, secret=args.secret, fmt=args.format,
                        timeout_s=args.timeout)


def _redeliver(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.commands import redeliver

    return redeliver(settings, args.alert_id, include_delivered=args.all)


def _backtest(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.commands import run_backtest

    return run_backtest(settings, args.rules, since=args.since, until=args.until)


def _silence(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.commands import silence

    return silence(settings, rule=args.rule, key=args.key, duration=args.duration,
                   reason=args.reason, by=args.by)
