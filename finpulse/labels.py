"""Analyst labels as CSV: ``article_id,text,task,label,labeled_by,labeled_at``.

A row names its article by ``article_id`` or gives its ``text`` (or both); ``label`` is a class
id or name (``Earnings``, ``bullish``); ``labeled_at`` is ISO 8601 (a time without a zone is
taken as UTC; empty means "now"). A row with a text but no article id labels the stored article
with the same text up to whitespace (its title, or title and text), when there is one; else a
stub article is created for the text. Parsing is pure (``parse_labels_csv`` on a string); the
database side is ``store.queries.label_admin``. In the kernel because the CLI (``finpulse labels
import``), the read API (``POST /v1/labels``) and the dashboard apply the same rules.
"""

from __future__ import annotations

import csv
import io
import re
import reprlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from finpulse.errors import ConfigError
from finpulse.schemas import SENTIMENTS, TOPICS, article_id_for_source

LABELS: dict[str, tuple[str, ...]] = {"topic": TOPICS, "sentiment": SENTIMENTS}
IMPORT_SOURCE = "label-import"  # the source of stub articles created for text-only labels
_SPACE = re.compile(r"\s+")
COLUMNS = ("article_id", "text", "task", "label", "labeled_by", "labeled_at")
REQUIRED = ("task", "label", "labeled_by")
MAX_ERRORS = 10
# The error message lists the bad lines that fit in about this much (it goes to a terminal).
MAX_MESSAGE_CHARS = 1800
MAX_LINE_CHARS = 600
# The labels table's columns (store/tables.py).
MAX_ARTICLE_ID_CHARS = 64
MAX_LABELED_BY_CHARS = 200
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database takes them
# Values quoted back in a message: a field can be megabytes long.
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60


def normalise(text: str) -> str:
    """The identity of a text for dedup and overrides: NFKC, case-folded, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


@dataclass(frozen=True)
class LabelRecord:
    """One label to store: ``article_id`` or ``text`` is set (or both)."""

    article_id: str | None
    text: str
    task: str
    label: int
    labeled_by: str
    labeled_at: datetime


def parse_label(task: str, value: str) -> int:
    """A label id from an id or a class name of ``task`` (case-insensitive name)."""
    names = LABELS[task]
    value = value.strip()
    if re.fullmatch(r"-?\d{1,9}", value):  # not isdigit(): int() refuses "²" and "--1"
        label = int(value)
        if not 0 <= label < len(names):
            raise ValueError(f"{task} label {label} is out of range 0..{len(names) - 1}")
        return label
    for i, name in enumerate(names):
        if name.casefold() == value.casefold():
            return i
    raise ValueError(f"unknown {task} label {_short.repr(value)} (an id 0..{len(names) - 1} or one of "
                     f"{', '.join(names)})")


def parse_time(value: str, now: datetime) -> datetime:
    value = value.strip()
    if not value:
        return now
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"labeled_at {_short.repr(value)} is not an ISO 8601 time") from exc
    try:
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"labeled_at {_short.repr(value)} is out of range in UTC") from exc


def parse_row(row: dict[str, str], now: datetime) -> LabelRecord:
    """One CSV row (a dict of stripped strings) as a record; ``ValueError`` says what is wrong."""
    for name in REQUIRED:
        if not row.get(name):
            raise ValueError(f"{name} is empty")
    for name, value in row.items():
        if _UNSTORABLE.search(value):
            raise ValueError(f"{name} contains a NUL character or a lone surrogate")
    if len(row.get("article_id") or "") > MAX_ARTICLE_ID_CHARS:
        raise ValueError(f"article_id is longer than {MAX_ARTICLE_ID_CHARS} characters")
    if len(row["labeled_by"]) > MAX_LABELED_BY_CHARS:
        raise ValueError(f"labeled_by is longer than {MAX_LABELED_BY_CHARS} characters")
    article_id, text = row.get("article_id") or None, row.get("text") or ""
    if article_id is None and not text.strip():
        raise ValueError("needs an article_id or a text")
    task = row["task"].lower()
    if task not in LABELS:
        raise ValueError(f"task {_short.repr(row['task'])} is not one of {', '.join(LABELS)}")
    return LabelRecord(article_id, text, task, parse_label(task, row["label"]), row["labeled_by"],
                       parse_time(row.get("labeled_at") or "", now))


def parse_labels_csv(content: str, *, origin: str, now: datetime) -> list[LabelRecord]:
    """Every row of a labels CSV, or ``ConfigError`` naming each bad line (up to 10)."""
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except csv.Error as exc:  # e.g. a field longer than csv.field_size_limit()
        raise ConfigError(f"{origin}: line 1: unreadable CSV header: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing or not {"article_id", "text"} & set(header):
        raise ConfigError(f"{origin}: the header needs task, label, labeled_by and article_id or "
                          f"text (optional: labeled_at); got {_short.repr(reader.fieldnames)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ConfigError(
            f"{origin}: unknown column(s) {_short.repr(unknown)}; expected {', '.join(COLUMNS)}"
        )
    records, errors = [], []
    rows = iter(reader)
    while True:
        start = reader.line_num + 1  # the csv module counts a line only once it has read all of it
        try:
            raw = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{origin}: line {start}: malformed CSV: {exc}")
            continue
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        try:
            if None in raw:
                raise ValueError(f"{len(raw[None]) + len(header)} fields, expected {len(header)}")
            records.append(parse_row(row, now))
        except ValueError as exc:
            errors.append(f"{origin}: line {reader.line_num}: {exc}")
    if errors:
        raise ConfigError(_listing(errors))
    return records


def _listing(errors: list[str]) -> str:
    """The first ``MAX_ERRORS`` errors, as many as fit in ``MAX_MESSAGE_CHARS``."""
    shown: list[str] = []
    size = 0
    for error in errors[:MAX_ERRORS]:
        line = error if len(error) <= MAX_LINE_CHARS else f"{error[:MAX_LINE_CHARS]}…"
        if shown and size + len(line) > MAX_MESSAGE_CHARS:
            break
        shown.append(line)
        size += len(line) + 1
    more = f"\n... and {len(errors) - len(shown)} more" if len(shown) < len(errors) else ""
    return "\n".join(shown) + more


def stub_article_id(text: str) -> str:
    """The id of the article created for a label given only by its text (same text, same id)."""

    return article_id_for_source(IMPORT_SOURCE, normalise(text))


def import_rows(records: list[LabelRecord], matched: Mapping[str, str] | None = None) -> list[dict]:
    """Records as rows for ``store.queries.label_admin.import_labels``. A text-only row gets the
    article its text ``matched`` (``label_admin.articles_by_text``), else its stub article."""
    matched = matched or {}
    return [{"article_id": r.article_id or matched.get(r.text) or stub_article_id(r.text),
             "text": r.text, "task": r.task, "label": r.label, "labeled_by": r.labeled_by,
             "labeled_at": r.labeled_at} for r in records]


def read_labels_csv(path: Path, now: datetime) -> list[LabelRecord]:
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_labels_csv(content, origin=str(path), now=now)


def format_labels_csv(rows: list[dict]) -> str:
    """Rows (``store.queries.label_admin.export_rows``) as CSV text, labels by name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r["article_id"], r["text"], r["task"], LABELS[r["task"]][r["label"]],
                         r["labeled_by"], r["labeled_at"].astimezone(UTC).isoformat()])
    return out.getvalue()


def write_labels_csv(path: Path, rows: list[dict]) -> int:
    try:
        path.write_text(format_labels_csv(rows), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from exc
    return len(rows)
