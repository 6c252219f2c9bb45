"""The classifier's commands: ``finpulse classify | shadow | train | teacher | eval | predict``,
``finpulse models list | show | promote | rollback | shadow``, ``finpulse retrain`` and
``finpulse labels import | export | stats``.

Each handler imports what it runs when it is called: torch and transformers take seconds to
import, and ``finpulse --help`` or ``finpulse ingest`` must not pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from finpulse.errors import ConfigError
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    _add_serving_commands(sub)
    _add_retraining_commands(sub)


def _add_serving_commands(sub: argparse._SubParsersAction) -> None:
    classify = sub.add_parser("classify", help="classify news.raw into news.classified")
    classify.add_argument("--model", help="pin a version or folder (default: the champion, hot-swapped)")
    classify.set_defaults(handler=_classify)
    sub.add_parser("shadow", help="score news.classified with the challenger in shadow, beside "
                                  "the champion (idles while there is none)").set_defaults(handler=_shadow)

    train = sub.add_parser("train", help="fine-tune and register a new model version")
    train.add_argument("--base", help="base encoder: hub name or local folder (default: settings)")
    train.add_argument("--data", help="seed data folder or hub datasets (default: settings)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--max-length", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--seed", type=int)
    train.add_argument("--lexical-weight", type=float,
                       help="share of the n-gram part in the probabilities, 0 = encoder only (default 0.5)")
    train.add_argument("--frozen-layers", type=int,
                       help="freeze and cache the embeddings and this many lowest layers "
                            "(default 3; 0 trains all)")
    train.add_argument("--layers", type=int,
                       help="keep only the base encoder's lowest N layers: a faster, shallower model "
                            "(default: all; --frozen-layers then defaults to N // 2)")
    train.add_argument("--strip-urls", action=argparse.BooleanOptionalAction, default=None,
                       help="replace links with one word piece before the encoder reads a text (default: on)")
    train.add_argument("--soft-labels", metavar="FILE[,FILE]|packaged|none",
                       help="teachers' soft targets for texts without a label of their own: soft-label "
                            "files separated by commas (finpulse teacher; default: the shipped ones)")
    train.add_argument("--soft-weight", type=float, help="weight of the soft targets' loss (default 2)")
    train.add_argument("--limit", type=int, help="train on a sample of N rows (for tests)")
    train.add_argument("--promote", action=argparse.BooleanOptionalAction, default=None,
                       help="make it champion (default: only when there is none)")
    train.set_defaults(handler=_train)

    teacher = sub.add_parser("teacher", help="fine-tune a larger teacher on one task's rows and write "
                                             "its soft labels for the training texts (for finpulse train)")
    teacher.add_argument("--base", required=True, help="the teacher's encoder: hub name or local folder")
    teacher.add_argument("--out", required=True, help="the soft-label file to write (.json.gz)")
    teacher.add_argument("--task", choices=("sentiment", "topic"), default="sentiment",
                         help="the task the teacher learns and labels (default sentiment)")
    teacher.add_argument("--data", help="seed data folder (default: settings)")
    teacher.add_argument("--epochs", type=int, default=1)
    teacher.add_argument("--lr", type=float, default=5e-5)
    teacher.add_argument("--seed", type=int, default=13, help="the students' split seed (default 13)")
    teacher.add_argument("--limit", type=int, help="train on a sample of N rows (for tests)")
    teacher.set_defaults(handler=_teacher)

    ev = sub.add_parser("eval", help="score a model on a labelled CSV (prints one JSON object)")
    ev.add_argument("--task", required=True, choices=["sentiment", "topic"])
    ev.add_argument("--data", required=True, help="CSV with header text,label")
    ev.add_argument("--model", help="version or folder (default: the champion)")
    ev.set_defaults(handler=_eval)

    pr = sub.add_parser("predict", help="classify texts (arguments, or JSON lines on stdin)")
    pr.add_argument("texts", nargs="*")
    pr.add_argument("--model", help="version or folder (default: the champion)")
    pr.set_defaults(handler=_predict)

    models = sub.add_parser("models", help="the model registry")
    msub = models.add_subparsers(dest="action", required=True)
    msub.add_parser("list", help="all versions, newest first").set_defaults(handler=_models_list)
    show = msub.add_parser("show", help="one version's metrics and manifest")
    show.add_argument("version")
    show.set_defaults(handler=_models_show)
    promote = msub.add_parser("promote", help="make a version the champion")
    promote.add_argument("version")
    promote.set_defaults(handler=_models_promote)
    msub.add_parser("rollback", help="reinstate the previous champion").set_defaults(handler=_models_rollback)
    tune = msub.add_parser("tune", help="measure every inference path this machine supports on a "
                                        "version; record the fastest faithful one for model.runtime/"
                                        "precision auto")
    tune.add_argument("version", nargs="?", help="version or folder (default: the champion)")
    tune.add_argument("--paths", help="RUNTIME:PRECISION,... to try (default: all this machine supports; "
                                      "torch:fp32, the reference, is always tried)")
    tune.add_argument("--limit", type=int, help="score on the first N dev texts (default: all)")
    tune.add_argument("--timing-texts", type=int, default=1000, help="texts timed per path (default 1000)")
    tune.add_argument("--no-record", action="store_true", help="measure and print, record nothing")
    tune.set_defaults(handler=_models_tune)
    _add_models_shadow(msub)

    sub.add_parser("doctor", help="what this machine has (CPU flags, GPU), and which inference path "
                                  "auto serves the champion with, and why").set_defaults(handler=_doctor)


def _classify(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.serving.worker import run_worker
    from finpulse.lifecycle import stop_on_signals

    run_worker(settings, stop_on_signals(), model=args.model)
    return 0


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from classifier.training.train import TrainConfig, train
    from store.migrate import upgrade

    given = {k: getattr(args, k) for k in ("base", "data", "epochs", "max_length", "batch_size",
                                           "lr", "seed", "limit", "promote", "lexical_weight",
                                           "frozen_layers", "layers", "strip_urls", "soft_labels",
                                           "soft_weight")}
    if given["layers"] is not None and given["frozen_layers"] is None:
        given["frozen_layers"] = given["layers"] // 2  # as the default 3 is half of MiniLM's 6
    upgrade(settings.database)
    train(settings, replace(TrainConfig(), **{k: v for k, v in given.items() if v is not None}))
    return 0


def _teacher(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.training.teacher import train_teacher

    train_teacher(settings, args.base, args.out, task=args.task, epochs=args.epochs, lr=args.lr,
                  seed=args.seed, data=args.data, limit=args.limit)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.training.evaluate import eval_csv

    print(json.dumps(eval_csv(settings, args.task, args.data, args.model)))
    return 0


def _predict(args: argparse.Namespace, settings: Settings) -> int:
    from classifier import registry
    from classifier.serving.predict import parse_input_lines, prediction_line

    texts = list(args.texts) or list(parse_input_lines(sys.stdin))
    engine = registry.load_engine(settings, registry.resolve(settings, args.model))
    for text, pred in zip(texts, engine.predict(texts), strict=False):
        print(prediction_line(text, pred))
    return 0


def _models_list(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.registry import list_rows

    for row in list_rows(settings):
        star = "*" if row["is_champion"] else " "
        figures = " ".join(f"{k}={v}" for k, v in row["metrics"].items() if k.endswith(("accuracy", "f1")))
        print(f"{star} {row['version']}  {row['status']:<11} {row['created_at']:%Y-%m-%d %H:%M}  {figures}")
    return 0


def _models_show(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.registry import show

    print(json.dumps(show(settings, args.version), indent=2, default=str))
    return 0


def _models_promote(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.registry import promote

    previous = promote(settings, args.version)
    print(f"champion: {args.version} (was {previous})")
    return 0


def _models_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.registry import rollback

    old, new = rollback(settings)
    print(f"rolled back {old}; champion: {new}")
    return 0


def _models_tune(args: argparse.Namespace, settings: Settings) -> int:
    from classifier import registry
    from classifier.serving.tuning import tune

    info = registry.resolve(settings, args.version)
    result = tune(settings, info, paths=args.paths.split(",") if args.paths else None, limit=args.limit,
                  timing_texts=args.timing_texts, record=not args.no_record)
    print("\n".join(result.lines()))
    if not args.no_record:
        print(f"recorded in {info.folder / 'tuning.json'}")
    return 0


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from classifier import registry
    from classifier.serving.doctor import report

    try:
        info = registry.resolve(settings)
    except registry.ModelNotFound:
        info = None
    print("\n".join(report(settings, info)))
    return 0


def _add_retraining_commands(sub: argparse._SubParsersAction) -> None:
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
    from classifier.retraining.retrain import RetrainConfig

    return RetrainConfig(start=args.start, epochs=args.epochs, limit=args.limit,
                         tolerance=args.tolerance, min_gain=args.min_gain,
                         holdout_fraction=args.holdout_fraction, data=args.data, lr=args.lr,
                         max_length=args.max_length, dry_run=args.dry_run, shadow=args.shadow)


def _retrain(args: argparse.Namespace, settings: Settings) -> int:
    from store.migrate import upgrade

    upgrade(settings.database)
    if args.watch:
        from classifier.retraining.trigger import run_autoretrain
        from finpulse.lifecycle import stop_on_signals

        run_autoretrain(settings, stop_on_signals(), cfg=_config(args))
        return 0
    from classifier.retraining.retrain import retrain

    retrain(settings, _config(args))
    return 0


def _transaction(settings: Settings):
    from store.db import transaction

    return transaction(settings.database)


def _labels_import(args: argparse.Namespace, settings: Settings) -> int:
    from finpulse.labels import import_rows, read_labels_csv
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
    from finpulse.labels import write_labels_csv
    from store.queries.label_admin import export_rows

    with _transaction(settings) as session:
        rows = export_rows(session)
    print(f"{args.file}: {write_labels_csv(args.file, rows)} label(s) written")
    return 0


def _labels_stats(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.retraining.dataset import label_stats
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


def _add_models_shadow(msub: argparse._SubParsersAction) -> None:
    sh = msub.add_parser("shadow", help="put a challenger in shadow (it scores the live stream beside "
                                        "the champion), end it, or show it (no argument)")
    sh.add_argument("version", nargs="?", help="the challenger to put in shadow")
    sh.add_argument("--stop", action="store_true", help="end the shadow (the challenger is not promoted)")
    sh.add_argument("--auto-promote", action="store_true",
                    help="let `finpulse retrain --watch` promote it once the shadow period is over "
                         "(model.shadow_min_minutes and model.shadow_min_articles)")
    sh.set_defaults(handler=_models_shadow)


def _shadow(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.retraining.shadow import run_shadow
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
