"""The ``finpulse`` command line: parse, build settings, call one function.

Each part contributes its subcommands through an ``add_commands(subparsers)`` function in its
own ``cli`` module (``ingest/cli.py``, ``classifier/cli.py``, …; ``system/commands.py`` for
``config``, ``broker``, ``init`` and ``up``). A subcommand's handler has the signature
``handler(args, settings) -> int`` and imports what it runs (its part, torch, streamlit)
inside itself, so ``finpulse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence

from finpulse.errors import FinpulseError
from finpulse.lifecycle import configure_logging, follow_supervisor
from finpulse.settings import Settings

PART_CLIS = ("system.commands", "store.cli", "ingest.cli", "classifier.cli",
             "alerts.cli", "dashboard.cli", "api.cli")

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finpulse",
        description="Watches financial news as it is published and tells analysts what the "
        "market is saying, and when it changes.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default: settings)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in PART_CLIS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a part without commands yet
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    follow_supervisor(os.environ)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
        configure_logging(args.log_level or settings.log_level)
        handler: Handler = args.handler
        return handler(args, settings)
    except FinpulseError as exc:
        print(f"finpulse {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
