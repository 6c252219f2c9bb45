"""Contract tests: every message type round-trips; readers refuse what they don't know."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from finpulse.errors import ContractError
from finpulse.schemas import (
    MAX_LETTER_ORIGINAL_BYTES,
    AlertEvent,
    Article,
    ClassifiedArticle,
    DeadLetter,
    Evidence,
    Prediction,
    article_id_for_source,
    article_id_for_url,
    decode,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def article(**kw) -> Article:
    base = dict(id=article_id_for_url("https://example.com/a"), source="example",
                url="https://example.com/a", title="Fed holds rates", text="Body.",
                published=NOW, fetched=NOW, language="en", tickers=["JPM"])
    return Article(**{**base, **kw})


def prediction(**kw) -> Prediction:
    base = dict(topic="Fed / Central Banks", topic_id=1, topic_confidence=0.9,
                topic_probs=[0.05] * 20, sentiment="bearish", sentiment_confidence=0.8,
                sentiment_probs=[0.8, 0.1, 0.1], sentiment_score=-0.7, model_version="v1",
                latency_ms=3.5, classified_at=NOW)
    return Prediction(**{**base, **kw})


def samples() -> list:
    alert = AlertEvent(
        alert_id="a1", fingerprint="bearish-share:topic:Macro", rule="bearish-share",
        scope="topic", key="Macro", state="firing", metric="bearish_share", value=0.8,
        threshold=0.6, baseline=0.3, window_start=NOW - timedelta(minutes=15), window_end=NOW,
        counts={"n": 10, "bearish": 8},
        evidence=[Evidence(article_id="x" * 32, title="t", source="s", sentiment="bearish",
                           sentiment_score=-0.9, published=NOW)],
        at=NOW,
    )
    return [
        article(),
        ClassifiedArticle(article=article(), prediction=prediction(), tickers=["JPM", "GS"]),
        alert,
        DeadLetter.wrap(b"\xff\xfe not json", stage="classifier", error=ValueError("bad"),
                        key=b"k", topic="news.raw", partition=1, offset=42),
    ]


@pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
def test_round_trip(message) -> None:
    data = message.encode()
    assert json.loads(data)["schema"] == type(message).CURRENT_VERSION
    assert decode(type(message), data) == message


@pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
def test_unknown_schema_version_is_refused(message) -> None:
    obj = json.loads(message.encode())
    obj["schema"] = 99
    with pytest.raises(ContractError, match="unknown schema version 99"):
        decode(type(message), json.dumps(obj).encode())


@pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
def test_missing_schema_version_is_refused(message) -> None:
    obj = json.loads(message.encode())
    del obj["schema"]
    with pytest.raises(ContractError, match="unknown schema version None"):
        decode(type(message), json.dumps(obj).encode())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "empty message"),
        (b"\xff\xfe\x00", "not valid UTF-8 JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema": 1, "id": "short"}', "id"),
    ],
)
def test_malformed_articles_say_why(data, reason) -> None:
    with pytest.raises(ContractError, match=reason):
        decode(Article, data)


def test_unknown_fields_are_refused() -> None:
    obj = json.loads(article().encode())
    obj["surprise"] = True
    with pytest.raises(ContractError, match="surprise"):
        decode(Article, json.dumps(obj).encode())


def test_timestamps_are_normalised_to_utc_and_must_carry_a_zone() -> None:
    cet = timezone(timedelta(hours=1))
    a = article(published=datetime(2026, 11, 28, 13, 0, tzinfo=cet))
    assert a.published == NOW and a.published.tzinfo == UTC
    with pytest.raises(ValueError, match="timezone"):
        article(published=datetime(2026, 11, 28, 13, 0))


def test_article_ids_are_stable_and_distinct() -> None:
    assert article_id_for_url("https://x.com/a") == article_id_for_url("https://x.com/a")
    assert article_id_for_url("https://x.com/a") != article_id_for_url("https://x.com/b")
    assert article_id_for_source("feed", "1") != article_id_for_source("other", "1")
    assert len(article_id_for_url("https://x.com/a")) == 32


def test_dead_letter_keeps_the_original_bytes() -> None:
    original = bytes(range(256))
    letter = decode(DeadLetter, DeadLetter.wrap(original, stage="sink", error="boom").encode())
    assert letter.original == original
    assert letter.error == "boom" and letter.stage == "sink"


def test_a_dead_letter_is_bounded_whatever_it_wraps() -> None:
    original = b"x" * 3_000_000
    letter = DeadLetter.wrap(original, stage="classifier", error="e" * 2_000_000, key=b"k" * 50_000,
                             url="https://example.com/" + "a" * 1_000_000)
    assert len(letter.encode()) < 110_000
    assert letter.truncated and letter.original == original[:MAX_LETTER_ORIGINAL_BYTES]
    assert letter.original_size == len(original)
    assert letter.original_sha256 == hashlib.sha256(original).hexdigest()
    assert letter.error.endswith("[2000000 characters in all]") and len(letter.error) <= 4096
    assert len(letter.url or "") <= 2048


def test_a_version_1_dead_letter_is_still_read() -> None:
    v1 = {"schema": 1, "stage": "sink", "error": "boom", "error_type": "Error",
          "original_b64": "aGk=", "at": NOW.isoformat()}
    letter = decode(DeadLetter, json.dumps(v1).encode())
    assert letter.original == b"hi" and letter.original_size is None and not letter.truncated


def test_fields_are_bounded_like_the_columns_that_store_them() -> None:
    with pytest.raises(ValueError, match="source"):
        article(source="s" * 201)
    with pytest.raises(ValueError, match="tickers"):
        article(tickers=["T" * 33])


def test_sentiment_score_is_bounded() -> None:
    with pytest.raises(ValueError):
        prediction(sentiment_score=1.5)
