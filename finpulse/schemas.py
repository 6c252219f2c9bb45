"""Message contracts for finpulse's Kafka topics.

Every message is a JSON object with a ``schema`` version. Writers always validate; readers call
``decode`` which accepts the versions listed in ``KNOWN_VERSIONS`` and raises ``ContractError``
(with a precise reason) for anything else, so the caller can dead-letter it and carry on.
"""

from __future__ import annotations

import base64
import hashlib
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
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


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

    id: str = Field(min_length=8, max_length=64)
    source: str = Field(min_length=1)
    url: str | None = None
    title: str = ""
    text: str = ""
    published: UtcDatetime
    fetched: UtcDatetime
    language: str | None = None
    tickers: list[str] = []
    author: str | None = None
    duplicate_of: str | None = None

    @property
    def content(self) -> str:
        """What the classifier reads: the title, then the text when it adds anything."""
        if self.text and self.text != self.title:
            return f"{self.title}\n{self.text}" if self.title else self.text
        return self.title


class Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    topic: str
    topic_id: int = Field(ge=0)
    topic_confidence: float = Field(ge=0, le=1)
    topic_probs: list[float]
    sentiment: Literal["bearish", "bullish", "neutral"]
    sentiment_confidence: float = Field(ge=0, le=1)
    sentiment_probs: list[float]
    # P(bullish) - P(bearish), in [-1, 1].
    sentiment_score: float = Field(ge=-1, le=1)
    model_version: str
    latency_ms: float = Field(ge=0)
    classified_at: UtcDatetime


class ClassifiedArticle(Message):
    """``news.classified``: an article with the classifier's prediction."""

    article: Article
    prediction: Prediction
    tickers: list[str] = []  # tickers from the article plus those the classifier found


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


class DeadLetter(Message):
    """``news.dlq``: something that could not be processed, with the original bytes."""

    stage: str
    error: str
    error_type: str
    original_b64: str
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
    ) -> "DeadLetter":
        return cls(
            stage=stage,
            error=str(error),
            error_type=type(error).__name__ if isinstance(error, BaseException) else "Error",
            original_b64=base64.b64encode(original or b"").decode("ascii"),
            key_b64=base64.b64encode(key).decode("ascii") if key is not None else None,
            topic=topic,
            partition=partition,
            offset=offset,
            source=source,
            url=url,
        )

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)


M = TypeVar("M", bound=Message)


def decode(model: type[M], data: bytes | str | None) -> M:
    """Parse and validate one message; ``ContractError`` says exactly what is wrong."""
    if data is None:
        raise ContractError(f"{model.__name__}: empty message (null value)")
    try:
        import json

        obj: Any = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContractError(f"{model.__name__}: not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ContractError(f"{model.__name__}: expected a JSON object, got {type(obj).__name__}")
    version = obj.get("schema")
    if version not in model.KNOWN_VERSIONS:
        known = ", ".join(str(v) for v in sorted(model.KNOWN_VERSIONS))
        raise ContractError(
            f"{model.__name__}: unknown schema version {version!r} (this reader knows {known})"
        )
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ContractError(f"{model.__name__}: {details}") from exc
