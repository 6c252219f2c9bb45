"""Reading replay files (CSV with a header, or JSON lines) into rows, pure of Kafka.

Each row comes back with its line number; a row that cannot be used comes back as a
``BadRow`` naming the file, the line and the reason, so the caller can dead-letter it and go on.
"""

from __future__ import annotations

import csv
import json
import reprlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from finpulse.errors import ConfigError

FIELDS = ("text", "title", "url", "source", "published", "label", "id", "author")
# The seed data has tweets; a news article's text is rarely above this.
csv.field_size_limit(10_000_000)


@dataclass(frozen=True)
class Row:
    line: int
    data: dict[str, str]


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    raw: bytes


def file_format(path: Path) -> str:
    """``csv`` or ``jsonl``, from the file's name; ConfigError otherwise."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ConfigError(f"{path}: replay files must be .csv or .jsonl (got {suffix or 'no suffix'!r})")


def read_rows(path: Path) -> Iterator[Row | BadRow]:
    """The rows of a replay file, good and bad, in order."""
    if not path.is_file():
        raise ConfigError(f"{path}: replay file not found")
    if file_format(path) == "csv":
        yield from _csv_rows(path)
    else:
        yield from _jsonl_rows(path)


def check_row(line: int, data: dict[str, object], raw: bytes) -> Row | BadRow:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        return BadRow(line, "no text (the 'text' field is missing or empty)", raw)
    clean: dict[str, str] = {}
    for key in FIELDS:
        value = data.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return BadRow(line, f"field {key!r} must be a string, got {type(value).__name__}", raw)
        clean[key] = str(value)
    # Undecodable bytes (surrogateescape) and JSON's lone "\ud800" escapes alike.
    if any("\ud800" <= ch <= "\udfff" for v in clean.values() for ch in v):
        return BadRow(line, "not valid UTF-8", raw)
    return Row(line, clean)


def _csv_rows(path: Path) -> Iterator[Row | BadRow]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise ConfigError(f"{path}: unreadable CSV header: {exc}") from exc
        if "text" not in header:
            found = reprlib.repr(header)  # a header line can be megabytes long
            raise ConfigError(f"{path}: the CSV header needs a 'text' column (found {found})")
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield BadRow(start, f"malformed CSV: {exc}", b"")
                continue
            raw = delimiter.join(values).encode("utf-8", "surrogateescape")
            if not values or values == [""]:
                continue
            if len(values) != len(header):
                yield BadRow(start, f"expected {len(header)} fields, found {len(values)}", raw)
                continue
            yield check_row(start, dict(zip(header, values, strict=True)), raw)


def _jsonl_rows(path: Path) -> Iterator[Row | BadRow]:
    with path.open("rb") as f:
        for line, raw in enumerate(f, start=1):
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                yield BadRow(line, f"not valid JSON: {exc}", raw.rstrip(b"\r\n"))
                continue
            if not isinstance(data, dict):
                yield BadRow(line, f"expected a JSON object, got {type(data).__name__}", raw.rstrip())
                continue
            yield check_row(line, data, raw.rstrip(b"\r\n"))
