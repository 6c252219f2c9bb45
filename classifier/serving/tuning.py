"""``finpulse models tune``: measure every inference path this machine supports on one model
version, and record the fastest faithful one for ``auto`` (``classifier.serving.paths``).

Each candidate path (RUNTIME:PRECISION) is loaded, scored on the version's dev split, checked
for labels that do not depend on the batch, and timed. A path is faithful when both tasks'
accuracy is within ``tolerance_points`` (0.5) of torch fp32 measured in the same run, and every
probe text gets the same labels alone as in a batch (dynamic int8 quantisation scales
activations per batch, so a text's label can change with its neighbours: a stream must not
label an article by what it happened to be batched with). The fastest faithful path is
recorded in the version folder under this machine; torch fp32, the reference, always is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tqdm.auto import tqdm

from classifier import registry
from classifier.serving.onnx_runtime import ORT_PRECISIONS, onnx_available
from classifier.serving.paths import this_machine, write_entry
from classifier.serving.precision import pick_device
from classifier.training.data import Example, load_seed
from classifier.training.evaluate import reports_from_probs, summary
from finpulse.errors import ConfigError
from finpulse.machine import Machine
from finpulse.settings import Settings

log = logging.getLogger(__name__)

REFERENCE = "torch:fp32"
TOLERANCE_POINTS = 0.5
PROBE_TEXTS = 32  # classified one by one against their labels in a batch
TIMING_TEXTS = 1000  # timed after a warm-up, in the engine's own batching


@dataclass(frozen=True)
class Candidate:
    """A path to try: ``load()`` returns an engine serving it."""

    path: str
    load: Callable[[], Any]


@dataclass
class Trial:
    path: str
    texts_per_s: float = 0.0
    figures: dict[str, float] = field(default_factory=dict)  # summary(): accuracy and macro-F1
    delta_points: dict[str, float] = field(default_factory=dict)  # accuracy minus the reference's
    batch_independent: bool = False
    faithful: bool = False
    note: str = ""


@dataclass
class Tuning:
    version: str
    machine: Machine
    trials: list[Trial]
    choice: str
    dev_texts: int
    measured_at: str

    def entry(self) -> dict[str, Any]:
        """What ``tuning.json`` keeps for this machine."""
        return {"choice": self.choice, "machine": self.machine.describe(), "measured_at": self.measured_at,
                "dev_texts": self.dev_texts, "tolerance_points": TOLERANCE_POINTS,
                "trials": [asdict(t) for t in self.trials]}

    def lines(self) -> list[str]:
        ref = next(t for t in self.trials if t.path == REFERENCE)
        out = [f"model {self.version} on {self.machine.describe()}; dev split {self.dev_texts} texts"]
        for t in sorted(self.trials, key=lambda t: -t.texts_per_s):
            if t.note and not t.figures:
                out.append(f"  {t.path:>18}: {t.note}")
                continue
            deltas = ", ".join(f"{k.split('_')[0]} {v:+.2f}" for k, v in t.delta_points.items())
            ratio = t.texts_per_s / ref.texts_per_s if ref.texts_per_s else 0.0
            verdict = "faithful" if t.faithful else f"refused: {t.note}"
            out.append(f"  {t.path:>18}: {t.texts_per_s:8.1f} texts/s ({ratio:4.2f}x fp32)  "
                       f"accuracy points vs fp32: {deltas or '-'}  {verdict}")
        out.append(f"auto serves {self.choice} on this machine")
        return out


def candidate_paths(machine: Machine, *, onnx: bool | None = None) -> list[str]:
    """Every path this machine supports: bf16 only where the CPU has bf16 instructions (it is
    emulated, and many times slower, elsewhere)."""
    if machine.device == "cuda":
        return ["torch:fp32", "torch:bf16", "torch:fp16"]
    paths = ["torch:fp32", "torch:int8"]
    if machine.flags & {"avx512_bf16", "amx_bf16"}:
        paths.append("torch:bf16")
    if onnx if onnx is not None else onnx_available():
        paths += [f"onnxruntime:{p}" for p in ORT_PRECISIONS]
    return paths


def registry_candidates(settings: Settings, info: registry.VersionInfo, paths: Sequence[str],
                        device: str) -> list[Candidate]:
    def loader(path: str) -> Callable[[], Any]:
        runtime, precision = path.split(":")
        return lambda: registry.load_engine(settings, info, runtime=runtime, precision=precision,
                                            device=device)

    return [Candidate(p, loader(p)) for p in paths]


def dev_split(settings: Settings, info: registry.VersionInfo, limit: int | None = None) -> list[Example]:
    """The version's own dev split (its training arguments name the data, seed and fraction)."""
    args = registry.read_meta(info.folder).get("training_args", {})
    data = args.get("data") or settings.model.seed_data
    dev = load_seed(data, seed=args.get("seed", 13), dev_fraction=args.get("dev_fraction", 0.1)).dev
    if not dev:
        raise ConfigError(f"model {info.version}: its dev split ({data}) is empty; nothing to tune on")
    return dev[:limit] if limit else dev


