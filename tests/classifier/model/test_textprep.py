"""Text preparation: links become one word piece for the encoder, a version keeps its
preparation, and near-duplicate headlines never straddle the dev split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.model.textprep import TEXTPREP_FILE, TextPrep, dedup_key
from classifier.training.data import Example, stratified_split
from finpulse.errors import ConfigError

pytestmark = pytest.mark.unit

TWEET = "Toyota loses the EV tax credit https://t.co/GxK9sZ7f1Y and www.example.com/x too"


def test_links_become_the_marker_and_nothing_else_changes() -> None:
    assert TextPrep("http")(TWEET) == "Toyota loses the EV tax credit http and http too"
    assert TextPrep("http")("No link here: 3.5% at https") == "No link here: 3.5% at https"
    assert TextPrep()(TWEET) == TWEET  # versions trained before text preparation read text as is


def test_a_version_keeps_its_preparation(tmp_path: Path) -> None:
    assert TextPrep.load(tmp_path) == TextPrep()  # no file: an older version
    TextPrep("http").save(tmp_path)
    assert TextPrep.load(tmp_path) == TextPrep("http")
    (tmp_path / TEXTPREP_FILE).write_text(json.dumps({"url_marker": 3}))
    with pytest.raises(ConfigError, match=f"{TEXTPREP_FILE}: url_marker must be a string"):
        TextPrep.load(tmp_path)
    (tmp_path / TEXTPREP_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match=f"{TEXTPREP_FILE}: not a text preparation file"):
        TextPrep.load(tmp_path)


def test_dedup_key_ignores_links_case_and_spacing() -> None:
    a = "Jury selection begins Monday in Bannon trial  https://t.co/ix76WWtCdW"
    b = "JURY SELECTION BEGINS MONDAY IN BANNON TRIAL https://t.co/other"
    assert dedup_key(a) == dedup_key(b) == "jury selection begins monday in bannon trial"
    assert dedup_key("Bannon trial begins") != dedup_key(a)


def test_near_duplicates_land_on_one_side_of_the_split() -> None:
    examples = []
    for i in range(300):
        examples.append(Example(f"Headline number {i} https://t.co/a{i}", topic=i % 3))
        examples.append(Example(f"HEADLINE NUMBER {i}  https://t.co/b{i}", topic=i % 3))
    train, dev = stratified_split(examples, 0.1, seed=5)
    assert len(dev) == 60 and len(train) == 540
    assert not {dedup_key(e.text) for e in train} & {dedup_key(e.text) for e in dev}
