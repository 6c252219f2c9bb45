"""Rule files: the shipped one is valid, and every mistake gets a precise message (never a
traceback), from the library and from ``finpulse alerts check-rules``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alerts.durations import format_duration, parse_duration
from alerts.rulefile import load_rules, parse_rules
from finpulse.errors import ConfigError
from finpulse.settings import REPO_ROOT
from system.cli import main

pytestmark = pytest.mark.unit

GOOD = """
rules:
  - name: r1
    scope: ticker
    metric: bearish_share
    window: 15m
    detector: {above: 0.6}
"""


def _rule(**fields: object) -> str:
    base = {"name": "r1", "scope": "ticker", "metric": "bearish_share", "window": "15m",
            "detector": {"above": 0.6}}
    base.update(fields)
    base = {k: v for k, v in base.items() if v is not None}
    return yaml.safe_dump({"rules": [base]})


def test_shipped_rules_file_is_valid() -> None:
    rules = load_rules(REPO_ROOT / "config" / "rules.yaml")
    assert len(rules.rules) >= 3
    assert {r.detector.type for r in rules.rules} >= {"threshold", "zscore", "ratio"}


def test_durations() -> None:
    assert parse_duration("15m") == 900
    assert parse_duration("1h30m") == 5400
    assert parse_duration(45) == 45
    assert parse_duration("250ms") == 0.25
    assert format_duration(5400) == "1h30m"
    for bad in ("15 minutes", "m", "", "-5s", True, None):
        with pytest.raises(ValueError):
            parse_duration(bad)


MISTAKES = [
    ("", "the file is empty"),
    ("rules: [\n  {name: a", "not valid YAML"),
    ("- just a list", "expected a mapping with a 'rules' list"),
    ("rulez: []", "rulez: unknown field"),
    (_rule(scope="tickr"),
     "rules[0] (r1).scope: Input should be 'overall', 'topic', 'ticker' or 'source' (got 'tickr')"),
    (_rule(metric="bearish"), "rules[0] (r1).metric"),
    (_rule(window="15 minutes"), "rules[0] (r1).window: not a duration: '15 minutes'"),
    (_rule(window=0.5), "window must be at least 1s"),
    (_rule(name=None), "rules[0].name: required field is missing"),
    (_rule(name="has space"), "rules[0] (has space).name"),
    (_rule(detector={"above": 0.6, "below": 0.1}), "give exactly one of 'above' or 'below'"),
    (_rule(detector={}), "give exactly one of 'above' or 'below'"),
    (_rule(detector={"type": "zscore", "above": 3}), "a zscore detector needs a 'baseline' duration"),
    (_rule(detector={"type": "threshold", "above": 3, "baseline": "1h"}),
     "a threshold detector takes no baseline"),
    (_rule(detector={"type": "zscore", "above": 3, "baseline": "20m"}), "must cover at least two windows"),
    (_rule(detector={"type": "magic", "above": 3}), "rules[0] (r1).detector.type"),
    (_rule(detector={"above": 0.6, "clear": 0.8}), "clear (0.8) must not exceed above (0.6)"),
    (_rule(detector={"below": -0.5, "clear": -0.7}), "clear (-0.7) must not be less than below (-0.5)"),
    (_rule(scope="overall", keys=["X"]), "scope 'overall' has a single key"),
    (_rule(scope="topic", keys=["Banks"]), "unknown topic(s) ['Banks']"),
    (_rule(keys=[]), "an empty list matches nothing"),
    (_rule(min_count=0), "rules[0] (r1).min_count"),
    (_rule(min_confidence=1.5), "rules[0] (r1).min_confidence"),
    (_rule(bucket="7m"), "whole number of buckets"),
    (_rule(bucket="1h"), "bucket must not be longer than window"),
    (_rule(severity="panic"), "rules[0] (r1).severity"),
    (_rule(labels={"team": ["a"]}), "rules[0] (r1).labels.team"),
    (_rule(threshold=3), "rules[0] (r1).threshold: unknown field"),
    (_rule(**{"for": "soon"}), "rules[0] (r1).for: not a duration: 'soon'"),
    ("rules:\n" + GOOD.split("rules:\n")[1] * 2, "duplicate rule name 'r1'"),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES, ids=[m[1][:40] for m in MISTAKES])
def test_each_mistake_has_a_precise_message(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(text, source="rules.yaml")
    assert str(info.value).startswith("rules.yaml: ")
    assert expected in str(info.value)


def test_unknown_receiver_is_named() -> None:
    with pytest.raises(ConfigError, match=r"rules\[0\] \(r1\)\.receivers: unknown receiver 'pager'"):
        parse_rules(_rule(receivers=["pager"]), receivers=["ops"])


def test_several_mistakes_are_all_listed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(_rule(scope="x", metric="y", window="z"))
    assert "3 problem(s)" in str(info.value)


def test_check_rules_cli_reports_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(_rule(metric="bearsh"), encoding="utf-8")
    assert main(["alerts", "check-rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "rules[0] (r1).metric" in err and "Traceback" not in err
    assert main(["alerts", "check-rules", str(tmp_path / "missing.yaml")]) == 2
    assert "rules file not found" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    assert main(["alerts", "check-rules", str(good)]) == 0
    assert "1 rule(s) OK" in capsys.readouterr().out


def test_check_rules_as_a_command(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_bytes(b"\xff\xfe not utf-8")
    proc = subprocess.run([sys.executable, "-m", "system.cli", "alerts", "check-rules", str(bad)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "cannot read rules file" in proc.stderr and "Traceback" not in proc.stderr
