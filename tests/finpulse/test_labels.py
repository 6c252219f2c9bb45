"""Parsing labels CSV: ids or names, times, and errors that name the line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from finpulse.errors import ConfigError
from finpulse.labels import format_labels_csv, parse_labels_csv

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def parse(text: str):
    return parse_labels_csv(text, origin="labels.csv", now=NOW)


def test_ids_names_and_times_are_parsed() -> None:
    rows = parse("article_id,text,task,label,labeled_by,labeled_at\n"
                 "a1,,topic,Energy / Oil,ann,2026-11-02T10:00:00Z\n"
                 ",Oil jumps,sentiment,BULLISH,bob,2026-11-02 11:00\n"
                 "a2,,topic,5,cat,\n")
    assert [(r.article_id, r.task, r.label, r.labeled_by) for r in rows] == [
        ("a1", "topic", 6, "ann"), (None, "sentiment", 1, "bob"), ("a2", "topic", 5, "cat")]
    assert rows[0].labeled_at == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert rows[1].labeled_at == datetime(2026, 11, 2, 11, tzinfo=UTC)  # no zone: UTC
    assert rows[1].text == "Oil jumps" and rows[2].labeled_at == NOW


def test_every_bad_line_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        parse("article_id,task,label,labeled_by,labeled_at\n"
              "a1,topic,Weather,ann,\n"
              "a2,mood,1,ann,\n"
              "a3,sentiment,7,ann,\n"
              "a4,sentiment,1,,\n"
              ",topic,1,ann,\n"
              "a5,topic,1,ann,yesterday\n"
              "a6,topic,1,ann,\n")
    msg = str(err.value)
    for line, what in [(2, "unknown topic label 'Weather'"), (3, "task 'mood'"),
                       (4, "out of range 0..2"), (5, "labeled_by is empty"),
                       (6, "needs an article_id or a text"), (7, "not an ISO 8601 time")]:
        assert f"labels.csv: line {line}: " in msg and what in msg
    assert "line 8" not in msg


def test_a_bad_header_is_refused() -> None:
    with pytest.raises(ConfigError, match="header needs"):
        parse("id,label\nx,1\n")
    with pytest.raises(ConfigError, match=r"unknown column\(s\) \['colour'\]"):
        parse("text,task,label,labeled_by,colour\nx,topic,1,ann,red\n")


def test_export_format_round_trips() -> None:
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    text = format_labels_csv([{"article_id": "a1", "text": 'Oil, "up"', "task": "topic", "label": 6,
                               "labeled_by": "ann", "labeled_at": at}])
    (row,) = parse(text)
    assert (row.article_id, row.text, row.task, row.label, row.labeled_at) == (
        "a1", 'Oil, "up"', "topic", 6, at)
