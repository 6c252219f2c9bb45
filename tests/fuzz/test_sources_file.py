"""Fuzzing the sources file reader: any file gives a list of sources or a ``ConfigError`` whose
message starts with the file's name and stays short, never a YAML, pydantic or Python error."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from finpulse.errors import ConfigError
from finpulse.settings import REPO_ROOT
from ingest.sources import load_sources, parse_sources
from tests.fuzz.conftest import check_message, fuzz
from tests.fuzz.documents import key_paths, mutate_yaml

pytestmark = pytest.mark.unit

SEED_TEXT = (REPO_ROOT / "config" / "sources.yaml").read_text(encoding="utf-8")
# The shipped file leaves replay commented out: the seed has one of each type.
SEED_TEXT += "  - {name: archive, type: replay, path: ../var/archive.jsonl, rate_per_s: 5}\n" \
             "  - {name: news-map, type: sitemap, url: 'https://example.com/sitemap.xml'}\n" \
             "  - {name: one-page, type: page, url: 'https://example.com/a'}\n"
SEED_LINES = SEED_TEXT.splitlines()

NASTY = [
    ".inf", "-.inf", ".nan", "1e400", "-0", "0", "9" * 5000, "~", "yes", "[]", "{}", "'" + "x" * 20_000 + "'",
    "'http://['", "'https://[::1'", "'http://h:99999/p'", "'http://\u2100.com/'", "'ftp://e.com/'",
    "'http://127.0.0.1/articles'", "'javascript:alert(1)'", "\"\\0\"", "\"\\ud800\"", "'\U0001F4C8'",
    "'/dev/null'", "'../../etc/passwd'", "\"a\\0b\"", "[" * 600 + "]" * 600, "*undefined",
    "!!python/name:os.system", "!!binary aGk=", "2026-11-28", "[" + ", ".join(["x"] * 5_000) + "]",
]
yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["feed", "sitemap", "page", "replay", "push", "https://example.com/f",
                     "http://127.0.0.1:8765/a", "data/x.csv", "live", "shift"]),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "type", "url", "path", "poll_s", "max_items", "enabled", "speed",
                         "rate_per_s", "timestamps", "loop", "max_body_bytes"]) | st.text(max_size=8),
        inner, max_size=5),
    max_leaves=25,
)


SEED_PATHS = key_paths(yaml.safe_load(SEED_TEXT))


def mutate(path: tuple, action: str, value: Any) -> str:
    """The seed with one value deleted or replaced, or a key added beside it."""
    return mutate_yaml(SEED_TEXT, path, action, value)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="finpulse-fuzz-") as path:
        yield Path(path)


def check_sources(folder: Path, content: str | bytes) -> list | None:
    path = folder / "sources.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    try:
        sources = load_sources(path)
    except ConfigError as exc:
        message = check_message(exc, str(path))
        assert message.startswith(f"{path}: "), message[:300]
        return None
    assert isinstance(sources, list)
    return sources


def _billion_laughs(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 x"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nsources:\n  - {{name: *a{levels}, type: *a{levels}}}\n"


# -- properties ------------------------------------------------------------------------------

def test_the_seed_is_valid(workdir: Path) -> None:
    assert len(check_sources(workdir, SEED_TEXT) or []) == len(yaml.safe_load(SEED_TEXT)["sources"])


@fuzz()
@given(st.text(max_size=300) | st.binary(max_size=300))
@example("[" * 1_000)  # RecursionError from PyYAML's composer
@example(b"sources: [\xff]")
@example(b"\xef\xbb\xbfsources: []")
def test_arbitrary_text(workdir: Path, text: str | bytes) -> None:
    check_sources(workdir, text)


@fuzz()
@given(st.dictionaries(st.sampled_from(["sources", "source"]), yaml_values, max_size=2) | yaml_values)
def test_arbitrary_documents(workdir: Path, doc: Any) -> None:
    check_sources(workdir, yaml.safe_dump(doc, allow_unicode=True))


@fuzz()
@given(st.sampled_from(SEED_PATHS), st.one_of(
    st.tuples(st.just("delete"), st.none()),
    st.tuples(st.just("replace"), yaml_values),
    st.tuples(st.just("nasty"), st.sampled_from(NASTY)),
    st.tuples(st.just("extra"), st.tuples(st.sampled_from(["poll_s", "path", "url", "type", "name"])
                                          | st.text(max_size=10), yaml_values)),
))
@example(("sources", 0, "poll_s"), ("nasty", "9" * 5000))  # ValueError from PyYAML's int()
@example(("sources", 0, "name"), ("nasty", "'" + "x" * 1_000_000 + "'"))  # the name, repeated
@example(("sources", 0, "url"), ("nasty", "'" + "x" * 100_000 + "'"))  # the URL, repeated
@example(("sources", 0, "type"), ("nasty", "'" + "x" * 100_000 + "'"))  # the type, repeated
@example(("sources", 0, "name"), ("nasty", "[" + ", ".join(["x"] * 5_000) + "]"))  # a list as the name
@example(("sources",), ("nasty", "[" + ", ".join(["1"] * 5_000) + "]"))  # 5,000 bad entries
@example(("sources", 0, "name"), ("nasty", "[" * 600 + "]" * 600))  # RecursionError
def test_mutated_seed(workdir: Path, path: tuple, mutation: tuple[str, Any]) -> None:
    action, value = mutation
    check_sources(workdir, mutate(path, action, value))


@fuzz()
@given(st.lists(st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(SEED_LINES) - 1), st.none()),
    st.tuples(st.just("duplicate"), st.integers(0, len(SEED_LINES) - 1), st.none()),
    st.tuples(st.just("insert"), st.integers(0, len(SEED_LINES) - 1), st.text(max_size=20)),
    st.tuples(st.just("indent"), st.integers(0, len(SEED_LINES) - 1), st.sampled_from(["  ", "\t", "- "])),
), min_size=1, max_size=4))
def test_edited_seed_lines(workdir: Path, edits: list[tuple[str, int, str | None]]) -> None:
    lines = list(SEED_LINES)
    for action, at, extra in edits:
        if not lines:
            break
        at %= len(lines)
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "insert":
            lines.insert(at, extra or "")
        else:
            lines[at] = (extra or "") + lines[at]
    check_sources(workdir, "\n".join(lines))


def test_alias_bomb_is_not_expanded_into_the_message(workdir: Path) -> None:
    # The name (a list of 531,441 leaves through aliases) went into the message whole.
    check_sources(workdir, _billion_laughs(6))


@fuzz(0.5)
@given(yaml_values)
def test_parse_sources_takes_any_value(value: Any) -> None:
    try:
        parse_sources({"sources": value} if isinstance(value, list) else value, origin="doc")
    except ConfigError as exc:
        check_message(exc, "doc")
