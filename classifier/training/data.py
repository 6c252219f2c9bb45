"""Training data: the seed CSVs (``text,label``), a stratified dev split, ``--limit`` sampling
and the manifest recorded with every model version.

Pure parsing (``parse_csv``) is kept apart from reading files (``load_seed``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from classifier.label_maps import IGNORE, LABELS
from classifier.model.textprep import dedup_key
from finpulse.errors import ConfigError

SEED_FILES = {"sentiment": "sentiment_train.csv", "topic": "topic_train.csv"}
HUB_DATASETS = {
    "sentiment": "zeroshot/twitter-financial-news-sentiment",
    "topic": "zeroshot/twitter-financial-news-topic",
}


@dataclass(frozen=True)
class Example:
    text: str
    topic: int = IGNORE
    sentiment: int = IGNORE

    def stratum(self) -> tuple[str, int]:
        return ("topic", self.topic) if self.topic != IGNORE else ("sentiment", self.sentiment)


@dataclass(frozen=True)
class SourceFile:
    task: str
    name: str
    rows: int
    sha256: str


@dataclass
class Dataset:
    train: list[Example]
    dev: list[Example]
    sources: list[SourceFile]

    def manifest(self, *, seed: int, dev_fraction: float, limit: int | None) -> dict:
        return {
            "files": [vars(s) for s in self.sources],
            "seed": seed,
            "dev_fraction": dev_fraction,
            "limit": limit,
            "train": _counts(self.train),
            "dev": _counts(self.dev),
        }


def _counts(examples: list[Example]) -> dict[str, int]:
    return {
        "rows": len(examples),
        "topic": sum(e.topic != IGNORE for e in examples),
        "sentiment": sum(e.sentiment != IGNORE for e in examples),
    }


def parse_csv(content: str, *, task: str, origin: str) -> list[tuple[str, int]]:
    """Rows of a ``text,label`` CSV as ``(text, label_id)``; ``ConfigError`` names the bad row."""
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != ["text", "label"]:
        raise ConfigError(f"{origin}: expected the header 'text,label', got {header!r}")
    n_labels = len(LABELS[task])
    rows = []
    for row in reader:
        if not row:
            continue
        where = f"{origin}: line {reader.line_num}"
        if len(row) != 2:
            raise ConfigError(f"{where}: expected 2 fields (text,label), got {len(row)}")
        text, label = row
        try:
            label_id = int(label)
        except ValueError as exc:
            raise ConfigError(f"{where}: label {label!r} is not an integer") from exc
        if not 0 <= label_id < n_labels:
            raise ConfigError(f"{where}: {task} label {label_id} is out of range 0..{n_labels - 1}")
        rows.append((text, label_id))
    return rows


def to_examples(rows: list[tuple[str, int]], task: str) -> list[Example]:
    if task == "topic":
        return [Example(text, topic=label) for text, label in rows]
    return [Example(text, sentiment=label) for text, label in rows]


def read_labelled_csv(path: Path, task: str) -> tuple[list[tuple[str, int]], SourceFile]:
    """Read one CSV file (with its hash, for the manifest)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    rows = parse_csv(content, task=task, origin=str(path))
    return rows, SourceFile(task, str(path), len(rows), hashlib.sha256(raw).hexdigest())


def _hub_file(task: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(HUB_DATASETS[task], SEED_FILES[task], repo_type="dataset"))
    except Exception as exc:  # any hub failure means: not reachable here
        raise ConfigError(f"cannot fetch {HUB_DATASETS[task]} from the hub: {exc}") from exc


def seed_files(data: str) -> dict[str, Path]:
    """Map each task to its CSV: a local folder holding the seed files, or the hub datasets."""
    folder = Path(data).expanduser()
    if folder.is_dir():
        found = {t: folder / f for t, f in SEED_FILES.items() if (folder / f).is_file()}
        if not found:
            raise ConfigError(f"{folder} holds neither {' nor '.join(SEED_FILES.values())}")
        return found
    if folder.exists():
        raise ConfigError(f"--data {data}: expected a folder holding the seed CSV files")
    if "zeroshot/" in data:
        return {task: _hub_file(task) for task in SEED_FILES}
    raise ConfigError(f"--data {data}: no such folder, and not the hub datasets ({HUB_DATASETS})")


def stratified_split(
    examples: list[Example], dev_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Split every (task, label) stratum with the same fraction; deterministic for a seed.

    Examples whose texts share a ``dedup_key`` (the same headline with another link, or in
    another case) stay on one side, so dev never scores a story the model trained on."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(dedup_key(ex.text), []).append(ex)
    strata: dict[tuple[str, int], list[list[Example]]] = defaultdict(list)
    for group in groups.values():
        strata[group[0].stratum()].append(group)
    rng = random.Random(seed)
    train, dev = [], []
    for key in sorted(strata):
        bucket = strata[key][:]
        rng.shuffle(bucket)
        size = sum(len(g) for g in bucket)
        n_dev = round(size * dev_fraction) if size > 1 else 0
        taken = 0
        for group in bucket:
            if taken < n_dev:
                dev.extend(group)
                taken += len(group)
            else:
                train.extend(group)
    rng.shuffle(train)
    rng.shuffle(dev)
    return train, dev


def sample(examples: list[Example], n: int | None, seed: int) -> list[Example]:
    """A stratified sample of ``n`` examples (all of them when n is None or too large)."""
    if n is None or n >= len(examples):
        return examples
    if n <= 0:
        raise ConfigError(f"--limit must be positive, got {n}")
    kept, rest = stratified_split(examples, 1 - n / len(examples), seed)
    return (kept + rest)[:n]  # rounding per stratum may leave a few short: top up


def load_seed(
    data: str, *, seed: int = 13, dev_fraction: float = 0.1, limit: int | None = None
) -> Dataset:
    """Read the seed data, carve the dev split, and sample ``limit`` training rows."""
    examples: list[Example] = []
    sources: list[SourceFile] = []
    for task, path in sorted(seed_files(data).items()):
        rows, source = read_labelled_csv(path, task)
        examples.extend(to_examples(rows, task))
        sources.append(source)
    train, dev = stratified_split(examples, dev_fraction, seed)
    if limit is not None:
        train = sample(train, limit, seed)
        dev = sample(dev, max(50, limit // 2), seed)
    return Dataset(train, dev, sources)
