"""Fuzzing the rules file reader: any text gives a ``RuleSet`` or a ``ConfigError`` whose message
starts with the file's name and stays short, never a YAML, pydantic or Python error."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from alerts.rulefile import load_rules, parse_rules
from alerts.rules import RuleSet
from finpulse.errors import ConfigError
from finpulse.settings import REPO_ROOT
from tests.fuzz.conftest import check_message, fuzz
from tests.fuzz.documents import key_paths, mutate_yaml

pytestmark = pytest.mark.unit

SOURCE = "fuzz-rules.yaml"
SEED_TEXT = (REPO_ROOT / "config" / "rules.yaml").read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.splitlines()

# YAML fragments the dumper cannot write (or that are slow to generate).
NASTY = [
    ".inf", "-.inf", ".nan", "1e400", "-0", "9" * 5000, "0x1F", "0o17", "1_000", "~", "null", "yes", "[]",
    "{}",
    "'" + "9" * 400 + "d'", "'1e400s'", "'99999999999999999999999w'", "-1", "'-5m'", "'15 minutes'", "'0s'",
    "'1ms'", "'\\x00'", "\"\\0\"", "\"\\ud800\"", "'\U0001F4C8'", "'" + "x" * 20_000 + "'",
    "[" * 600 + "]" * 600, "&a [x]", "*undefined", "!!python/object:os.system ls", "!!binary aGk=",
    "2026-11-28", "2026-11-28T12:00:00Z", "{above: .inf}", "{type: zscore, above: .nan, baseline: .inf}",
    "[" + ", ".join(["x"] * 5_000) + "]", "{" + ", ".join(f"k{i}: v" for i in range(2000)) + "}",
]
yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["15m", "1h30m", "0s", "250ms", "24h", "ticker", "topic", "overall", "count",
                     "bearish_share", "threshold", "zscore", "Energy / Oil", "critical"]),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "scope", "metric", "window", "detector", "above", "below", "clear",
                         "baseline", "type", "keys", "for", "bucket", "labels"]) | st.text(max_size=8),
        inner, max_size=5),
    max_leaves=25,
)


SEED = yaml.safe_load(SEED_TEXT)
SEED_PATHS = key_paths(SEED)


def mutate(path: tuple, action: str, value: Any) -> str:
    """The shipped rules file with one value deleted or replaced, or a key added beside it."""
    return mutate_yaml(SEED_TEXT, path, action, value)


def check_rules(text: str, receivers: list[str] | None = None) -> RuleSet | None:
    try:
        ruleset = parse_rules(text, source=SOURCE, receivers=receivers)
    except ConfigError as exc:
        message = check_message(exc, SOURCE)
        assert message.startswith(f"{SOURCE}: "), message[:300]
        return None
    assert isinstance(ruleset, RuleSet)
    return ruleset


def _billion_laughs(levels: int, field: str, width: int = 9) -> str:
    lines = ["a0: &a0 x"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    rule = {"name": "r", "scope": "ticker", "metric": "count", "window": "15m", "detector": "{above: 1}"}
    rule[field] = f"*a{levels}"
    return "\n".join(lines) + "\nrules:\n  - {" + ", ".join(f"{k}: {v}" for k, v in rule.items()) + "}\n"


# -- properties ------------------------------------------------------------------------------

def test_the_seed_is_valid() -> None:
    assert check_rules(SEED_TEXT) is not None


@fuzz()
@given(st.text(max_size=300))
@example("[" * 1_000)  # RecursionError from PyYAML's composer
@example("\x00rules: []")
def test_arbitrary_text(text: str) -> None:
    check_rules(text)


@fuzz()
@given(st.dictionaries(st.sampled_from(["rules", "rulez"]), yaml_values, max_size=2) | yaml_values)
def test_arbitrary_documents(doc: Any) -> None:
    check_rules(yaml.safe_dump(doc, allow_unicode=True))


@fuzz()
@given(st.sampled_from(SEED_PATHS), st.one_of(
    st.tuples(st.just("delete"), st.none()),
    st.tuples(st.just("replace"), yaml_values),
    st.tuples(st.just("nasty"), st.sampled_from(NASTY)),
    st.tuples(st.just("extra"), st.tuples(st.sampled_from(["bucket", "keys", "receivers", "for", "clear"])
                                          | st.text(max_size=10), yaml_values)),
), st.none() | st.lists(st.sampled_from(["ops", "pager", ""]), max_size=2))
@example(("rules", 0, "window"), ("nasty", ".inf"), None)  # OverflowError from format_duration
@example(("rules", 1, "detector", "baseline"), ("nasty", "'" + "9" * 400 + "d'"), None)  # the same
@example(("rules", 0, "name"), ("nasty", "'" + "x" * 1_000_000 + "'"), None)  # the name, repeated
@example(("rules", 0, "window"), ("nasty", "'" + "x" * 100_000 + "'"), None)  # "not a duration: 'xxx…'"
@example(("rules", 0, "keys"), ("nasty", "[" + ", ".join(["x"] * 5_000) + "]"), None)  # 5,000 errors
@example(("rules", 1, "keys"), ("nasty", "[" + ", ".join(["x"] * 5_000) + "]"), None)  # unknown topics
@example(("rules", 0, "labels"), ("nasty", "[" * 600 + "]" * 600), None)  # RecursionError
@example(("rules", 0, "min_count"), ("nasty", "9" * 5000), None)  # ValueError from PyYAML's int()
@example(("rules", 0, "window"), ("extra", ("bucket", "0s")), None)  # ZeroDivisionError
@example(("rules", 1, "window"), ("nasty", "1e308"), None)  # 2 * window is inf: OverflowError
@example(("rules", 1, "window"), ("nasty", "'" + "9" * 400 + "w'"), None)  # the same, from a string
def test_mutated_seed(path: tuple, mutation: tuple[str, Any], receivers: list[str] | None) -> None:
    action, value = mutation
    check_rules(mutate(path, action, value), receivers)


@fuzz()
@given(st.lists(st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(SEED_LINES) - 1), st.none()),
    st.tuples(st.just("duplicate"), st.integers(0, len(SEED_LINES) - 1), st.none()),
    st.tuples(st.just("insert"), st.integers(0, len(SEED_LINES) - 1), st.text(max_size=20)),
    st.tuples(st.just("indent"), st.integers(0, len(SEED_LINES) - 1), st.sampled_from(["  ", "\t", "- "])),
), min_size=1, max_size=4))
def test_edited_seed_lines(edits: list[tuple[str, int, str | None]]) -> None:
    lines = list(SEED_LINES)
    for action, at, extra in edits:
        at %= len(lines) or 1
        if not lines:
            break
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "insert":
            lines.insert(at, extra or "")
        else:
            lines[at] = (extra or "") + lines[at]
    check_rules("\n".join(lines))


@pytest.mark.parametrize("text", [
    # Aliases: a value of 531,441 leaves was written out whole into the message.
    _billion_laughs(6, "description"),
    _billion_laughs(6, "name"),
    "rules:\n  - " + "[" * 1000 + "]" * 1000,  # RecursionError from the composer
], ids=["aliases-in-a-value", "aliases-as-the-name", "deep"])
def test_regressions(text: str) -> None:
    check_rules(text)


@fuzz(0.3)
@given(st.binary(max_size=200) | st.sampled_from([b"\xef\xbb\xbf" + SEED_TEXT.encode(), b"\xff\xfe\x00r",
                                                  SEED_TEXT.encode("utf-16"), b"rules: [\xed\xa0\x80]"]))
def test_files(content: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="finpulse-fuzz-") as folder:
        path = Path(folder) / "rules.yaml"
        path.write_bytes(content)
        try:
            load_rules(path)
        except ConfigError as exc:
            check_message(exc, str(path))
