"""Fuzzing the labels CSV import (``finpulse labels import FILE.csv``), its parsing only: any file
gives records the database can store or a ``ConfigError`` naming the file (and the line, for a
bad row), in a short message; never a csv, Unicode or datetime error."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classifier.label_maps import LABELS
from finpulse.errors import ConfigError
from finpulse.labels import (
    COLUMNS,
    LabelRecord,
    import_rows,
    parse_labels_csv,
    read_labels_csv,
)
from tests.fuzz.conftest import check_message, fuzz

pytestmark = pytest.mark.unit

ORIGIN = "fuzz-labels.csv"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
HEADER = ",".join(COLUMNS)

NAMES = [name for names in LABELS.values() for name in names]
header_names = st.sampled_from([*COLUMNS, "ARTICLE_ID", " task ", "colour", "", "\ufefftask", "label\x00"])
headers = st.one_of(
    st.permutations(COLUMNS).map(list),
    st.lists(header_names, min_size=1, max_size=8),
    st.lists(st.text(max_size=10), max_size=4),
)
values = {
    "article_id": st.one_of(st.sampled_from(["a1", "", " ", "a\x00", "x" * 65, "x" * 64]),
                            st.text(max_size=12)),
    "text": st.one_of(st.sampled_from(["Oil jumps", "", 'a "quoted", text', "line\nbreak", "\r", "\x00"]),
                      st.text(max_size=30)),
    "task": st.sampled_from(["topic", "sentiment", "TOPIC", " Sentiment ", "mood", "", "\x00"]),
    "label": st.one_of(st.sampled_from([*NAMES, "0", "19", "20", "-1", "--1", "²", "٣", "9" * 5000, "1.0",
                                        "1e3", "", " 1 ", "0x1", "bullish\x00"]), st.text(max_size=8)),
    "labeled_by": st.one_of(st.sampled_from(["ann", "", "x" * 201, "x" * 200]), st.text(max_size=12)),
    "labeled_at": st.one_of(st.sampled_from([
        "", "2026-11-02T10:00:00Z", "2026-11-02 11:00", "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00", "2026-02-30", "yesterday", "2026-11-02T10:00:00+24:00", "Z",
    ]), st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat), st.text(max_size=12)),
}


@st.composite
def label_files(draw: st.DrawFn) -> str:
    """A labels CSV: a header (usually the right one), then rows, well or badly quoted."""
    header = list(COLUMNS) if draw(st.booleans()) else draw(headers)
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(values[name]) if name in values else draw(st.text(max_size=5)) for name in header]
        row = row + draw(st.lists(st.text(max_size=5), max_size=2)) if draw(st.integers(0, 9)) == 0 else row
        rows.append(row[: draw(st.integers(0, len(row)))] if draw(st.integers(0, 9)) == 0 else row)
    out = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
        writer.writerow(header)
        writer.writerows(rows)
    else:
        out.write("\n".join(",".join(row) for row in [header, *rows]))
    start, end = draw(st.sampled_from(["", "\ufeff"])), draw(st.sampled_from(["", "\n", '"', "\x00"]))
    return start + out.getvalue() + end


def check_records(records: list[LabelRecord]) -> None:
    """What the database will be given: storable values only."""
    for r in records:
        assert r.task in LABELS and 0 <= r.label < len(LABELS[r.task])
        assert r.article_id or r.text.strip()
        assert len(r.article_id or "") <= 64 and 0 < len(r.labeled_by) <= 200
        assert r.labeled_at.utcoffset() == timedelta(0)
        for value in (r.article_id or "", r.text, r.labeled_by):
            assert "\x00" not in value
            value.encode("utf-8")
    assert all(len(row["article_id"]) <= 64 for row in import_rows(records))  # stub ids for text-only rows


def check_csv(content: str) -> list[LabelRecord] | None:
    try:
        records = parse_labels_csv(content, origin=ORIGIN, now=NOW)
    except ConfigError as exc:
        message = check_message(exc, ORIGIN)
        for line in message.split("\n"):
            if not line.startswith("..."):
                assert line.startswith(f"{ORIGIN}: "), line[:200]
        return None
    check_records(records)
    return records


def _file(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


# -- properties ------------------------------------------------------------------------------

@fuzz()
@given(label_files())
@example(_file("a1,,topic,1,ann,0001-01-01T00:00:00+01:00"))  # OverflowError from astimezone
@example(_file("a1,,topic,²,ann,"))  # "invalid literal for int()": the label was not named
@example(_file("a1,,topic,--1,ann,"))  # the same
@example(_file("a\x00,,topic,1,ann,"))  # a NUL character reached the database
@example(_file("a1,,topic,1," + "x" * 201 + ","))  # longer than the labeled_by column
@example(_file("a1,,topic," + "x" * 100_000 + ",ann,"))  # the label, repeated whole in the message
@example("task,label,labeled_by," + "x" * 1_000_000 + "\n")  # a megabyte header, repeated
@example(_file(*["a1,,topic,Weather,ann,"] * 30))  # ten lines listing every topic name: 3,900 characters
def test_label_files(content: str) -> None:
    check_csv(content)


@fuzz()
@given(st.text(max_size=300))
def test_arbitrary_text(content: str) -> None:
    check_csv(content)


@pytest.fixture
def small_field_limit() -> Iterator[None]:
    # ingest.replay_rows raises the process-wide limit when imported; the CLI runs with the default.
    before = csv.field_size_limit(131_072)
    try:
        yield
    finally:
        csv.field_size_limit(before)


@pytest.mark.parametrize("content", [
    _file("a1," + "x" * 200_000 + ",topic,1,ann,"),  # _csv.Error: field larger than field limit
    "task,label,labeled_by,text" + "x" * 200_000 + "\n",  # the same, in the header
    _file("a1," + "x" * 200_000 + ",topic,1,ann,", "a2,,topic,1,ann,", "a3,,topic,99,ann,"),
], ids=["row", "header", "then-more-rows"])
def test_fields_over_the_csv_limit(small_field_limit: None, content: str) -> None:
    assert check_csv(content) is None
    with pytest.raises(ConfigError, match=rf"^{ORIGIN}: line [12]: .*field larger than field limit"):
        parse_labels_csv(content, origin=ORIGIN, now=NOW)


@fuzz(0.3)
@given(st.binary(max_size=300) | st.sampled_from([
    b"\xef\xbb\xbf" + _file("a1,,topic,1,ann,").encode(),
    b"\xff\xfe" + _file("a1,,topic,1,ann,").encode("utf-16-le"),
    _file("a1,,topic,1,ann,").encode() + b"\xed\xa0\x80",
    _file("a1,\xe9t\xe9,topic,1,ann,").encode("latin-1"),
]))
def test_files(content: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="finpulse-fuzz-") as folder:
        path = Path(folder) / "labels.csv"
        path.write_bytes(content)
        try:
            records = read_labels_csv(path, NOW)
        except ConfigError as exc:
            check_message(exc, str(path))
            return
        check_records(records)


def test_bad_lines_are_named_with_their_problem() -> None:
    with pytest.raises(ConfigError) as err:
        parse_labels_csv(_file("a1,,topic,²,ann,", "a2,,topic,1,ann,0001-01-01T00:00:00+01:00",
                               "a\x00,,topic,1,ann,", "a4,,topic,1," + "x" * 201 + ","),
                         origin=ORIGIN, now=NOW)
    lines = str(err.value).split("\n")
    assert re.match(rf"{ORIGIN}: line 2: unknown topic label '²'", lines[0])
    assert lines[1] == f"{ORIGIN}: line 3: labeled_at '0001-01-01T00:00:00+01:00' is out of range in UTC"
    assert lines[2] == f"{ORIGIN}: line 4: article_id contains a NUL character or a lone surrogate"
    assert lines[3] == f"{ORIGIN}: line 5: labeled_by is longer than 200 characters"
