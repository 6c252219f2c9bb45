"""Several analysts, one answer: the conflict rule and how much the analysts agree.

The rule (``resolve``), for one article and one task:

1. each analyst counts once, with their latest label (the database keeps one row per article,
   task and analyst: a correction replaces the earlier label);
2. the label most analysts chose wins (majority, or plurality with three or more labels);
3. a tie goes to the tied label given most recently.

Agreement (``agreement``) is measured over the items labelled by two or more analysts: percent
agreement (the share of agreeing analyst pairs, averaged over items), Fleiss' kappa (the
variable-raters form), and Cohen's kappa for every pair of analysts who share items.
Pure functions, no database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations


@dataclass(frozen=True)
class Vote:
    """One analyst's (latest) label for one item of one task."""

    item: str  # article id
    label: int
    by: str
    at: datetime


def resolve(votes: Sequence[Vote]) -> Vote:
    """The winning vote of one item's votes (see the module docstring for the rule)."""
    if not votes:
        raise ValueError("resolve() needs at least one vote")
    latest: dict[str, Vote] = {}
    for v in votes:
        if v.by not in latest or v.at > latest[v.by].at:
            latest[v.by] = v
    counts = Counter(v.label for v in latest.values())
    top = max(counts.values())
    tied = {label for label, n in counts.items() if n == top}
    return max((v for v in latest.values() if v.label in tied), key=lambda v: (v.at, v.by))


def group_by_item(votes: Iterable[Vote]) -> dict[str, list[Vote]]:
    out: dict[str, list[Vote]] = defaultdict(list)
    for v in votes:
        out[v.item].append(v)
    return dict(out)


def resolve_all(votes: Iterable[Vote]) -> dict[str, Vote]:
    """The winning vote per item."""
    return {item: resolve(vs) for item, vs in group_by_item(votes).items()}


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two raters over the same items (None when undefined: no items, or
    chance agreement is 1 because both always chose the same single label)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=False)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def fleiss_kappa(items: Sequence[Sequence[int]]) -> tuple[float | None, float | None]:
    """(percent agreement, Fleiss' kappa) over items rated by two or more raters each; the
    number of raters may vary per item. (None, None) when there is no such item."""
    rated = [labels for labels in items if len(labels) >= 2]
    if not rated:
        return None, None
    per_item, totals, n_ratings = [], Counter(), 0
    for labels in rated:
        n = len(labels)
        counts = Counter(labels)
        per_item.append((sum(c * c for c in counts.values()) - n) / (n * (n - 1)))
        totals.update(counts)
        n_ratings += n
    p_bar = sum(per_item) / len(per_item)
    p_e = sum((c / n_ratings) ** 2 for c in totals.values())
    kappa = None if p_e >= 1.0 else (p_bar - p_e) / (1 - p_e)
    return p_bar, kappa


def agreement(votes: Iterable[Vote], min_shared: int = 1) -> dict:
    """Agreement figures for one task's votes (latest label per analyst and item)."""
    by_item = {item: {v.by: v for v in sorted(vs, key=lambda v: v.at)}
               for item, vs in group_by_item(votes).items()}
    multi = {item: latest for item, latest in by_item.items() if len(latest) >= 2}
    percent, kappa = fleiss_kappa([[v.label for v in latest.values()] for latest in multi.values()])
    analysts = sorted({who for latest in by_item.values() for who in latest})
    pairs = []
    for a, b in combinations(analysts, 2):
        shared = [item for item, latest in by_item.items() if a in latest and b in latest]
        if len(shared) >= min_shared:
            la = [by_item[i][a].label for i in shared]
            lb = [by_item[i][b].label for i in shared]
            pairs.append({"a": a, "b": b, "items": len(shared),
                          "agreement": sum(x == y for x, y in zip(la, lb, strict=False)) / len(shared),
                          "cohen_kappa": cohen_kappa(la, lb)})
    conflicts = sum(1 for latest in multi.values() if len({v.label for v in latest.values()}) > 1)
    return {"items": len(by_item), "analysts": len(analysts), "multi_rated": len(multi),
            "conflicting": conflicts, "percent_agreement": percent, "fleiss_kappa": kappa,
            "pairs": pairs}
