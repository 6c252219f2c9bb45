"""Fuzzing the message decoders: ``decode(Model, data)`` returns a model that can be encoded
again, or raises ``ContractError`` naming the model, in a bounded message; never anything else.

``REGRESSIONS`` keeps every input that once broke the decoder.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from finpulse.errors import ContractError
from finpulse.schemas import (
    AlertEvent,
    Article,
    ClassifiedArticle,
    DeadLetter,
    Evidence,
    Message,
    Prediction,
    decode,
)
from tests.fuzz.conftest import check_message, fuzz
from tests.fuzz.documents import key_paths

pytestmark = pytest.mark.unit

MODELS: list[type[Message]] = [Article, ClassifiedArticle, AlertEvent, DeadLetter]
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


# -- valid messages ------------------------------------------------------------------------

short = st.text(max_size=40)
word = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=20)
ids = st.text(string.hexdigits.lower(), min_size=8, max_size=64)
when = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
unit = st.floats(0, 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
tickers = st.lists(st.text(string.ascii_uppercase, min_size=1, max_size=8), max_size=5)

articles = st.builds(
    Article, id=ids, source=word, url=st.none() | short, title=short, text=st.text(max_size=300),
    published=when, fetched=when, language=st.none() | st.sampled_from(["en", "de", "fr"]),
    tickers=tickers, author=st.none() | short, duplicate_of=st.none() | ids,
)
predictions = st.builds(
    Prediction, topic=word, topic_id=st.integers(0, 19), topic_confidence=unit,
    topic_probs=st.lists(unit, max_size=20), sentiment=st.sampled_from(["bearish", "bullish", "neutral"]),
    sentiment_confidence=unit, sentiment_probs=st.lists(unit, max_size=3), sentiment_score=st.floats(-1, 1),
    model_version=word, latency_ms=st.floats(0, 1e6), classified_at=when,
)
classified = st.builds(ClassifiedArticle, article=articles, prediction=predictions, tickers=tickers)
evidence = st.builds(
    Evidence, article_id=ids, title=short, url=st.none() | short, source=word,
    sentiment=word, sentiment_score=st.floats(-1, 1), published=when,
)
alerts = st.builds(
    AlertEvent, alert_id=word, fingerprint=ids, rule=word,
    scope=st.sampled_from(["overall", "topic", "ticker", "source"]), key=short,
    state=st.sampled_from(["pending", "firing", "resolved"]), severity=word,
    labels=st.dictionaries(word, short, max_size=3), metric=word, value=finite, threshold=finite,
    baseline=st.none() | finite, window_start=when, window_end=when,
    counts=st.dictionaries(word, st.integers(0, 10**6), max_size=3), evidence=st.lists(evidence, max_size=2),
    model_version=st.none() | word, dashboard_url=st.none() | short, at=when,
)
letters = st.builds(
    DeadLetter, stage=word, error=short, error_type=word, original_b64=st.just("aGk="),
    topic=st.none() | word, partition=st.none() | st.integers(0, 100), offset=st.none() | st.integers(0),
    source=st.none() | word, url=st.none() | short, at=when,
)
VALID = {Article: articles, ClassifiedArticle: classified, AlertEvent: alerts, DeadLetter: letters}
messages = st.one_of(*VALID.values())


def seed(model: type[Message]) -> dict[str, Any]:
    """One valid message of ``model`` as a JSON object."""
    article = Article(id="a" * 32, source="example", url="https://example.com/a", title="Fed holds",
                      text="Body.", published=NOW, fetched=NOW, language="en", tickers=["JPM"])
    prediction = Prediction(
        topic="Macro", topic_id=14, topic_confidence=0.9, topic_probs=[0.05] * 20, sentiment="bearish",
        sentiment_confidence=0.8, sentiment_probs=[0.8, 0.1, 0.1], sentiment_score=-0.7,
        model_version="v1", latency_ms=3.5, classified_at=NOW,
    )
    built: dict[type[Message], Message] = {
        Article: article,
        ClassifiedArticle: ClassifiedArticle(article=article, prediction=prediction, tickers=["JPM"]),
        AlertEvent: AlertEvent(
            alert_id="a1", fingerprint="f" * 32, rule="r", scope="topic", key="Macro", state="firing",
            metric="bearish_share", value=0.8, threshold=0.6, baseline=0.3, labels={"team": "x"},
            window_start=NOW - timedelta(minutes=15), window_end=NOW, counts={"n": 10},
            evidence=[Evidence(article_id="x" * 32, title="t", source="s", sentiment="bearish",
                               sentiment_score=-0.9, published=NOW)],
            at=NOW,
        ),
        DeadLetter: DeadLetter(stage="classifier", error="bad", error_type="ValueError",
                               original_b64="aGk=", topic="news.raw", partition=0, offset=1, at=NOW),
    }
    return json.loads(built[model].encode())


# -- hostile values ------------------------------------------------------------------------

# Raw JSON fragments that json.dumps cannot produce (or that are slow to generate).
NASTY: list[bytes] = [
    b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-0", b"9" * 5000, b"9" * 4000, b"true", b"null",
    b"{}", b"[]", b'""', b'"1"', b'"\\ud800"', b'"x\\udfff"', b'"\\u0000\\u001f\\u007f"',
    "\"\U0001F4C8\u202e\u200b\"".encode(), b'"\xff\xfe"', b'"\xed\xa0\x80"',
    b'"' + b"x" * 1_000_000 + b'"', b"[" + b"1," * 100_000 + b"1]",
    b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"[" * 150 + b"]" * 150, b'"0001-01-01T00:00:00+01:00"', b'"9999-12-31T23:59:59-01:00"',
    b'"2026-02-30T00:00:00Z"', b'"2026-11-28T12:00:00"', b'{"' + b"k" * 100_000 + b'": 1}',
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_HOLE = "\x00fuzz-hole\x00"


def _dump(obj: Any, fragment: bytes | None = None) -> bytes:
    data = json.dumps(obj, allow_nan=True).encode()
    return data.replace(json.dumps(_HOLE).encode(), fragment) if fragment is not None else data


def _set(obj: Any, path: tuple, value: Any, *, delete: bool = False) -> None:
    for key in path[:-1]:
        obj = obj[key]
    if delete:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


def check_decode(model: type[Message], data: bytes | str) -> Message | str:
    """The decoder's contract, for any input: the message, or the error's text."""
    try:
        message = decode(model, data)
    except ContractError as exc:
        return check_message(exc, model.__name__)
    assert isinstance(message, model)
    message.encode()  # what was accepted can be passed on (to a topic, a dead letter)
    return message


def _model_and_path(model: type[Message]) -> st.SearchStrategy[tuple[type[Message], tuple]]:
    return st.tuples(st.just(model), st.sampled_from(key_paths(seed(model))))


fields = st.sampled_from(MODELS).flatmap(_model_and_path)
mutations = st.one_of(
    st.tuples(st.just("delete"), st.none()),
    st.tuples(st.just("replace"), json_values),
    st.tuples(st.just("nasty"), st.sampled_from(NASTY)),
    st.tuples(st.just("extra"), st.tuples(st.text(max_size=20), json_values)),
)


def mutate(model: type[Message], path: tuple, action: str, value: Any) -> bytes:
    """A valid message of ``model`` with the field at ``path`` deleted or replaced, or a key
    added next to it."""
    obj = seed(model)
    if action == "delete":
        _set(obj, path, None, delete=True)
    elif action == "replace":
        _set(obj, path, value)
    elif action == "nasty":
        _set(obj, path, _HOLE)
        return _dump(obj, value)
    else:
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict):
            parent[value[0]] = value[1]
        else:
            parent.append(value[1])
    return _dump(obj)


# -- properties ----------------------------------------------------------------------------

@fuzz()
@given(messages)
def test_valid_messages_round_trip(message: Message) -> None:
    assert decode(type(message), message.encode()) == message


@fuzz()
@given(st.sampled_from(MODELS), st.binary(max_size=500) | st.text(max_size=200))
@example(Article, b"\x00\x01\xffnot json")
@example(Article, b"")
@example(DeadLetter, "\ufeff{}")
def test_arbitrary_bytes(model: type[Message], data: bytes | str) -> None:
    check_decode(model, data)


@fuzz()
@given(st.sampled_from(MODELS),
       st.dictionaries(st.sampled_from(["schema", "id", "stage", "article", "at"]) | st.text(max_size=10),
                       json_values, max_size=6) | json_values)
@example(Article, {"schema": []})  # TypeError: unhashable type: 'list'
def test_arbitrary_json_values(model: type[Message], value: Any) -> None:
    check_decode(model, _dump(value))


@fuzz(0.5)
@given(fields, mutations)
@example((Article, ("published",)), ("nasty", b'"0001-01-01T00:00:00+01:00"'))  # OverflowError
def test_mutated_messages(field: tuple[type[Message], tuple], mutation: tuple[str, Any]) -> None:
    (model, path), (action, value) = field, mutation
    result = check_decode(model, mutate(model, path, action, value))
    if isinstance(result, str) and action != "extra" and "JSON" not in result:
        # Only that field changed, so the error must be about it.
        assert str(path[0]) in result, f"{path[0]!r} not named in {result[:300]!r}"


# -- regression corpus: inputs that broke the decoder ----------------------------------------

REGRESSIONS = [
    # json.loads: RecursionError escaped decode.
    pytest.param(Article, b"[" * 10_000 + b"]" * 10_000, id="deep-list"),
    pytest.param(AlertEvent, mutate(AlertEvent, ("labels",), "nasty",
                                    b'{"a":' * 5_000 + b"1" + b"}" * 5_000),
                 id="deep-object-in-field"),
    # TypeError: unhashable type, from the schema version check.
    pytest.param(Article, b'{"schema": []}', id="schema-list"),
    pytest.param(DeadLetter, b'{"schema": {"v": 1}}', id="schema-object"),
    # Quoted back in the message, a deep list must not raise RecursionError from repr().
    pytest.param(Article, b'{"schema": ' + b"[" * 900 + b"]" * 900 + b"}",
                 id="schema-deep-list"),
    # OverflowError from _as_utc: a valid ISO time whose UTC equivalent is outside year 1..9999.
    pytest.param(Article, mutate(Article, ("published",), "replace", "0001-01-01T00:00:00+01:00"),
                 id="date-before-year-1"),
    pytest.param(ClassifiedArticle, mutate(ClassifiedArticle, ("prediction", "classified_at"), "replace",
                                           "9999-12-31T23:59:59-01:00"), id="date-after-year-9999"),
    # Messages of a megabyte and more: the schema value, an unknown key, one error per list item.
    pytest.param(Article, b'{"schema": "' + b"x" * 1_000_000 + b'"}',
                 id="huge-schema"),
    pytest.param(Article, mutate(Article, ("title",), "extra", ("k" * 1_000_000, 1)), id="huge-unknown-key"),
    pytest.param(Article, mutate(Article, ("tickers",), "replace", [1] * 100_000), id="many-bad-items"),
    # A lone surrogate is decoded, then the model cannot be encoded (PydanticSerializationError).
    pytest.param(Article, mutate(Article, ("title",), "nasty", b'"\\ud800"'),
                 id="lone-surrogate"),
    pytest.param(ClassifiedArticle, mutate(ClassifiedArticle, ("article", "text"), "nasty", b'"a\\udfff"'),
                 id="lone-surrogate-nested"),
    # Handled from the start; kept so that they stay handled.
    pytest.param(Article, b'{"schema": ' + b"9" * 5000 + b"}", id="huge-int-schema"),
    pytest.param(Article, b'{"schema": NaN}', id="nan-schema"),
    pytest.param(Article, b"\xed\xa0\x80", id="utf8-encoded-surrogate"),
    pytest.param(DeadLetter, None, id="null-value"),
]


@pytest.mark.parametrize(("model", "data"), REGRESSIONS)
def test_regressions(model: type[Message], data: bytes | None) -> None:
    if data is None:
        with pytest.raises(ContractError):
            decode(model, data)
        return
    check_decode(model, data)
