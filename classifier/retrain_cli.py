"""``finpulse retrain`` and ``finpulse labels import|export|stats`` (torch imported lazily)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from finpulse.errors import ConfigError
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    rt = sub.add_parser("retrain", help="train a challenger on seed data + analyst labels; "
                                        "promote it only if it is better")
    rt.add_argument("--from", dest="start", choices=["champion", "base"], default="champion",
                    help="start from the champion's weights (default) or the base encoder")
    rt.add_argument("--epochs", type=int, default=2)
    rt.add_argument("--limit", type=int, help="sample N seed training rows (analyst labels: all)")
    rt.add_argument("--tolerance", type=float, help="largest allowed drop per task and slice "
                                                    "(default: settings model.retrain_tolerance)")
    rt.add_argument("--min-gain", type=float, help="gain needed on one task (default: settings)")
    rt.add_argument("--holdout-fraction", type=float, help="share of analyst-labelled articles "
                                                           "held out (default: settings)")
    rt.add_argument("--data", help="seed data folder (default: settings model.seed_data)")
    rt.add_argument("--lr", type=float, help="learning rate (default: the champion's)")
    rt.add_argument("--max-length", type=int, help="tokens (default: the champion's)")
    rt.add_argument("--dry-run", action="store_true",
                    help="train and evaluate, print the report, register and promote nothing")
    rt.add_argument("--shadow", action=argparse.BooleanOptionalAction, default=None,
                    help="put a challenger that passed the gate in shadow (it scores the live stream "
                         "beside the champion) instead of promoting it at once; promoted after the "
                         "shadow period by --watch (default: settings model.retrain_shadow)")
    rt.add_argument("--watch", action="store_true",
                    help="keep running: retrain whenever dashboard.retrain_after_labels new labels "
                         "arrived, and promote a challenger in shadow once its shadow period is over")
    rt.set_defaults(handler=_retrain)

    labels = sub.add_parser("labels", help="analyst labels: import, export, agreement")
    lsub = labels.add_subparsers(dest="action", required=True)
    imp = lsub.add_parser("import", help="import labels from CSV (article_id or text, task, label, "
                                         "labeled_by, labeled_at); a text alone labels the stored "
                                         "article with that text, if any")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_labels_import)
    exp = lsub.add_parser("export", help="export every label to CSV")
    exp.add_argument("file", type=Path)
    exp.set_defaults(handler=_labels_export)
    st = lsub.add_parser("stats", help="label counts and inter-analyst agreement")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(handler=_labels_stats)


def _config(args: argparse.Namespace):
    from classifier.retrain import RetrainConfig

    return RetrainConfig(start=args.start, epochs=args.epochs, limit=args.limit,
                         tolerance=args.tolerance, min_gain=args.min_gain,
                         holdout_fraction=args.holdout_fraction, data=args.data, lr=args.lr,
                         max_length=args.max_length, dry_run=args.dry_run, shadow=args.shadow)


def _retrain(args: argparse.Namespace, settings: Settings) -> int:
    from store.migrate import upgrade

    upgrade(settings.database)
    if args.watch:
        from classifier.autoretrain import run_autoretrain
        from finpulse.lifecycle import stop_on_signals

        run_autoretrain(settings, stop_on_signals(), cfg=_config(args))
        return 0
    from classifier.retrain import retrain

    retrain(settings, _config(args))
    return 0


@contextmanager
def _transaction(settings: Settings) -> Iterator:
    """A session in a transaction; database errors become ``ConfigError`` naming the URL."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.db import session_factory

    try:
        with session_factory(settings.database).begin() as session:
            yield session
    except SQLAlchemyError as exc:
        raise ConfigError(f"database {settings.database.url} unavailable (run `finpulse db "
                          f"upgrade`?): {exc}") from exc


def _labels_import(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.label_io import import_rows, read_labels_csv
    from store.queries.label_admin import articles_by_text, import_labels

    now = datetime.now(UTC)
    records = read_labels_csv(args.file, now)
    text_only = [r.text for r in records if r.article_id is None]
    with _transaction(settings) as session:
        matched = articles_by_text(session, text_only)
        rows = import_rows(records, matched)
        result = import_labels(session, rows, now=now)
    print(f"{args.file}: {len(rows)} label(s): {result.inserted} new, {result.replaced} replaced, "
          f"{result.kept} kept (a newer label was stored), {result.new_articles} new article(s); "
          f"{sum(t in matched for t in text_only)} text-only label(s) matched a stored article")
    return 0


def _labels_export(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.label_io import write_labels_csv
    from store.queries.label_admin import export_rows

    with _transaction(settings) as session:
        rows = export_rows(session)
    print(f"{args.file}: {write_labels_csv(args.file, rows)} label(s) written")
    return 0


def _labels_stats(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.labelset import label_stats
    from store.queries.label_admin import label_rows

    with _transaction(settings) as session:
        stats = label_stats(label_rows(session))
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print("conflicts: latest label per analyst, then the majority, ties to the most recent label")
    for task, s in stats.items():
        print(f"{task}: {s['labels']} label(s) on {s['items']} article(s) by {s['analysts']} "
              f"analyst(s); {s['multi_rated']} labelled by 2+, {s['conflicting']} in conflict; "
              f"agreement {_pct(s['percent_agreement'])}, Fleiss' kappa {_num(s['fleiss_kappa'])}")
        for p in s["pairs"]:
            print(f"  {p['a']} / {p['b']}: {p['items']} shared, agreement {_pct(p['agreement'])}, "
                  f"Cohen's kappa {_num(p['cohen_kappa'])}")
    return 0


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
