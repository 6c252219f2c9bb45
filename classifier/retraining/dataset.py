"""The retraining data: seed data plus analyst labels, and the held-out sets both models face.

Rules (pure functions on rows; ``load_labelset`` does the reading):

- Analyst labels are resolved per article and task by ``classifier.retraining.agreement.resolve`` (latest
  label per analyst, then majority, ties to the most recent). The example's text is what the
  classifier reads for that article (title, then text).
- A fixed slice of the analysts' articles is held out, chosen by a hash of the article id
  (``is_held_out``): the same article is held out in every run, and never trained on.
- Evaluation = the seed data's fixed dev split (unchanged: it is the gold anchor) plus the
  held-out analyst slice.
- Training = seed train rows plus the other analyst labels, merged by normalised text
  (``normalise``): an analyst label overrides a seed label of the same task for the same text,
  duplicates collapse to one example, and no text of the evaluation sets is trained on.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from classifier.label_maps import IGNORE, TASKS
from classifier.retraining.agreement import Vote, agreement, resolve_all
from classifier.training.data import Dataset, Example, load_seed
from finpulse.errors import ConfigError
from finpulse.labels import normalise
from store.db import session_factory
from store.queries.label_admin import label_rows

SEED_DEV, HOLDOUT = "seed_dev", "analyst_holdout"
_SPACE = re.compile(r"\s+")


def is_held_out(article_id: str, fraction: float) -> bool:
    """Whether an analyst-labelled article belongs to the held-out slice (fixed per id)."""
    digest = hashlib.sha256(f"holdout:{article_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def article_content(title: str, text: str) -> str:
    """What the classifier reads (as ``finpulse.schemas.Article.content``)."""
    if text and text != title:
        return f"{title}\n{text}" if title else text
    return title


@dataclass(frozen=True)
class AnalystExample:
    article_id: str
    example: Example


@dataclass
class LabelSet:
    train: list[Example]
    eval_slices: dict[str, list[Example]]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def eval_all(self) -> list[Example]:
        return [e for part in self.eval_slices.values() for e in part]


def votes_for(rows: Iterable[dict[str, Any]], task: str) -> list[Vote]:
    return [Vote(r["article_id"], r["label"], r["labeled_by"], r["labeled_at"])
            for r in rows if r["task"] == task]


def label_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per task: how many labels, and the analysts' agreement (``finpulse labels stats``)."""
    return {task: {"labels": sum(r["task"] == task for r in rows),
                   **agreement(votes_for(rows, task))} for task in TASKS}


def analyst_examples(rows: Iterable[dict[str, Any]]) -> list[AnalystExample]:
    """One example per labelled article from ``store.queries.label_admin.label_rows``,
    oldest winning label first."""
    rows = list(rows)
    texts = {r["article_id"]: article_content(r["title"], r["text"]) or r["label_text"] for r in rows}
    winners: dict[str, dict[str, Vote]] = {}
    for task in TASKS:
        for item, vote in resolve_all(votes_for(rows, task)).items():
            winners.setdefault(item, {})[task] = vote
    out = []
    for item, by_task in sorted(winners.items(), key=lambda kv: max(v.at for v in kv[1].values())):
        labels = {t: by_task[t].label if t in by_task else IGNORE for t in TASKS}
        out.append(AnalystExample(item, Example(texts[item], **labels)))
    return out


def _merge(into: dict[str, dict], ex: Example, *, override: bool, counts: Counter) -> None:
    key = normalise(ex.text)
    slot = into.setdefault(key, {"text": ex.text, "topic": IGNORE, "sentiment": IGNORE})
    for task in TASKS:
        label = getattr(ex, task)
        if label == IGNORE:
            continue
        if slot[task] == IGNORE:
            slot[task] = label
        elif override:
            counts["overridden" if slot[task] != label else "confirmed"] += 1
            slot[task] = label
        else:
            counts["duplicate_seed_labels"] += 1


def build(seed: Dataset, analyst: Sequence[AnalystExample], holdout_fraction: float) -> LabelSet:
    """Merge seed data and analyst examples per the module's rules."""
    held = [a.example for a in analyst if is_held_out(a.article_id, holdout_fraction)]
    trainable = [a.example for a in analyst if not is_held_out(a.article_id, holdout_fraction)]
    holdout = list({normalise(e.text): e for e in held}.values())
    eval_texts = {normalise(e.text) for e in seed.dev} | {normalise(e.text) for e in holdout}
    counts: Counter = Counter()
    merged: dict[str, dict] = {}
    for ex in seed.train:
        _merge(merged, ex, override=False, counts=counts)
    for ex in trainable:
        if normalise(ex.text) in eval_texts:
            counts["analyst_in_eval"] += 1
            continue
        _merge(merged, ex, override=True, counts=counts)
    train = [Example(s["text"], topic=s["topic"], sentiment=s["sentiment"])
             for key, s in merged.items() if key not in eval_texts]
    stats = {"seed_train_rows": len(seed.train), "analyst_articles": len(analyst),
             "analyst_trainable": len(trainable), "analyst_held_out": len(held),
             "train_examples": len(train), "dropped_eval_texts": len(merged) - len(train),
             "seed_dev": len(seed.dev), "analyst_holdout": len(holdout),
             "holdout_fraction": holdout_fraction, **counts}
    return LabelSet(train, {SEED_DEV: list(seed.dev), HOLDOUT: holdout}, stats)


def load_labelset(settings, *, data: str | None = None, seed: int = 13, dev_fraction: float = 0.1,
                  limit: int | None = None,
                  holdout_fraction: float | None = None) -> tuple[LabelSet, Dataset]:
    """Read the seed data and the database's labels and build the set (and the seed dataset,
    for its manifest)."""

    dataset = load_seed(data or settings.model.seed_data, seed=seed, dev_fraction=dev_fraction,
                        limit=limit)
    try:
        with session_factory(settings.database).begin() as session:
            rows = label_rows(session)
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot read the labels from {settings.database.url}: {exc}") from exc
    fraction = settings.model.retrain_holdout_fraction if holdout_fraction is None else holdout_fraction
    return build(dataset, analyst_examples(rows), fraction), dataset
