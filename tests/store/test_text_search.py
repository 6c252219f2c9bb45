"""The pure parts of headline search: FTS5 terms, trigrams, and which trigrams narrow."""

from __future__ import annotations

import pytest

from store.queries.text_search import fts_term, like_pattern, pick, trigrams

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("trigram", "term"), [
    ('a"b', '"a""b"'), ('"""', '""""""""'), ("*-:", '"*-:"'), ("AND", '"AND"'), ("^(x", '"^(x"'),
])
def test_a_trigram_is_one_literal_fts_string(trigram: str, term: str) -> None:
    assert fts_term(trigram) == term


def test_like_pattern_escapes_wildcards_and_folds_case() -> None:
    assert like_pattern("50%_A\\b") == "%50\\%\\_a\\\\b%"


def test_trigrams_are_distinct_with_their_first_position() -> None:
    assert trigrams("abcabcd") == [(0, "abc"), (1, "bca"), (2, "cab"), (4, "bcd")]
    assert trigrams("ab") == []


def test_pick_prefers_rare_trigrams_that_do_not_overlap_and_skips_dense_ones() -> None:
    measured = [(0, "ear", 10), (1, "arn", 10), (2, "rni", 11), (5, "ngs", 12),
                (9, "hea", 900), (16, "e 1", 40)]
    assert pick(measured, sample=1000) == ["ear", "ngs", "e 1"]
    assert pick([(0, "hea", 900), (3, "dli", 950)], sample=1000) == []
