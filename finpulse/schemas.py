"""Message contracts for finpulse's Kafka topics.

Every message is a JSON object with a ``schema`` version. Writers always validate; readers call
``decode`` which accepts the versions listed in ``KNOWN_VERSIONS`` and raises ``ContractError``
(with a precise reason) for anything else, so the caller can dead-letter it and carry on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import reprlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from finpulse.errors import ContractError
from finpulse.messages import clip

SENTIMENTS: tuple[str, ...] = ("bearish", "bullish", "neutral")
TOPICS: tuple[str, ...] = (
    "Analyst Update",
    "Fed / Central Banks",
    "Company / Product News",
    "Treasuries / Corporate Debt",
    "Dividend",
    "Earnings",
    "Energy / Oil",
    "Financials",
    "Currencies",
    "General News / Opinion",
    "Gold / Metals / Materials",
    "IPO",
    "Legal / Regulation",
    "M&A / Investments",
    "Macro",
    "Markets",
    "Politics",
    "Personnel Change",
    "Stock Commentary",
    "Stock Movement",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (UTC expected)")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # pydantic reports a ValueError as a field error; this would escape
        raise ValueError("timestamp is out of range once converted to UTC") from exc


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Ticker = Annotated[str, Field(min_length=1, max_length=32)]


def article_id_for_url(canonical_url: str) -> str:
    """The stable id of an article known by its canonical URL."""
    return hashlib.sha256(("url:" + canonical_url).encode("utf-8")).hexdigest()[:32]


def article_id_for_source(source: str, source_id: str) -> str:
    """The stable id of an article known by its source's own id (replays, pushes)."""
    return hashlib.sha256(f"src:{source}:{source_id}".encode()).hexdigest()[:32]


class Message(BaseModel):
    """Base of every topic's message: a versioned, frozen, strictly-shaped JSON object."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    KNOWN_VERSIONS: ClassVar[frozenset[int]] = frozenset({1})
    CURRENT_VERSION: ClassVar[int] = 1

    schema_version: int = Field(default=1, alias="schema")

    def encode(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode("utf-8")


class Article(Message):
    """``news.raw``: one article as ingest found it."""

    # Bounds are the database columns' (store/tables.py): a message that passes the contract
    # can always be stored.
    id: str = Field(min_length=8, max_length=64)
    source: str = Field(min_length=1, max_length=200)
    url: str | None = None
    title: str = ""
    text: str = ""
    published: UtcDatetime
    # "day": the source gave a date without a time; ``published`` is then 00:00 UTC of that
    # calendar day, to be shown as a date (not shifted into another time zone's day).
    published_precision: Literal["second", "day"] = "second"
    fetched: UtcDatetime
    language: str | None = Field(default=None, max_length=16)
    tickers: list[Ticker] = []
    author: str | None = None
    duplicate_of: str | None = Field(default=None, max_length=64)

    @property
    def content(self) -> str:
        """What the classifier reads: the title, then the text when it adds anything."""
        if self.text and self.text != self.title:
            return f"{self.title}\n{self.text}" if self.title else self.text
        return self.title


class Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    topic: str = Field(max_length=64)
    topic_id: int = Field(ge=0)
    topic_confidence: float = Field(ge=0, le=1)
    topic_probs: list[float]
    sentiment: Literal["bearish", "bullish", "neutral"]
    sentiment_confidence: float = Field(ge=0, le=1)
    sentiment_probs: list[float]
    # P(bullish) - P(bearish), in [-1, 1].
    sentiment_score: float = Field(ge=-1, le=1)
    model_version: str = Field(max_length=64)
    latency_ms: float = Field(ge=0)
    classified_at: UtcDatetime


class ClassifiedArticle(Message):
    """``news.classified``: an article with the classifier's prediction."""

    article: Article
    prediction: Prediction
    tickers: list[Ticker] = []  # tickers from the article plus those the classifier found


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    article_id: str
    title: str
    url: str | None = None
    source: str
    sentiment: str
    sentiment_score: float
    published: UtcDatetime


class AlertEvent(Message):
    """``news.alerts``: a state change of one alert (fingerprint = rule + scope key)."""

    alert_id: str
    fingerprint: str
    rule: str
    scope: Literal["overall", "topic", "ticker", "source"]
    key: str
    state: Literal["pending", "firing", "resolved"]
    severity: str = "warning"
    labels: dict[str, str] = {}
    metric: str
    value: float
    threshold: float
    baseline: float | None = None
    window_start: UtcDatetime
    window_end: UtcDatetime
    counts: dict[str, int] = {}
    evidence: list[Evidence] = []
    model_version: str | None = None
    dashboard_url: str | None = None
    at: UtcDatetime


