"""``finpulse shadow`` (the shadow scorer) and ``finpulse models shadow [VERSION | --stop]``."""

from __future__ import annotations

import argparse

from finpulse.errors import ConfigError
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("shadow", help="score news.classified with the challenger in shadow, beside "
                                  "the champion (idles while there is none)").set_defaults(handler=_shadow)


def add_models_command(msub: argparse._SubParsersAction) -> None:
    sh = msub.add_parser("shadow", help="put a challenger in shadow (it scores the live stream beside "
                                        "the champion), end it, or show it (no argument)")
    sh.add_argument("version", nargs="?", help="the challenger to put in shadow")
    sh.add_argument("--stop", action="store_true", help="end the shadow (the challenger is not promoted)")
    sh.add_argument("--auto-promote", action="store_true",
                    help="let `finpulse retrain --watch` promote it once the shadow period is over "
                         "(model.shadow_min_minutes and model.shadow_min_articles)")
    sh.set_defaults(handler=_models_shadow)


def _shadow(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.shadow import run_shadow
    from finpulse.lifecycle import stop_on_signals

    run_shadow(settings, stop_on_signals())
    return 0


def _models_shadow(args: argparse.Namespace, settings: Settings) -> int:
    from classifier import registry

    if args.stop and (args.version or args.auto_promote):
        raise ConfigError("give a VERSION to put in shadow, or --stop, not both")
    if args.stop:
        stopped = registry.stop_shadow(settings)
        print(f"shadow ended: {stopped} (not promoted)" if stopped else "no challenger was in shadow")
    elif args.version:
        run = registry.start_shadow(settings, args.version, promote_after=args.auto_promote)
        print(f"shadow: {run['version']} beside champion {run['champion']} since "
              f"{run['started_at']:%Y-%m-%d %H:%M:%S} UTC; {plan(settings, run['promote_after'])}")
    else:
        report = registry.shadow_report(settings)
        print("\n".join(report_lines(report)) if report else "no challenger in shadow")
    return 0


def plan(settings: Settings, promote_after: bool) -> str:
    if not promote_after:
        return "observe only: promote it by hand (`finpulse models promote`)"
    m = settings.model
    return (f"promoted by `finpulse retrain --watch` after {m.shadow_min_minutes:g} minutes and "
            f"{m.shadow_min_articles} articles in shadow")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def report_lines(r: dict) -> list[str]:
    """The open shadow run as ``finpulse models shadow`` prints it."""
    a = r["agreement"]
    lines = [f"shadow: {r['version']} beside champion {r['champion']} since "
             f"{r['started_at']:%Y-%m-%d %H:%M:%S} UTC (started by {r['started_by']})",
             f"scored {r['scored']} article(s) in {r['minutes']:.0f} min; agreement: topic "
             f"{_pct(a['topic'])}, sentiment {_pct(a['sentiment'])}, both {_pct(a['both'])}"]
    if not r["promote_after"]:
        lines.append("observe only: promote it by hand (`finpulse models promote`)")
    elif r["due"]:
        lines.append("shadow period over: `finpulse retrain --watch` promotes it at its next check")
    else:
        lines.append(f"promoted automatically after {r['min_minutes']:g} min and {r['min_articles']} "
                     f"articles (so far {r['minutes']:.0f} min, {r['scored']} articles)")
    return lines
