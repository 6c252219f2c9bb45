"""Seed data parsing, the stratified dev split and --limit sampling."""

from __future__ import annotations

from collections import Counter

import pytest

from classifier.training.data import Example, load_seed, parse_csv, sample, stratified_split
from finpulse.errors import ConfigError
from finpulse.settings import SHARED_SEED_DATA

pytestmark = pytest.mark.unit


def test_parse_csv_keeps_newlines_inside_quotes() -> None:
    rows = parse_csv('text,label\n"line one\nline two",2\nplain,0\n', task="sentiment", origin="x.csv")
    assert rows == [("line one\nline two", 2), ("plain", 0)]


@pytest.mark.parametrize(("content", "needle"), [
    ("txt,lbl\na,1\n", "header"),
    ("text,label\na,7\n", "line 2: sentiment label 7 is out of range 0..2"),
    ("text,label\na,x\n", "line 2: label 'x' is not an integer"),
    ("text,label\na,1,2\n", "line 2: expected 2 fields"),
])
def test_parse_csv_names_the_bad_row(content: str, needle: str) -> None:
    with pytest.raises(ConfigError, match="bad.csv") as err:
        parse_csv(content, task="sentiment", origin="bad.csv")
    assert needle in str(err.value)


def _examples() -> list[Example]:
    return ([Example(f"t{i}", topic=i % 4) for i in range(400)]
            + [Example(f"s{i}", sentiment=i % 3) for i in range(300)])


def test_stratified_split_is_deterministic_and_stratified() -> None:
    train, dev = stratified_split(_examples(), 0.1, seed=7)
    again = stratified_split(_examples(), 0.1, seed=7)
    assert (train, dev) == again
    assert len(dev) == 70 and len(train) == 630
    assert not {e.text for e in train} & {e.text for e in dev}
    assert Counter(e.stratum() for e in dev) == {**{("topic", k): 10 for k in range(4)},
                                                 **{("sentiment", k): 10 for k in range(3)}}
    assert stratified_split(_examples(), 0.1, seed=8)[1] != dev


def test_sample_keeps_every_stratum() -> None:
    picked = sample(_examples(), 70, seed=1)
    assert len(picked) == 70
    assert len({e.stratum() for e in picked}) == 7


@pytest.mark.skipif(not SHARED_SEED_DATA.is_dir(), reason="seed data not present")
def test_load_seed_reads_both_files_with_hashes() -> None:
    data = load_seed(str(SHARED_SEED_DATA), limit=100)
    manifest = data.manifest(seed=13, dev_fraction=0.1, limit=100)
    files = {f["task"]: f for f in manifest["files"]}
    assert files["sentiment"]["rows"] == 9543 and files["topic"]["rows"] == 16990
    assert all(len(f["sha256"]) == 64 for f in files.values())
    assert manifest["train"]["rows"] == 100
    assert manifest["train"]["topic"] > 0 and manifest["train"]["sentiment"] > 0