# A dead letter must always fit in one Kafka message, whatever it wraps: it keeps at most this
# much of the original (the whole original stays in its source topic, at the recorded offset),
# plus the original's size and SHA-256, and a bounded error text. The largest letter these
# bounds allow encodes to about 100 KB, a tenth of the broker's default message limit.
MAX_LETTER_ORIGINAL_BYTES = 64 * 1024
MAX_LETTER_KEY_BYTES = 1024
MAX_LETTER_ERROR_CHARS = 4096
MAX_LETTER_FIELD_CHARS = 2048


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else clip(text, limit)


class DeadLetter(Message):
    """``news.dlq``: something that could not be processed, with a bounded prefix of the
    original bytes (``original_size`` and ``original_sha256`` describe the whole original).

    Version 2 added the size, the hash and the bound; version 1 letters (whole originals, no
    hash) are still read."""

    KNOWN_VERSIONS: ClassVar[frozenset[int]] = frozenset({1, 2})
    CURRENT_VERSION: ClassVar[int] = 2

    schema_version: int = Field(default=2, alias="schema")
    stage: str
    error: str
    error_type: str
    original_b64: str
    original_size: int | None = None
    original_sha256: str | None = None
    key_b64: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    source: str | None = None
    url: str | None = None
    at: UtcDatetime = Field(default_factory=utcnow)

    @classmethod
    def wrap(
        cls,
        original: bytes | None,
        *,
        stage: str,
        error: BaseException | str,
        key: bytes | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        source: str | None = None,
        url: str | None = None,
    ) -> DeadLetter:
        original = original or b""
        return cls(
            stage=_clip(stage, 64) or "unknown",
            error=_clip(str(error), MAX_LETTER_ERROR_CHARS) or "",
            error_type=type(error).__name__ if isinstance(error, BaseException) else "Error",
            original_b64=base64.b64encode(original[:MAX_LETTER_ORIGINAL_BYTES]).decode("ascii"),
            original_size=len(original),
            original_sha256=hashlib.sha256(original).hexdigest(),
            key_b64=(base64.b64encode(key[:MAX_LETTER_KEY_BYTES]).decode("ascii")
                     if key is not None else None),
            topic=_clip(topic, 200),
            partition=partition,
            offset=offset,
            source=_clip(source, 200),
            url=_clip(url, MAX_LETTER_FIELD_CHARS),
        )

    @property
    def original(self) -> bytes:
        """The original bytes as kept: all of them, or the first ``MAX_LETTER_ORIGINAL_BYTES``
        when ``truncated``."""
        return base64.b64decode(self.original_b64)

    @property
    def truncated(self) -> bool:
        return self.original_size is not None and self.original_size > len(self.original)


M = TypeVar("M", bound=Message)


# At most this many field errors are listed in a ContractError: the message goes into logs
# and dead letters, and must stay short whatever the input.
MAX_DECODE_DETAILS = 10
# A UTF-16 surrogate: unpaired, a string cannot be encoded as UTF-8 again. Bytes decoded as
# UTF-8 cannot hold one, so in them only a JSON escape ("\\ud8..") can make one.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _may_hold_surrogate(text: str, *, raw: bool) -> bool:
    """Cheap: a substring test on the hot path; the full check runs only when it says yes."""
    return "\\ud" in text or "\\uD" in text or (raw and _SURROGATE.search(text) is not None)


def decode(model: type[M], data: bytes | str | None) -> M:
    """Parse and validate one message; ``ContractError`` says exactly what is wrong, in a
    message of bounded length."""
    if data is None:
        raise ContractError(f"{model.__name__}: empty message (null value)")
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        obj: Any = json.loads(text)
        if _may_hold_surrogate(text, raw=isinstance(data, str)):  # rare: only then check
            json.dumps(obj, ensure_ascii=False).encode("utf-8")  # every string encodes again
    except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise ContractError(f"{model.__name__}: not valid UTF-8 JSON: {_clip(str(exc), 300)}") from exc
    if not isinstance(obj, dict):
        raise ContractError(f"{model.__name__}: expected a JSON object, got {type(obj).__name__}")
    version = obj.get("schema")
    if type(version) is not int or version not in model.KNOWN_VERSIONS:
        known = ", ".join(str(v) for v in sorted(model.KNOWN_VERSIONS))
        raise ContractError(
            f"{model.__name__}: unknown schema version {reprlib.repr(version)} (this reader knows {known})"
        )
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        errors = exc.errors()
        details = "; ".join(
            _clip(f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}", 200) or ""
            for err in errors[:MAX_DECODE_DETAILS]
        )
        more = f"; and {len(errors) - MAX_DECODE_DETAILS} more" if len(errors) > MAX_DECODE_DETAILS else ""
        raise ContractError(f"{model.__name__}: {details}{more}") from exc
