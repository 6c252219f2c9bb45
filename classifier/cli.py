"""``finpulse classify | train | eval | predict | models ...`` (torch is imported lazily);
``finpulse shadow`` and ``finpulse models shadow`` are in ``classifier.shadow_cli``."""

from __future__ import annotations

import argparse
import json
import sys

from classifier import shadow_cli
from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    classify = sub.add_parser("classify", help="classify news.raw into news.classified")
    classify.add_argument("--model", help="pin a version or folder (default: the champion, hot-swapped)")
    classify.set_defaults(handler=_classify)
    shadow_cli.add_commands(sub)

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
                       help="freeze and cache the embeddings and this many lowest layers (default 3; 0 trains all)")
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
    shadow_cli.add_models_command(msub)


def _classify(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.worker import run_worker
    from finpulse.lifecycle import stop_on_signals

    run_worker(settings, stop_on_signals(), model=args.model)
    return 0


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from classifier.train import TrainConfig, train
    from store.migrate import upgrade

    given = {k: getattr(args, k) for k in ("base", "data", "epochs", "max_length", "batch_size",
                                           "lr", "seed", "limit", "promote", "lexical_weight",
                                           "frozen_layers", "layers", "strip_urls", "soft_labels", "soft_weight")}
    if given["layers"] is not None and given["frozen_layers"] is None:
        given["frozen_layers"] = given["layers"] // 2  # as the default 3 is half of MiniLM's 6
    upgrade(settings.database)
    train(settings, replace(TrainConfig(), **{k: v for k, v in given.items() if v is not None}))
    return 0


def _teacher(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.distil import train_teacher

    train_teacher(settings, args.base, args.out, task=args.task, epochs=args.epochs, lr=args.lr,
                  seed=args.seed, data=args.data, limit=args.limit)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from classifier.evaluate import eval_csv

    print(json.dumps(eval_csv(settings, args.task, args.data, args.model)))
    return 0


def _predict(args: argparse.Namespace, settings: Settings) -> int:
    from classifier import registry
    from classifier.predict import parse_input_lines, prediction_line

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