def _labels(probs) -> list[tuple[int, int]]:
    return list(zip(probs.topic.argmax(1).tolist(), probs.sentiment.argmax(1).tolist(), strict=True))


def _try(candidate: Candidate, dev: Sequence[Example], timing: Sequence[str]) -> Trial:
    trial = Trial(candidate.path)
    try:
        engine = candidate.load()
    except (ConfigError, RuntimeError, ImportError, OSError) as exc:
        trial.note = f"unavailable: {exc}"
        return trial
    probs = engine.run(engine.encode([e.text for e in dev]))
    trial.figures = summary(reports_from_probs(probs, dev))
    batched = _labels(probs)[:PROBE_TEXTS]
    alone = [_labels(engine.run(engine.encode([e.text])))[0] for e in dev[:PROBE_TEXTS]]
    trial.batch_independent = batched == alone
    engine.predict(timing[:64])  # warm-up: first calls allocate and, for ONNX, plan
    start = time.perf_counter()
    engine.predict(timing)
    trial.texts_per_s = round(len(timing) / (time.perf_counter() - start), 1)
    return trial


def _judge(trial: Trial, reference: Trial) -> None:
    if not trial.figures:
        return
    trial.delta_points = {k: round(100 * (v - reference.figures[k]), 2) for k, v in trial.figures.items()
                          if k.endswith("accuracy") and k in reference.figures}
    close = all(abs(d) <= TOLERANCE_POINTS for d in trial.delta_points.values())
    trial.faithful = close and trial.batch_independent
    if not close:
        trial.note = f"more than {TOLERANCE_POINTS} accuracy points from fp32"
    elif not trial.batch_independent:
        trial.note = "labels depend on the batch"


def tune(settings: Settings, info: registry.VersionInfo, *, device: str | None = None,
         paths: Sequence[str] | None = None, candidates: Sequence[Candidate] | None = None,
         dev: Sequence[Example] | None = None, limit: int | None = None,
         timing_texts: int = TIMING_TEXTS, record: bool = True, progress: bool = True) -> Tuning:
    """Try every candidate (``paths``, by default every one this machine supports, with the
    reference always among them; or ready ``candidates``), choose the fastest faithful one, and
    (``record``) file it in the version folder under this machine. ``dev`` is the version's dev
    split when the caller holds it already."""
    device = pick_device(device or settings.model.device)
    machine = this_machine(device)
    if candidates is None:
        wanted = [REFERENCE, *[p for p in paths or candidate_paths(machine) if p != REFERENCE]]
        candidates = registry_candidates(settings, info, wanted, device)
    if not any(c.path == REFERENCE for c in candidates):
        raise ConfigError(f"tuning needs the reference path {REFERENCE} among the candidates")
    dev = list(dev)[:limit] if dev is not None else dev_split(settings, info, limit)
    timing = [dev[i % len(dev)].text for i in range(timing_texts)]
    trials: list[Trial] = []
    with tqdm(candidates, unit="path", desc=f"tuning {info.version}", disable=not progress) as bar:
        for candidate in bar:
            bar.set_postfix_str(candidate.path)
            trials.append(_try(candidate, dev, timing))
            log.info("tuning %s: %s", info.version, trials[-1])
    reference = next(t for t in trials if t.path == REFERENCE)
    if not reference.figures:
        raise ConfigError(f"model {info.version}: the reference path {REFERENCE} failed: {reference.note}")
    for trial in trials:
        _judge(trial, reference)
    reference.faithful = True  # by definition, even if its own batches differed in the last digit
    best = max((t for t in trials if t.faithful), key=lambda t: t.texts_per_s)
    result = Tuning(info.version, machine, trials, best.path, len(dev),
                    datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if record:
        write_entry(info.folder, machine, result.entry())
    return result


def tune_new_version(settings: Settings, version: str, folder, *, dev: Sequence[Example] | None = None,
                     progress: bool = True) -> str | None:
    """Tune a version just written, before it is registered (so before it can serve), when
    ``model.tune_new_versions`` is on. Returns the chosen path, or None when off or when the
    tuning failed (logged: the rule for this machine then serves it until it is tuned)."""
    if not settings.model.tune_new_versions:
        return None
    try:
        result = tune(settings, registry.VersionInfo(version, folder), dev=dev, progress=progress)
    except (ConfigError, RuntimeError, ValueError, OSError) as exc:
        log.warning("tuning %s failed; the rule for this machine serves it until `finpulse models "
                    "tune`: %s", version, exc)
        return None
    for line in result.lines():
        log.info("%s", line)
    return result.choice
