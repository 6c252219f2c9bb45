"""The promotion gate and the retraining report (pure functions on evaluation reports).

Evaluation reports come from ``classifier.training.evaluate.evaluate_examples`` per slice of the held-out
set (``seed_dev``, ``analyst_holdout``, and ``all`` = both together). The gate's figure per task
is the macro-F1 over the classes that occur in the held-out labels (a class only predicted adds
no zero to the mean; its false positives still cost recall elsewhere).

Rule: promote only if, for every task, the challenger is not worse than the champion by more
than ``tolerance`` on any slice, and on at least one task it is better on ``all`` by more than
``min_gain``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from classifier.label_maps import TASKS

ALL = "all"


def score(report: dict) -> float:
    """Macro-F1 over the classes with support."""
    f1s = [c["f1"] for c in report["per_class"].values() if c["support"]]
    return sum(f1s) / len(f1s) if f1s else 0.0


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: list[str]
    tolerance: float
    min_gain: float


def _fmt(task: str, where: str, before: float, after: float) -> str:
    return f"{task} macro-F1 on {where}: {before:.3f} -> {after:.3f} ({after - before:+.3f})"


def decide(champion: dict[str, dict], challenger: dict[str, dict], *, tolerance: float,
           min_gain: float) -> Decision:
    """Apply the rule to ``{slice: {task: report}}`` of both models (same slices)."""
    worse, better = [], []
    for task in TASKS:
        for where in champion:
            if task not in champion[where] or task not in challenger[where]:
                continue
            before, after = score(champion[where][task]), score(challenger[where][task])
            if after < before - tolerance:
                worse.append(_fmt(task, where, before, after) + f" is worse than the tolerance {tolerance}")
            elif where == ALL and after > before + min_gain:
                better.append(_fmt(task, where, before, after))
    if worse:
        return Decision(False, ["kept the champion: " + r for r in worse], tolerance, min_gain)
    if not better:
        return Decision(False, [f"kept the champion: no task gained more than {min_gain} on the "
                                "held-out set"], tolerance, min_gain)
    return Decision(True, ["promoted: " + r for r in better]
                    + [f"no task worse than the tolerance {tolerance} on any slice"], tolerance, min_gain)


def in_shadow(reasons: list[str]) -> list[str]:
    """The gate's reasons for a challenger that goes into shadow rather than being promoted."""
    return [f"passed the gate: {r.removeprefix('promoted: ')}" if r.startswith("promoted: ") else r
            for r in reasons]


def _slice_rows(reports: dict[str, dict], task: str) -> dict[str, dict]:
    return {where: {"n": r[task]["n"], "accuracy": round(r[task]["accuracy"], 4),
                    "macro_f1": round(score(r[task]), 4)}
            for where, r in reports.items() if task in r}


def _classes(before: dict, after: dict) -> dict[str, dict]:
    names = [n for n in before["per_class"] if before["per_class"][n]["support"]]
    names += [n for n in after["per_class"] if n not in names and after["per_class"][n]["support"]]
    out = {}
    for name in names:
        b = before["per_class"].get(name, {"f1": 0.0, "support": 0})
        a = after["per_class"].get(name, {"f1": 0.0, "support": 0})
        out[name] = {"support": max(a["support"], b["support"]), "before_f1": round(b["f1"], 4),
                     "after_f1": round(a["f1"], 4)}
    return out


def build_report(*, champion_version: str, challenger_version: str, champion: dict, challenger: dict,
                 decision: Decision, labelset_stats: dict, training: dict) -> dict:
    """The JSON report: per task and slice before/after, per class on ``all``, the decision."""
    tasks = {}
    for task in TASKS:
        if task not in champion.get(ALL, {}):
            continue
        tasks[task] = {"before": _slice_rows(champion, task), "after": _slice_rows(challenger, task),
                       "per_class": _classes(champion[ALL][task], challenger[ALL][task])}
    return {"champion": champion_version, "challenger": challenger_version,
            "decision": {**asdict(decision), "promoted": decision.promote}, "tasks": tasks,
            "training_set": labelset_stats, "training": training}


def render_markdown(report: dict) -> str:
    """The report as Markdown (also what ``finpulse retrain`` prints)."""
    d = report["decision"]
    verdict = "PROMOTED" if d["promoted"] else "IN SHADOW" if d.get("shadow") else "NOT PROMOTED"
    lines = [f"# Retraining report: {report['challenger']} vs champion {report['champion']}", "",
             f"**Decision: {verdict}** (tolerance {d['tolerance']}, min gain {d['min_gain']})", ""]
    lines += [f"- {r}" for r in d["reasons"]]
    if d.get("shadow"):
        lines.append(f"- in shadow: it now scores the live stream beside the champion "
                     f"(`finpulse shadow`); `finpulse retrain --watch` promotes it after at least "
                     f"{d['shadow']['min_minutes']:g} minutes and {d['shadow']['min_articles']} "
                     f"articles in shadow, unless the champion changes first; "
                     f"`finpulse models promote {report['challenger']}` promotes it now")
    lines.append("")
    for task, t in report["tasks"].items():
        lines += [f"## {task}", "",
                  "| slice | n | accuracy before | after | macro-F1 before | after | change |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for where, b in t["before"].items():
            a = t["after"][where]
            lines.append(f"| {where} | {b['n']} | {b['accuracy']:.3f} | {a['accuracy']:.3f} | "
                         f"{b['macro_f1']:.3f} | {a['macro_f1']:.3f} | "
                         f"{a['macro_f1'] - b['macro_f1']:+.3f} |")
        lines += ["", "| class | support | F1 before | F1 after | change |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for name, c in t["per_class"].items():
            lines.append(f"| {name} | {c['support']} | {c['before_f1']:.3f} | {c['after_f1']:.3f} | "
                         f"{c['after_f1'] - c['before_f1']:+.3f} |")
        lines.append("")
    stats = ", ".join(f"{k} {v}" for k, v in report["training_set"].items())
    lines += ["## Training set", "", stats, ""]
    tr = report["training"]
    lines += [f"Trained from {tr.get('start')} for {tr.get('epochs')} epoch(s), best epoch "
              f"{tr.get('best_epoch')}, {tr.get('train_seconds')} s.", ""]
    return "\n".join(lines)
